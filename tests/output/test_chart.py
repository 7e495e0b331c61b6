"""The Mermaid chart's caps at their boundaries: at most MAX_EDGES arrows and MAX_NODES actions, an arrow
between actions already drawn still drawn after the node cap is reached, labels shortened only past
LABEL_CHARS."""
from aliassync.output import chart


def phone(login, depends_on=()):
    return {"key": f"create:phone:{login}", "resource": "phone", "login": login, "alias_id": None,
            "depends_on": list(depends_on)}


def alias(alias_id, depends_on=()):
    return {"key": f"create:{alias_id}", "resource": "alias", "alias_id": alias_id, "login": None,
            "depends_on": list(depends_on)}


def drawn(document):
    labels = {entry["key"]: entry["key"] for entry in document["actions"]}
    lines = chart.chart_lines(document, labels)
    nodes = {line.split("[")[0].strip(): line.split('"')[1] for line in lines if line.startswith("    n")
             and "[" in line}
    edges = [tuple(nodes[n] for n in line.split(" --> "))
             for line in (line.strip() for line in lines) if " --> " in line]
    return nodes, edges, lines


def test_at_most_forty_arrows_and_the_rest_counted():
    phones = [phone(f"p{i}") for i in range(9)]
    aliases = [alias(f"a{j}", [p["key"] for p in phones]) for j in range(5)]       # 45 arrows, 14 actions
    nodes, edges, lines = drawn({"actions": phones + aliases})
    assert (len(nodes), len(edges)) == (14, chart.MAX_EDGES) == (14, 40)
    assert lines[-2].startswith("5 of 45 dependencies are not drawn")


def test_exactly_forty_arrows_are_all_drawn():
    phones = [phone(f"p{i}") for i in range(8)]
    aliases = [alias(f"a{j}", [p["key"] for p in phones]) for j in range(5)]       # 40 arrows
    nodes, edges, lines = drawn({"actions": phones + aliases})
    assert len(edges) == 40 and not any("not drawn" in line for line in lines)


def test_past_the_node_cap_an_arrow_between_actions_already_drawn_is_still_drawn():
    phones = [phone(f"p{i}") for i in range(28)]
    last = phone("p28", ["create:phone:p0"])                     # listed last, drawn early through a0
    first = alias("a0", [p["key"] for p in phones] + [last["key"]])   # 29 arrows, 30 actions: the cap
    second = alias("a1", ["create:phone:p0"])                     # would be a 31st action: left out
    nodes, edges, lines = drawn({"actions": phones + [first, second, last]})
    assert len(nodes) == chart.MAX_NODES == 30
    assert edges[-1] == ("create:phone:p0", "create:phone:p28")   # drawn after a1's was left out
    assert len(edges) == 30 and lines[-2].startswith("1 of 31 dependencies are not drawn")


def test_a_label_is_shortened_only_past_its_length():
    assert chart.label("x" * chart.LABEL_CHARS) == '"' + "x" * 48 + '"'
    assert chart.label("x" * 49) == '"' + "x" * 47 + '#8230;"'
