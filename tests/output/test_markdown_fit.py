"""The markdown plan and drift fit one GitHub comment, and the plan draws its dependencies in Mermaid.

GitHub refuses a comment over 65,536 characters. A plan of 10 changes
shows every action; one of 10,000 keeps its marker, summary table,
refusals and chart, shows a fair share of each section's whole entries,
and says how many it left out and where the whole plan is. The chart is
checked by a strict validator of the Mermaid subset it emits, and was
once checked by hand against Mermaid 11's own parser (see chart.py).
"""
import re

import pytest

from aliassync.core.model import Current, Desired, Settings
from aliassync.core.phone import DesiredPhone, LivePhone, PhoneValues
from aliassync.core.plan import Action, AliasValues, Plan
from aliassync.core.planner import plan
from aliassync.output import chart, drift, fit, render
from bench.outputs import FIELDS, LONG, SECRETS, SERVER, scenario      # the benchmark's plan, at 2 and 2,000 groups

URL = "https://github.com/acme/dialer/actions/runs/42"


def document_of(groups: int) -> dict:
    return render.plan_document(plan(*scenario(groups)), target="sandbox demo.sqlite", vicidial_version="2.14-917a")


@pytest.fixture(scope="module")
def small() -> dict:
    return document_of(2)


@pytest.fixture(scope="module")
def large_plan() -> Plan:
    return plan(*scenario(2_000))


@pytest.fixture(scope="module")
def large(large_plan) -> dict:
    return render.plan_document(large_plan, target="sandbox demo.sqlite", vicidial_version="2.14-917a")


# ---------------------------------------------------------------- a strict reader of what markdown we emit

def fenced(markdown: str, kind: str) -> list[list[str]]:
    """The bodies of the ```kind blocks, checking every fence is closed."""
    blocks, inside = [], None
    for line in markdown.split("\n"):
        if inside is None and line.startswith("```"):
            assert line in ("```diff", "```mermaid"), line
            inside, body = line[3:], []
        elif inside is not None and line.startswith("```"):
            assert line == "```", line
            if inside == kind:
                blocks.append(body)
            inside = None
        elif inside is not None:
            body.append(line)
    assert inside is None, "a code fence is left open"
    return blocks


def sections(markdown: str) -> dict[str, tuple[str, list[str]]]:
    """Each <details>' title -> (its count, its lines), checking every one is closed and none nested."""
    found, title = {}, None
    for line in markdown.split("\n"):
        opened = re.fullmatch(r"<details( open)?><summary>(.+) \((.+)\)</summary>", line)
        if opened:
            assert title is None, "nested <details>"
            title, count, body = opened.group(2), opened.group(3), []
        elif line == "</details>":
            assert title is not None
            found[title] = (count, body)
            title = None
        elif title is not None:
            body.append(line)
        else:
            assert "<details" not in line and "</details" not in line, line
    assert title is None, "a <details> is left open"
    return found


def number(text: str) -> int:
    return int(text.replace(",", ""))


def shown_and_total(count: str) -> tuple[int, int]:
    cut = re.fullmatch(r"([\d,]+) of ([\d,]+) shown", count)
    return (number(cut.group(1)), number(cut.group(2))) if cut else (number(count), number(count))


def table(markdown: str) -> dict[str, dict[str, int]]:
    lines = [line for line in markdown.split("\n") if line.startswith("| ")]
    columns = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    rows = {}
    for line in lines[2:]:
        name, *cells = [c.strip() for c in line.strip("|").split("|")]
        rows[name] = dict(zip(columns, map(number, cells)))
    return rows


def headings(diff_lines: list[str]) -> list[str]:
    return [line for line in diff_lines if not line.startswith(" ")]


MERMAID_NODE = re.compile(r'    (n[1-9][0-9]*)\["((?:[\w .,:/_+=@-]|#[0-9]+;)*)"\]')
MERMAID_EDGE = re.compile(r"    (n[1-9][0-9]*) --> (n[1-9][0-9]*)")


def mermaid(lines: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Check a chart against the subset of Mermaid we emit: the header, then node definitions (unique
    ids, labels quoted with only safe characters and entity codes), then edges between defined nodes.
    Returns the labels decoded and the edges."""
    assert lines[0] == "flowchart LR"
    nodes, edges = {}, []
    for line in lines[1:]:
        node, edge = MERMAID_NODE.fullmatch(line), MERMAID_EDGE.fullmatch(line)
        assert node or edge, f"not in the subset: {line!r}"
        if node:
            assert not edges, "a node defined after the edges"
            assert node.group(1) not in nodes, "a node id defined twice"
            assert "%%" not in node.group(2) and "-->" not in node.group(2)
            nodes[node.group(1)] = re.sub(r"#([0-9]+);", lambda m: chr(int(m.group(1))), node.group(2))
        else:
            assert edge.group(1) in nodes and edge.group(2) in nodes, "an edge to an undefined node"
            edges.append((edge.group(1), edge.group(2)))
    return nodes, edges


# ---------------------------------------------------------------- 10 changes: everything shows

def test_ten_changes_show_whole_with_the_summary_first_and_no_cut(small):
    markdown = render.render_markdown(small, details_url=URL)
    assert len(small["actions"]) == 10
    assert markdown.startswith("<!-- aliassync-plan -->\n### aliassync plan\n")
    assert "Cut to fit" not in markdown and URL not in markdown       # nothing cut: nothing to point to
    assert table(markdown) == {
        "aliases": {"create": 2, "update": 2, "delete": 2, "in sync": 0, "unmanaged": 0, "ignored": 0,
                    "protected": 0},
        "phones": {"create": 2, "update": 0, "delete": 2, "in sync": 2, "unmanaged": 0, "ignored": 0,
                   "protected": 0}}
    found = sections(markdown)
    assert {title: count for title, (count, _) in found.items()} == {
        "Aliases to create": "2", "Aliases to update": "2", "Aliases to delete": "2", "Phones to create": "2",
        "Phones to delete": "2", "Warnings": "2"}
    shown = [heading for block in fenced(markdown, "diff") for heading in headings(block)]
    expected = [render._heading(e).replace("~ update", "! update") for e in small["actions"]]
    assert sorted(shown) == sorted(expected)
    assert "<details open><summary>Aliases to create (2)</summary>" in markdown     # a small plan shows open
    assert "    after: update team0\n" in markdown
    assert "> [!WARNING]\n> Apply will refuse: 4 deletes is over max_deletes 1" in markdown
    order = [markdown.index(mark) for mark in ("| aliases |", "> [!WARNING]", "**Warnings: 2**", "```mermaid",
                                               "<details open><summary>Aliases to create")]
    assert order == sorted(order)


def test_ten_changes_draw_every_dependency_between_two_objects(small):
    (chart_lines,) = fenced(render.render_markdown(small), "mermaid")
    nodes, edges = mermaid(chart_lines)
    drawn = {(nodes[a], nodes[b]) for a, b in edges}
    assert drawn == {("create phone p0new", f"create new_0_{LONG}"[:47] + "…"),
                     ("create phone p1new", f"create new_1_{LONG}"[:47] + "…"),
                     ("update team0", "delete phone p0old"), ("update team1", "delete phone p1old")}
    assert "dependencies are not drawn" not in render.render_markdown(small)


# ---------------------------------------------------------------- 10,000 changes: cut to fit, and said so

def test_ten_thousand_changes_fit_one_comment_and_the_cut_adds_up(large):
    assert len(large["actions"]) == 10_000
    assert len(large["warnings"]) == 2_000
    markdown = render.render_markdown(large, details_url=URL)      # its time: python -m bench.outputs
    assert len(markdown) <= fit.width(markdown) <= fit.BUDGET < fit.GITHUB_COMMENT_LIMIT
    assert markdown.startswith("<!-- aliassync-plan -->\n### aliassync plan\n")
    assert table(markdown) == {
        "aliases": {"create": 2_000, "update": 2_000, "delete": 2_000, "in sync": 0, "unmanaged": 0, "ignored": 0,
                    "protected": 0},
        "phones": {"create": 2_000, "update": 0, "delete": 2_000, "in sync": 2_000, "unmanaged": 0, "ignored": 0,
                   "protected": 0}}

    # Each folded section says how many of its entries it shows, and shows exactly that many, whole.
    found = sections(markdown)
    blocks = iter(fenced(markdown, "diff"))
    shown_actions = 0
    for title in ("Aliases to create", "Aliases to update", "Aliases to delete", "Phones to create",
                  "Phones to delete"):
        count, body = found[title]
        shown, total = shown_and_total(count)
        assert (total, 0 < shown < total) == (2_000, True), title      # a fair share each, none crowded out
        assert len(headings(next(blocks))) == shown
        shown_actions += shown
    shown_warnings, total_warnings = shown_and_total(found["Warnings"][0])
    assert total_warnings == 2_000
    assert len([line for line in found["Warnings"][1] if line.startswith("- ")]) == shown_warnings

    # The note says how many were left out of how many, and where the whole plan is.
    note = re.search(r"> \[!NOTE\]\n> Cut to fit a GitHub comment \(65,536 characters\): ([\d,]+) of ([\d,]+) "
                     r"actions and ([\d,]+) of ([\d,]+) warnings not shown here\. The whole plan: (\S+)\n", markdown)
    assert note, markdown[:3000]
    left, total, left_warnings, all_warnings, where = note.groups()
    assert (number(left) + shown_actions, number(total)) == (10_000, 10_000)
    assert (number(left_warnings) + shown_warnings, number(all_warnings)) == (2_000, 2_000)
    assert where == URL


def test_the_summary_refusal_and_chart_come_before_the_cut_details(large):
    markdown = render.render_markdown(large)
    order = [markdown.index(mark) for mark in ("| aliases |", "> [!WARNING]\n> Apply will refuse: 4000 deletes",
                                               "```mermaid", "> [!NOTE]", "<details")]
    assert order == sorted(order)


def test_without_a_url_the_cut_says_how_to_read_the_whole_plan(large):
    markdown = render.render_markdown(large)
    assert ("not shown here. Read the whole plan with `aliassync plan --format text` on the same files, or "
            "`aliassync show PLAN` for a plan saved with `--out`.\n") in markdown


def test_a_long_list_of_names_left_alone_is_cut_too(large):
    document = {**large, "unmanaged": [f"stray{i}_{LONG}" for i in range(5_000)]}
    markdown = render.render_markdown(document)
    assert fit.width(markdown) <= fit.BUDGET
    count, body = sections(markdown)["Unmanaged"]
    shown, total = shown_and_total(count)
    (names,) = [line for line in body if line]
    assert total == 5_000 and names.count("`, `") + 1 == shown
    assert f"{5_000 - shown:,} of 5,000 unmanaged names" in markdown


def test_a_refusal_naming_thousands_of_aliases_is_clipped_at_a_boundary():
    listed = "; ".join(f"alias{i} (users u{i})" for i in range(5_000))
    document = render.plan_document(Plan((), refusals=(f"agents log in with 5000 alias(es) it deletes: {listed}",)))
    markdown = render.render_markdown(document)
    assert len(markdown) < 3_000
    assert "alias10 (users u10); alias11 (users u11)" in markdown
    assert "(users u4999)" not in markdown
    assert "; … (cut here; the whole in the full output)\n" in markdown


def test_the_chart_is_capped_and_says_how_many_dependencies_it_leaves_out(large):
    markdown = render.render_markdown(large)
    (chart_lines,) = fenced(markdown, "mermaid")
    nodes, edges = mermaid(chart_lines)
    assert len(nodes) <= chart.MAX_NODES and len(edges) <= chart.MAX_EDGES
    assert (len(nodes), len(edges)) == (30, 15)                  # pairs: 30 nodes are reached first
    total = len(chart.dependencies(large))
    assert total == 4_000
    assert (f"\n{total - len(edges):,} of {total:,} dependencies are not drawn (the chart shows at most 30 "
            "actions and 40 arrows); the `after:` lines name them all.\n") in markdown


# ---------------------------------------------------------------- the chart: when, and safe whatever the ids

def test_no_chart_without_dependencies_between_objects():
    # Two creates: nothing waits. A phone declared inactive: its update waits for its own create (one object).
    plain = render.plan_document(Plan((Action("create:a", "create", "a", "declared", after=AliasValues("a", "A", ())),
                                       Action("create:b", "create", "b", "declared", after=AliasValues("b", "B", ())))))
    assert "mermaid" not in render.render_markdown(plain)
    rows = {"old": (LivePhone("old", "300", SERVER, FIELDS),)}
    current = Current({}, {}, {}, rows, frozenset({SERVER}))
    desired = Desired((), Settings(), phones=(DesiredPhone("new", "100", SERVER, {**FIELDS, "active": "N"}, SECRETS),
                                              DesiredPhone("old", "301", SERVER, FIELDS)))
    steps = render.plan_document(plan(desired, current))
    assert any(entry["depends_on"] for entry in steps["actions"])
    assert chart.dependencies(steps) == []
    assert "mermaid" not in render.render_markdown(steps)


HOSTILE = ['a"b', "x-->y", "close]", "<script>alert(1)</script>", "%%{init: {}}%%", "semi;colon", "hash#35;",
           "back`tick`", "ünïcødé☎", 'q"]; n1 --> n2 %% ', "a[b](c){d}|e|"]


def test_hostile_ids_and_logins_stay_inside_their_labels():
    actions = []
    for i, name in enumerate(HOSTILE):
        login = f"{name}{i}"
        actions.append(Action(f"create:phone:{i}", "create", login, "declared", resource="phone",
                              after=_phone_values(login)))
        actions.append(Action(f"create:{i}", "create", name, "declared", after=AliasValues(name, name, (login,)),
                              depends_on=(f"create:phone:{i}", "all:update")))
    document = render.plan_document(Plan(tuple(actions)))
    (chart_lines,) = fenced(render.render_markdown(document), "mermaid")
    nodes, edges = mermaid(chart_lines)
    assert len(edges) == len(HOSTILE)
    labels = render.action_labels(document)
    expected = {(chart.label(labels[f"create:phone:{i}"]), chart.label(labels[f"create:{i}"]))
                for i in range(len(HOSTILE))}
    # every label decodes back to the action's own name (shortened past LABEL_CHARS)
    decoded = {(nodes[a], nodes[b]) for a, b in edges}
    assert decoded == {(labels[f"create:phone:{i}"], labels[f"create:{i}"]) for i in range(len(HOSTILE))}
    assert all('"' not in label[1:-1] for pair in expected for label in pair)
    assert not any("<" in line or "`" in line or "%%" in line for line in chart_lines)


def _phone_values(login):
    return PhoneValues(login, "100", SERVER, FIELDS, {})


def test_a_label_is_shortened_and_encoded():
    assert chart.label('update a"b') == '"update a#34;b"'
    assert chart.label("create " + "y" * 100) == '"create ' + "y" * 40 + '#8230;"'


# ---------------------------------------------------------------- drift: the same budget

def test_drift_of_thousands_fits_with_its_marker_first_and_a_cut_that_adds_up(large, large_plan):
    document = {**large, "drift": drift.drift_entries(large_plan)}
    markdown = drift.render_markdown(document, details_url=URL)
    assert fit.width(markdown) <= fit.BUDGET
    assert markdown.startswith("<!-- aliassync-drift -->\n### aliassync drift\n")
    rows = [line for line in markdown.split("\n") if line.startswith(("| `", "| phone `"))]
    note = re.search(r"Cut to fit a GitHub comment \(65,536 characters\): ([\d,]+) of ([\d,]+) drift entries and "
                     r"([\d,]+) of ([\d,]+) warnings not shown here\. The whole report: (\S+)\n", markdown)
    assert note
    assert number(note.group(1)) + len(rows) == number(note.group(2)) == len(document["drift"]) == 10_000
    assert note.group(5) == URL
    count, body = sections(markdown)["Warnings"]
    shown, total = shown_and_total(count)
    assert total == 2_000 and number(note.group(3)) + shown == 2_000
    assert len([line for line in body if line.startswith("- ")]) == shown


def test_a_cut_drift_without_a_url_says_how_to_read_the_whole_report(large, large_plan):
    markdown = drift.render_markdown({**large, "drift": drift.drift_entries(large_plan)})
    assert ("not shown here. Read the whole report with `aliassync drift --format text` on the same files, or "
            "`aliassync show FILE` on what `drift --format json` printed.\n") in markdown


def test_a_drift_in_sync_with_thousands_of_warnings_cuts_the_warnings_and_counts_them(large):
    markdown = drift.render_markdown({**large, "drift": []}, details_url=URL)
    assert fit.width(markdown) <= fit.BUDGET and "In sync:" in markdown
    count, body = sections(markdown)["Warnings"]
    shown, total = shown_and_total(count)
    assert total == 2_000 and 0 < shown < total
    assert len([line for line in body if line.startswith("- ")]) == shown
    assert f"Cut to fit a GitHub comment (65,536 characters): {total - shown:,} of 2,000 warnings not shown here. " \
           f"The whole report: {URL}\n" in markdown


def test_a_small_drift_is_not_cut():
    result = plan(*scenario(2))
    document = {**render.plan_document(result), "drift": drift.drift_entries(result)}
    markdown = drift.render_markdown(document)
    assert "Cut to fit" not in markdown
    assert len([line for line in markdown.split("\n") if line.startswith(("| `", "| phone `"))]) \
        == len(document["drift"]) == 10


# ---------------------------------------------------------------- the fitting itself

def test_sizes_count_an_emoji_as_two_as_utf16_does():
    assert fit.width("ab\N{TELEPHONE RECEIVER}é") == 5 == len("ab\N{TELEPHONE RECEIVER}é") + 1


def test_the_room_is_shared_fairly_and_entries_are_never_split():
    frame = lambda shown: ("[", "]")       # noqa: E731
    small_part = fit.Part(["aa"] * 3, frame)              # 3*2 + 2 joiners = 8
    big = fit.Part(["bbbb"] * 100, frame)
    other = fit.Part(["c" * 10] * 100, frame)
    assert fit.allot([small_part, big, other], 68) == [3, 6, 2]     # 8 whole; 60 left: 30 each
    assert fit.allot([big], 3) == [0]
    assert fit.allot([big], -5) == [0]
