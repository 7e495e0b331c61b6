"""Hostile and broken desired-state files: each ends in exit 1 with one line per problem, in
bounded time and memory, never a traceback and never a write.

Every case runs `aliassync validate FILE` and `aliassync apply FILE --sandbox S --yes` in a child
process whose address space and CPU time are capped (MEMORY_LIMIT, CPU_LIMIT): a case that needed
more would die instead of passing. The small cases are files in tests/fixtures/hostile/ (also the
seed corpus of tests/fuzz/fuzz_loader.py); the big ones are made here. Then hypothesis throws random
bytes, text and YAML documents at the loader. docs/reliability.md lists the limits.
"""
from __future__ import annotations

import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aliassync.files import loader
from aliassync.cli import main
from aliassync.errors import LoadError

HOSTILE = Path(__file__).parents[1] / "fixtures" / "hostile"
MEMORY_LIMIT = 512 << 20        # bytes of address space for the child process
CPU_LIMIT = 60                  # seconds of CPU for the child process
LONGEST_LINE = loader.MAX_MESSAGE + 600    # a problem's message and its file:line:column, however long the path


def fixture(name: str) -> Callable[[Path], Path]:
    return lambda tmp_path: HOSTILE / name


def fifty_megabytes(tmp_path: Path) -> Path:
    path = tmp_path / "fifty-megabytes.yaml"
    with open(path, "wb") as handle:
        handle.write(b"version: 1\naliases:\n")
        handle.truncate(50 * 1024 * 1024)
    return path


def binary(tmp_path: Path) -> Path:
    path = tmp_path / "binary.yaml"
    path.write_bytes(bytes(range(256)) * 256)
    return path


def deep_flow_nesting(tmp_path: Path) -> Path:
    path = tmp_path / "deep-flow.yaml"
    path.write_text("version: 1\naliases: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    return path


def too_many_values(tmp_path: Path) -> Path:
    path = tmp_path / "too-many-values.yaml"
    path.write_text("version: 1\nx: [" + "1," * 2_000_000 + "1]\n", encoding="utf-8")
    return path


def too_many_aliases(tmp_path: Path) -> Path:
    path = tmp_path / "too-many-aliases.yaml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("version: 1\naliases:\n")
        handle.writelines(f"  a{n}: {{ensure: absent}}\n" for n in range(200_001))
    return path


def dangling_link_beside_a_pruning_file(tmp_path: Path) -> Path:
    """A directory whose second file is a link to nothing: skipped, prune would delete what it declared."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "a.yaml").write_text("version: 1\nsettings: {prune: true}\naliases: {}\n", encoding="utf-8")
    (conf / "b.yaml").symlink_to("missing.yaml")
    (conf / "c.yaml").mkdir()
    return conf


# case -> (how to get the file, the lines on stderr, where {f} stands for the file's path)
CASES: dict[str, tuple[Callable[[Path], Path], list[str]]] = {
    "malformed YAML": (fixture("malformed.yaml"), ["{f}:4:9: invalid YAML: did not find expected ',' or ']'"]),
    "wrong types everywhere": (fixture("wrong-types.yaml"), [
        "{f}:1:10: version must be 1",
        "{f}:2:11: settings: ['prune'] is not of type 'object'",
        "{f}:4:24: alias sales1: alias_name: ['Sales'] is not of type 'string'",
        "{f}:4:47: alias sales1: phone_logins: {'100a': '1'} is not of type 'array'",
        "{f}:5:24: alias_name '7' must be 2 to 50 characters of letters, digits, space, '-', '.' and '_'",
        "{f}:5:41: alias sales2: phone_logins: '100a' is not of type 'array'",
        "{f}:6:20: alias sales3: ensure: 'maybe' is not one of ['present', 'absent']",
        "{f}:6:42: alias sales3: phone_logins item 1: ['100a'] is not of type 'string'",
        "{f}:7:11: alias sales4: 'Sales floor' is not of type 'object'",
    ]),
    "non-UTF-8 bytes": (fixture("latin-1.yaml"), ["{f}:3:6: not UTF-8 text (byte 0xe9)"]),
    "UTF-16": (fixture("utf-16.yaml"), ["{f}:1:1: not UTF-8 text (byte 0xff)"]),
    "a NUL character": (fixture("control-character.yaml"),
                        ["{f}:3:29: invalid YAML: character #x0000: control characters are not allowed"]),
    "a binary file": (binary, ["{f}:2:118: not UTF-8 text (byte 0x80)"]),
    "a 50 MB file": (fifty_megabytes, ["{f}:1:1: file is 52428800 bytes; the limit is 33554432"]),
    "deep block nesting": (fixture("deep-nesting.yaml"), ["{f}:66:129: nesting deeper than 64 levels"]),
    "deep flow nesting": (deep_flow_nesting, ["{f}:2:1009: invalid YAML: exceeded maximum nesting depth"]),
    "billion laughs": (fixture("billion-laughs.yaml"), ["{f}:6:63: YAML aliases expand to more than 100000 values"]),
    "too many values": (too_many_values, ["{f}:2:3999995: more than 2000000 values in one file"]),
    "too many aliases": (too_many_aliases, ["200001 aliases declared; the limit is 200000"]),
    "a null key": (fixture("keys-not-text.yaml"), ["{f}:3:3: a mapping key must be text, not null; put it in quotes"]),
    "a tagged key": (fixture("tagged-key.yaml"),
                     ["{f}:3:3: a mapping key must be text, not int 1001; put it in quotes"]),
    "a python tag": (fixture("python-tag.yaml"),
                     ["{f}:1:10: tag tag:yaml.org,2002:python/object/apply:os.system is not supported"]),
    "NaN as a limit": (fixture("nan-limit.yaml"),
                       ["{f}:2:32: settings.max_delete_percent: '.nan' is not of type 'number'"]),
    "a 5000-digit number": (fixture("huge-number.yaml"), ["{f}:1:10: version must be 1"]),
    "an impossible date": (fixture("impossible-date.yaml"), [
        "{f}:1:10: invalid YAML: cannot read '2001-13-45' as timestamp: month must be in 1..12"]),
    "a date that is not one": (fixture("not-a-date.yaml"),
                               ["{f}:1:10: invalid YAML: cannot read '2001-3-145' as timestamp"]),
    "a tagged nothing": (fixture("empty-int.yaml"), ["{f}:1:10: invalid YAML: cannot read '' as int"]),
    "a 100,000-character name": (fixture("long-value.yaml"), [
        "{f}:3:24: alias_name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn... must be 2 to 50 "
        "characters of letters, digits, space, '-', '.' and '_'"]),
    "two documents": (fixture("two-documents.yaml"), ["{f}:3:1: only one YAML document per file is allowed"]),
    "a merge key": (fixture("merge-key.yaml"), ["{f}:4:12: merge keys (<<) are not supported"]),
    "a trailing newline, control characters, a blank name": (fixture("never-converging.yaml"), [
        "{f}:2:21: settings.ignore item 1 'tmp\\t*' contains control character U+0009 (tab)",
        "{f}:4:24: alias sales1: alias_name 'Sales floor\\n' contains control character U+000A (line feed)",
        "{f}:5:3: alias id 'nl2\\n' contains control character U+000A (line feed)",
        "{f}:5:47: alias 'nl2\\n': phone_logins item 1 '100b\\r' contains control character U+000D (carriage return)",
        "{f}:6:24: alias sales3: alias_name '  ' is blank; a name needs more than spaces",
    ]),
    "values left empty": (fixture("null-values.yaml"), [
        "{f}:3:9: settings.prune has no value (null); expected true or false",
        "{f}:6:16: alias sales1: alias_name has no value (null); expected text",
        "{f}:7:26: alias sales1: phone_logins item 2 has no value (null); expected text",
        "{f}:8:10: alias sales2 has no value (null); expected a mapping",
    ]),
    "a dangling link in a directory": (dangling_link_beside_a_pruning_file, [
        "{f}/b.yaml: cannot read: dangling symbolic link to missing.yaml",
        "{f}/c.yaml: is a directory, not a file",
    ]),
}


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))


def aliassync(*argv: str) -> subprocess.CompletedProcess:
    """The command in a child process with capped memory and CPU time."""
    return subprocess.run([sys.executable, "-m", "aliassync", *argv], capture_output=True, text=True,
                          errors="replace", preexec_fn=limited, timeout=3 * CPU_LIMIT)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("hostile") / "dialer.sqlite")
    assert main(["sandbox", "init", path, "--phones", str(Path(__file__).parents[2] / "examples" / "phones.yaml"),
                 "-q"]) == 0
    return path


def tables(path: str) -> tuple[list, int]:
    with closing(sqlite3.connect(path)) as db:
        return (db.execute("SELECT * FROM phones_alias ORDER BY alias_id").fetchall(),
                db.execute("SELECT COUNT(*) FROM vicidial_admin_log").fetchone()[0])


@pytest.mark.parametrize("case", CASES)
def test_validate_ends_in_exit_1_and_one_line_per_problem(case, tmp_path):
    make, lines = CASES[case]
    path = make(tmp_path)

    done = aliassync("validate", str(path))

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [line.replace("{f}", str(path)) for line in lines]


@pytest.mark.parametrize("case", CASES)
def test_apply_ends_in_exit_1_before_any_write(case, tmp_path, sandbox):
    make, lines = CASES[case]
    path = make(tmp_path)
    before = tables(sandbox)

    done = aliassync("apply", str(path), "--sandbox", sandbox, "--yes")

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [line.replace("{f}", str(path)) for line in lines]
    assert tables(sandbox) == before


def test_the_limits_are_the_documented_ones():
    from aliassync.files import yaml_reader

    limits = (loader.MAX_FILE_BYTES, loader.MAX_ALIASES, yaml_reader.MAX_DEPTH, yaml_reader.MAX_ALIAS_EXPANSION,
              yaml_reader.MAX_VALUES)
    assert limits == (32 * 1024 * 1024, 200_000, 64, 100_000, 2_000_000)


# ------------------------------------------------------------------ fuzzing, in process

FUZZ = settings(max_examples=int(os.environ.get("ALIASSYNC_FUZZ_EXAMPLES", "300")), derandomize=True,
                deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


ALIAS_ID = re.compile(r"[-_0-9A-Za-z]{2,20}")
ALIAS_NAME = re.compile(r"[- ._0-9A-Za-z]{2,50}")
LOGIN = re.compile(r"[-_0-9A-Za-z]{1,15}")


def holds_only_what_vicidial_keeps(desired) -> None:
    """What a file that loads may hold: every value as VICIdial stores it, so a second plan is empty."""
    ids = [alias.alias_id.lower() for alias in desired.aliases]
    assert len(ids) == len(set(ids)), "an alias declared twice"
    for alias in desired.aliases:
        assert ALIAS_ID.fullmatch(alias.alias_id), alias.alias_id
        if not alias.present:
            assert (alias.alias_name, alias.phone_logins) == (None, ())
            continue
        assert ALIAS_NAME.fullmatch(alias.alias_name) and alias.alias_name.strip(), alias.alias_name
        assert alias.phone_logins and all(LOGIN.fullmatch(login) for login in alias.phone_logins)
        assert len({login.lower() for login in alias.phone_logins}) == len(alias.phone_logins)
        assert 2 <= len(alias.logins_list) <= 255
    limits = desired.settings
    assert limits.max_deletes is None or (type(limits.max_deletes) is int and limits.max_deletes >= 0)
    assert limits.max_delete_percent is None or 0 <= limits.max_delete_percent <= 100   # NaN fails here


def load_bytes(data: bytes) -> None:
    """Load `data` as a desired-state file: what loads holds only what VICIdial keeps as written, and what
    does not load fails with every problem on one short line."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "fuzzed.yaml")
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            desired = loader.load([path])
        except LoadError as error:
            assert error.lines(), "a LoadError names at least one problem"
            for line in error.lines():
                assert "\n" not in line and "\r" not in line and len(line) <= LONGEST_LINE, line[:200]
        else:
            holds_only_what_vicidial_keeps(desired)


def test_what_loads_is_checked_too():
    # The fuzzing tests below judge a file that loads as well as one that fails: a loader that let a
    # bad value through would fail them, not only one that crashed.
    from aliassync.core.model import Desired, DesiredAlias, Settings

    holds_only_what_vicidial_keeps(Desired((DesiredAlias("sales1", "Sales", ("100a",)),)))
    for bad in (Desired((DesiredAlias("sales.1", "Sales", ("100a",)),)),
                Desired((DesiredAlias("sales1", "Sales", ("100a", "100A")),)),
                Desired((DesiredAlias("sales1", "   ", ("100a",)),)),
                Desired((), Settings(max_delete_percent=float("nan")))):
        with pytest.raises(AssertionError):
            holds_only_what_vicidial_keeps(bad)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_load_or_fail_one_line_per_problem(data):
    load_bytes(data)


@FUZZ
@given(st.text(max_size=2048))
def test_random_text_loads_or_fails_one_line_per_problem(text):
    load_bytes(text.encode("utf-8", "surrogatepass"))


# Pieces of YAML that reach the reader's corners: tags, anchors, aliases, merge keys, flow and block.
TOKENS = ("version: 1\n", "aliases:", "settings:", "\n", "  ", " ", "- ", ": ", ", ", "[", "]", "{", "}", "? ",
          "&a ", "*a", "&b ", "*b", "<<: ", "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!str ",
          "!!set ", "!!python/name:os.system ", "!foo ", "~", "null", "0x1F", "1e400", ".nan", "2001-13-45",
          "'", '"', "\\u0000", "#", "---\n", "...\n", "sales1", "100a", "phone_logins", "alias_name", "\t")


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_random_yaml_pieces_load_or_fail_one_line_per_problem(text):
    load_bytes(text.encode("utf-8"))


KEYS = ("version", "settings", "aliases", "prune", "ignore", "protected", "max_deletes", "max_delete_percent",
        "alias_name", "phone_logins", "ensure", "sales1", "SALES1", "100a", "no", "~", "<<", "a\u2028b")
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(KEYS),
                    st.text(max_size=30), st.dates())
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(KEYS), scalars), inner, max_size=5)),
    max_leaves=40)


@FUZZ
@given(st.fixed_dictionaries({"version": scalars}, optional={"settings": documents, "aliases": documents}),
       st.sampled_from(("block", "flow")))
def test_random_documents_of_every_type_load_or_fail_one_line_per_problem(document, style):
    text = yaml.safe_dump(document, default_flow_style=style == "flow", allow_unicode=True)
    load_bytes(text.encode("utf-8", "surrogatepass"))
