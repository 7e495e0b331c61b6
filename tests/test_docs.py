"""The docs cannot drift from the code they describe.

- docs/file-format.md documents exactly the keys schema/aliassync.schema.json defines, object by object;
- docs/commands.md names every option of every command the parser has, and every exit code;
- every relative link in README.md and docs/*.md reaches a file (and a heading, for `#anchors`);
- docs/pipelines.md documents exactly the inputs and outputs action.yml declares, with its defaults;
- docs/troubleshooting.md explains every warning code the planner can give, every VICIdial
  answer kind and reason aliassync classifies, and quotes every error message the code raises.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import typing
from pathlib import Path

import pytest

from aliassync.cli import build_parser
from aliassync.errors import AliassyncError
from aliassync.vicidial import answer

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
SCHEMA = json.loads((ROOT / "schema" / "aliassync.schema.json").read_text(encoding="utf-8"))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the file format against the schema

# Each object of the schema that has properties, by the name `schema_objects` gives it, and the heading of
# the section of docs/file-format.md holding its reference table. A new kind of object needs a line here.
SECTIONS = {
    "top level": "Top level",
    "settings": "`settings`",
    "settings.phones": "`settings.phones`",
    "alias": "`aliases`",
    "phone": "`phones`",
    "phone_defaults": "`phone_defaults`",
    "secret": "Password references",
    "station": "`stations`",
}
REFERENCE_HEADER = "| key | type | default | meaning |"
CONDITIONS = ("if", "not")   # subschemas that constrain keys defined elsewhere, defining none


def schema_objects(schema: dict) -> dict[str, set[str]]:
    """Every object the schema defines properties for, named by its `$defs` entry when reached through a
    `$ref`, else by its dotted path (the root is "top level"), with its property names."""
    found: dict[str, set[str]] = {}

    def walk(node, name: str, seen: frozenset) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, name, seen)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if ref is not None and ref not in seen:
            path = ref.removeprefix("#/").split("/")
            target = schema
            for part in path:
                target = target[part]
            walk(target, path[1] if len(path) == 2 else name, seen | {ref})
        for key, value in node.items():
            if key == "properties":
                found.setdefault(name, set()).update(value)
                for prop, sub in value.items():
                    prefix = "" if name == "top level" else name + "."
                    walk(sub, prefix + prop, seen)
            elif key in ("additionalProperties", "items", "then", "else", "allOf", "anyOf", "oneOf"):
                walk(value, name, seen)
            # `$defs` are reached through their `$ref`s; CONDITIONS define nothing

    walk(schema, "top level", frozenset())
    return found


def sections(text: str) -> dict[str, str]:
    """Each heading's text (without the #s) -> the text under it, up to the next heading of any level."""
    parts = re.split(r"^(#{1,6}) (.+)$", text, flags=re.M)
    return {parts[i + 1].strip(): parts[i + 2] for i in range(1, len(parts), 3)}


def reference_keys(section: str) -> list[str]:
    """The keys of the section's reference table: the backticked first cell of each row."""
    lines = section.splitlines()
    try:
        start = lines.index(REFERENCE_HEADER)
    except ValueError:
        return []
    keys = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cell = line.split("|")[1].strip()
        match = re.fullmatch(r"`([^`]+)`", cell)
        assert match, f"a reference row's first cell must be one backticked key: {line!r}"
        keys.append(match[1])
    return keys


def test_the_schema_walk_finds_every_object_and_key():
    objects = schema_objects(SCHEMA)
    assert set(objects) == set(SECTIONS), "a new kind of object in the schema: give it a section in SECTIONS"
    assert {"version", "settings", "aliases", "phones", "phone_defaults", "servers", "stations"} == objects["top level"]
    assert {"env", "file"} == objects["secret"]
    assert "ensure" in objects["phone"] and "ensure" not in objects["station"]


def test_file_format_documents_exactly_the_keys_the_schema_defines():
    documented = sections(read(DOCS / "file-format.md"))
    for name, keys in schema_objects(SCHEMA).items():
        heading = SECTIONS[name]
        assert heading in documented, f"docs/file-format.md has no heading {heading!r} for {name}"
        table = reference_keys(documented[heading])
        assert table, f"docs/file-format.md: {heading!r} has no reference table ({REFERENCE_HEADER})"
        assert len(table) == len(set(table)), f"{heading!r} documents a key twice: {table}"
        assert set(table) - keys == set(), f"{heading!r} documents keys the schema lacks: {set(table) - keys}"
        assert keys - set(table) == set(), f"{heading!r} does not document schema keys: {keys - set(table)}"


def test_every_reference_table_of_the_file_format_is_checked():
    """A reference table under a heading no schema object maps to would escape the check above."""
    documented = sections(read(DOCS / "file-format.md"))
    with_tables = {heading for heading, text in documented.items() if REFERENCE_HEADER in text.splitlines()}
    assert with_tables == set(SECTIONS.values())


def test_the_file_format_check_can_fail():
    """Removing a documented key, or documenting one the schema lacks, is noticed."""
    text = read(DOCS / "file-format.md")
    objects = schema_objects(SCHEMA)
    missing = sections(text.replace("| `max_delete_percent` |", "| `max_delete_percentage` |", 1))
    assert set(reference_keys(missing["`settings`"])) != objects["settings"]
    dropped = sections(re.sub(r"^\| `template_id` \|.*\n", "", text, count=1, flags=re.M))
    assert sum(set(reference_keys(dropped[SECTIONS[name]])) != keys for name, keys in objects.items()) == 1


# ---------------------------------------------------------------- commands and exit codes

def subcommands(parser: argparse.ArgumentParser, prefix: str = ""):
    """(name, parser) of every command and subcommand, `sandbox init` included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                yield full, sub
                yield from subcommands(sub, full + " ")


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings if flag not in ("-h", "--help")}


def test_commands_documents_every_command_and_option():
    text = read(DOCS / "commands.md")
    parser = build_parser()
    assert options(parser) <= set(re.findall(r"`aliassync (--[a-z-]+)`", text)) | {"--version"}
    assert "`aliassync --version`" in text
    found = list(subcommands(parser))
    assert {"validate", "plan", "apply", "drift", "export", "sandbox init", "sandbox serve"} <= {n for n, _ in found}
    for name, sub in found:
        if name == "sandbox":
            continue
        assert f"aliassync {name}" in text, f"docs/commands.md never shows `aliassync {name}`"
        for flag in options(sub):
            assert re.search(rf"`{re.escape(flag)}(?![-a-z])", text), f"docs/commands.md lacks {name} {flag}"


def table_rows(text: str, heading: str) -> dict[str, list[str]]:
    """The rows of the table that follows `heading` (a line of its own), by their first cell's `name`."""
    after = text.split(f"\n{heading}\n", 1)[1]
    rows = {}
    for line in after.splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_pipelines_documents_exactly_the_actions_inputs_outputs_and_defaults():
    import yaml

    action = yaml.safe_load(read(ROOT / "action.yml"))
    text = read(DOCS / "pipelines.md")
    inputs, outputs = table_rows(text, "Inputs:"), table_rows(text, "Outputs:")
    assert set(inputs) == set(action["inputs"])
    assert set(outputs) == set(action["outputs"])
    for name, spec in action["inputs"].items():
        default = str(spec.get("default", ""))
        shown = inputs[name][0]
        if spec.get("required"):
            assert shown == "required", name
        elif default == "":
            assert shown in ("empty", "`aliassync-COMMAND`"), name     # artifact-name: empty means that name
        elif default.startswith("${{"):
            assert "token" in shown, name
        else:
            assert shown == f"`{default}`", name


def test_commands_documents_every_exit_code():
    text = read(DOCS / "commands.md")
    table = sections(text)["Exit codes"]
    for code, meaning in ((0, "no changes"), (2, "changes"), (1, "error"), (2, "drift"), (0, "in sync"),
                          (3, "some writes failed or were skipped"), (1, "refused or failed before any write"),
                          (0, "valid"), (1, "invalid")):
        assert f"{code} {meaning}" in table, f"exit code {code} ({meaning}) is not in the table"
    assert "exits\n1, never 2" in table


# ---------------------------------------------------------------- links

def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to dashes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text.replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", read(path), flags=re.M | re.S)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        base, n = slug(heading), 0
        name = base
        while name in found:
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", read(path), flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_slugs_follow_githubs_rules():
    assert slug("Saved plans and `--checksum`") == "saved-plans-and---checksum"
    assert slug("`settings.phones`") == "settingsphones"
    assert slug("Faults on demand: the sandbox's flaky API") == "faults-on-demand-the-sandboxs-flaky-api"
    assert slug("VICIdial's answers") == "vicidials-answers"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_reaches_a_file_and_heading(page):
    broken = []
    for link in links(page):
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        file = (page.parent / target).resolve() if target else page
        if not file.exists():
            broken.append(link)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(link)
    assert not broken, f"{page.name}: broken links {broken}"


def test_docs_name_no_path_of_a_machine():
    for page in PAGES:
        assert not re.search(r"(?<![\w.])/(work|home|root|tmp|srv)/", read(page)), page.name


# ---------------------------------------------------------------- troubleshooting

def warning_codes() -> set[str]:
    """Every code of `Warning("code", ...)` in the package, from its syntax tree."""
    codes = set()
    for module in (ROOT / "aliassync").rglob("*.py"):
        for node in ast.walk(ast.parse(read(module))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Warning"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                codes.add(node.args[0].value)
    return codes


def test_troubleshooting_explains_every_warning_code():
    codes = warning_codes()
    assert {"missing-phone", "unaddressable", "in-use", "agents-unchecked"} <= codes
    table = sections(read(DOCS / "troubleshooting.md"))["Warnings"]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.M))
    assert documented == codes


def test_troubleshooting_explains_every_answer_kind_and_reason():
    text = sections(read(DOCS / "troubleshooting.md"))["VICIdial's answers"]
    for kind in typing.get_args(answer.AnswerKind):
        assert f"| `{kind}` |" in text, f"answer kind {kind} is not explained"
    reasons = {value for name, value in vars(answer).items()
               if name.isupper() and not name.startswith("_") and isinstance(value, str)}
    assert answer.LOGIN_INCORRECT in reasons and answer.PHONE_PASS_INVALID in reasons
    for reason in reasons:
        assert f"| `{reason}` |" in text, f"VICIdial's answer {reason!r} is not explained"
    for prefix in ("USER DOES NOT HAVE PERMISSION", "YOU MUST USE A VALID", "MUST BE"):   # the families
        assert prefix in text


def _literal_parts(node: ast.expr) -> list[str]:
    """The literal text of a message: a string, the constant parts of an f-string, of a + b."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [value.value for value in node.values if isinstance(value, ast.Constant)]
    if isinstance(node, ast.BinOp):
        return _literal_parts(node.left) + _literal_parts(node.right)
    return []


def error_messages() -> list[tuple[str, list[str]]]:
    """Every message the code raises as one of aliassync's errors (an AliassyncError, which the command
    line prints as `error: ...`) or lists as a plan problem: (where, its literal parts of 12 or more
    characters, which are what a user can search the page for)."""
    found = []
    for path in sorted((ROOT / "aliassync").rglob("*.py")):
        if path.name == "__main__.py":       # importing it would run the command line
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(ast.parse(read(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            raised = isinstance(func, ast.Name) and isinstance(vars(module).get(func.id), type) \
                and issubclass(vars(module)[func.id], AliassyncError)
            problem = isinstance(func, ast.Attribute) and func.attr == "append" \
                and isinstance(func.value, ast.Name) and func.value.id == "problems"
            if raised or problem:
                message = node.args[0]
                if isinstance(message, ast.Call) and getattr(message.func, "id", "") == "Problem":
                    message = message.args[1]           # a file's problem: Problem(place, message, ...)
                parts = [part.strip(" :;,.()") for part in _literal_parts(message)]
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", [p for p in parts if len(p) >= 12]))
    return found


def test_troubleshooting_quotes_every_error_message_the_code_raises():
    text = read(DOCS / "troubleshooting.md")
    messages = error_messages()
    assert len(messages) > 100        # the walk finds them (raised errors and plan problems)
    bugs = [where for where, parts in messages if any("a bug" in part for part in parts)]
    assert bugs and "messages naming `a bug`" in text      # one row for the guards against our own bugs
    missing = [f"{where}: {parts}" for where, parts in messages
               if parts and not any("a bug" in part for part in parts) and not any(p in text for p in parts)]
    assert not missing, "docs/troubleshooting.md does not quote:\n" + "\n".join(missing)


def test_the_error_message_walk_can_fail():
    messages = dict(error_messages())
    (where,) = [w for w, parts in messages.items() if "database URL has no host" in parts]
    assert where.startswith("aliassync/vicidial/db_url.py:")
    text = read(DOCS / "troubleshooting.md").replace("database URL has no host", "database URL lacks a host")
    assert not any(part in text for part in messages[where])
