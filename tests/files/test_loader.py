"""The loader: every rule of the file format, with exact messages and places."""
import os
import re
from pathlib import Path

import pytest

from aliassync.files import loader
from aliassync.errors import LoadError
from aliassync.core.model import DesiredAlias, Settings

FIXTURES = Path(__file__).parents[1] / "fixtures"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(*paths: str) -> list[str]:
    with pytest.raises(LoadError) as caught:
        loader.load(list(paths))
    return caught.value.lines()


def test_a_valid_file_loads_in_declared_order(tmp_path):
    path = write(tmp_path, "a.yaml", """\
version: 1
settings: {prune: true, ignore: ["tmp*"], protected: ["vip*"], max_deletes: 3}
aliases:
  sales1: {alias_name: Sales floor 1, phone_logins: [100b, 100a]}
  retired7: {ensure: absent}
""")
    desired = loader.load([path])
    assert desired.aliases == (
        DesiredAlias("sales1", "Sales floor 1", ("100b", "100a")),
        DesiredAlias("retired7", None, (), present=False),
    )
    assert desired.settings == Settings(prune=True, ignore=("tmp*",), protected=("vip*",), max_deletes=3)


def test_ids_logins_and_names_stay_as_written_whatever_yaml_11_thinks(tmp_path):
    path = write(tmp_path, "a.yaml", """\
version: 1
aliases:
  1001:
    alias_name: 2024
    phone_logins: [0100, 1002]
  no:
    alias_name: 1.50
    phone_logins: [on, off, 1e3]
""")
    assert loader.load([path]).aliases == (
        DesiredAlias("1001", "2024", ("0100", "1002")),
        DesiredAlias("no", "1.50", ("on", "off", "1e3")),
    )


def test_a_broken_file_reports_every_problem_at_its_place():
    name = str(FIXTURES / "broken-file.yaml")
    assert problems(name) == [
        f"{name}:3:3: alias id 'abcdefghijklmnopqrstu' must be 2 to 20 characters of letters, digits, '-' and '_'",
        f"{name}:7:17: alias_name 'Sales, floor 1' must be 2 to 50 characters of letters, digits, "
        "space, '-', '.' and '_'",
        f"{name}:8:32: alias sales1: login 100A is listed twice (also item 1; logins are case-insensitive)",
        f"{name}:9:5: unknown key 'colour' in alias sales1 (expected one of: alias_name, ensure, phone_logins)",
        f"{name}:13:5: duplicate key 'phone_logins'",
    ]


def test_bad_yaml_names_the_place():
    name = str(FIXTURES / "bad-yaml.yaml")
    assert problems(name) == [f"{name}:6:1: invalid YAML: found unexpected end of stream"]


def test_files_that_disagree_name_both_places():
    a, b = str(FIXTURES / "split-a.yaml"), str(FIXTURES / "split-b.yaml")
    assert problems(a, b) == [
        f"{b}:3:10: settings.prune is false here but true at {a}:3:10; settings from several files must agree",
        f"{b}:5:3: alias SALES1 is declared twice (case-insensitively); first at {a}:5:3",
    ]


def test_a_directory_means_its_yaml_files_sorted(tmp_path):
    write(tmp_path, "b.yml", "version: 1\naliases:\n  bb: {alias_name: Bee, phone_logins: [1b]}\n")
    write(tmp_path, "a.yaml", "version: 1\naliases:\n  aa: {alias_name: Ay, phone_logins: [1a]}\n")
    write(tmp_path, "notes.txt", "not yaml")
    desired = loader.load([str(tmp_path)])
    assert [a.alias_id for a in desired.aliases] == ["aa", "bb"]
    assert desired.sources == (str(tmp_path / "a.yaml"), str(tmp_path / "b.yml"))


def test_an_empty_directory_and_a_missing_path_are_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert problems(str(empty), str(tmp_path / "nope.yaml")) == [
        f"{empty}: no *.yaml or *.yml files in this directory",
        f"{tmp_path / 'nope.yaml'}: no such file or directory",
    ]


@pytest.mark.parametrize("body, message", [
    ("  sales1: {alias_name: S1, phone_logins: [a]}\n",
     "3:42: alias sales1: phone_logins joined with commas must be at least 2 characters; VICIdial refuses 'a' alone"),
    ("  sales1: {alias_name: S1, phone_logins: []}\n",
     "3:42: alias sales1: phone_logins: [] should be non-empty"),
    ("  sales1: {alias_name: S1}\n",
     "3:3: alias sales1: 'phone_logins' is a required property"),
    ("  sales1: {alias_name: S1, phone_logins: [a23456789012345x]}\n",
     "3:43: phone login 'a23456789012345x' must be 1 to 15 characters of letters, digits, '-' and '_'"),
    ("  sales1: {alias_name: S1, phone_logins: 100a}\n",
     "3:42: alias sales1: phone_logins: '100a' is not of type 'array'"),
    ("  sales1: {ensure: absent, alias_name: S1}\n",
     "3:11: an alias with ensure: absent takes no other keys"),
    ("  sales1: {ensure: gone}\n",
     "3:20: alias sales1: ensure: 'gone' is not one of ['present', 'absent']"),
    ("  s: {alias_name: S1, phone_logins: [ab]}\n",
     "3:3: alias id 's' must be 2 to 20 characters of letters, digits, '-' and '_'"),
    ("  'sales 1': {alias_name: S1, phone_logins: [ab]}\n",
     "3:3: alias id 'sales 1' must be 2 to 20 characters of letters, digits, '-' and '_'"),
])
def test_alias_rules(tmp_path, body, message):
    path = write(tmp_path, "a.yaml", "version: 1\naliases:\n" + body)
    assert problems(path) == [f"{path}:{message}"]


def test_the_joined_member_list_is_at_most_255_characters(tmp_path):
    logins = ", ".join(f"l{i:014d}" for i in range(16))   # 16 * 15 + 15 commas = 255
    path = write(tmp_path, "a.yaml", f"version: 1\naliases:\n  ok: {{alias_name: OK, phone_logins: [{logins}]}}\n")
    assert len(loader.load([path]).aliases[0].logins_list) == 255
    path = write(tmp_path, "b.yaml", f"version: 1\naliases:\n  no: {{alias_name: NO, phone_logins: [{logins}, x]}}\n")
    assert problems(path) == [f"{path}:3:38: alias no: phone_logins joined with commas is 257 characters; "
                              "VICIdial stores at most 255"]


def test_declaring_an_ignored_alias_or_deleting_a_protected_one_is_refused(tmp_path):
    path = write(tmp_path, "a.yaml", """\
version: 1
settings: {ignore: ["tmp*"], protected: ["VIP*"]}
aliases:
  TMP1: {alias_name: Temp, phone_logins: [ab]}
  vip1: {ensure: absent}
""")
    assert problems(path) == [
        f"{path}:4:3: alias TMP1 is declared but matches ignore pattern 'tmp*'; an ignored alias is never touched",
        f"{path}:5:10: alias vip1 has ensure: absent but matches protected pattern 'VIP*'; "
        "protected aliases are never deleted",
    ]


@pytest.mark.parametrize("text, message", [
    ("", "1:1: the file is empty"),
    ("aliases: {}\n", "1:1: the top level: 'version' is a required property"),
    ("version: 2\n", "1:10: version must be 1"),
    ("version: 1\nsettings: {prune: maybe}\n", "2:19: settings.prune: 'maybe' is not of type 'boolean'"),
    ("version: 1\nsettings: {max_deletes: -1}\n", "2:25: settings.max_deletes: -1 is less than the minimum of 0"),
    ("version: 1\n---\nversion: 1\n", "2:1: only one YAML document per file is allowed"),
    ("version: 1\nx: &a [1]\ny: {<<: *a}\n", "3:5: merge keys (<<) are not supported"),
    ("- 1\n", "1:1: the top level: ['1'] is not of type 'object'"),
])
def test_file_level_rules(tmp_path, text, message):
    path = write(tmp_path, "a.yaml", text)
    assert problems(path) == [f"{path}:{message}"]


def test_non_utf8_bytes_name_line_and_column(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"version: 1\naliases:\n  s\xe9: {}\n")
    assert problems(str(path)) == [f"{path}:3:4: not UTF-8 text (byte 0xe9)"]


def test_digits_stay_numbers_where_a_number_is_meant(tmp_path):
    path = write(tmp_path, "a.yaml", "version: 1\nsettings: {max_deletes: 10, max_delete_percent: 12.5}\n")
    settings = loader.load([path]).settings
    assert (settings.max_deletes, settings.max_delete_percent) == (10, 12.5)
    assert type(settings.max_deletes) is not str


# ------------------------------------------------------------------ values that would never converge

def test_every_pattern_of_the_schema_matches_the_whole_value():
    # jsonschema applies `pattern` with re.search, where a bare `$` also matches before a trailing
    # newline: `alias_name: "Sales floor\n"` would pass, VICIdial would store it without the newline,
    # and every plan after would try to change it again.
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str) and node["pattern"].startswith("^"):
                found.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(loader.load_schema(loader.DESIRED_SCHEMA))
    # alias ids, names and logins; station ids, servers and letters; every phone field with a pattern
    assert len(found) == 19
    samples = ("ab", "200", "123456", "10.10.10.15", "--BLANK--")
    for pattern in found:
        sample = next((s for s in samples if re.search(pattern, s)), None)
        assert sample is not None, pattern
        for tail in ("\n", "\r\n", "\nab"):
            assert re.search(pattern, sample + tail) is None, (pattern, tail)


@pytest.mark.parametrize("body, message", [
    ('  sales1: {alias_name: "Sales floor\\n", phone_logins: [100a]}\n',
     "3:24: alias sales1: alias_name 'Sales floor\\n' contains control character U+000A (line feed)"),
    ('  sales1: {alias_name: "Sales\\tfloor", phone_logins: [100a]}\n',
     "3:24: alias sales1: alias_name 'Sales\\tfloor' contains control character U+0009 (tab)"),
    ('  sales1: {alias_name: "Sales\\x01", phone_logins: [100a]}\n',
     "3:24: alias sales1: alias_name 'Sales\\x01' contains control character U+0001"),
    ('  sales1: {alias_name: Sales, phone_logins: [100a, "100b\\n"]}\n',
     "3:52: alias sales1: phone_logins item 2 '100b\\n' contains control character U+000A (line feed)"),
    ('  sales1: {alias_name: Sales, phone_logins: ["\\e100a"]}\n',
     "3:46: alias sales1: phone_logins item 1 '\\x1b100a' contains control character U+001B (escape)"),
    ('  sales1: {alias_name: Sales, phone_logins: [100a]}\n  "nl2\\n": {alias_name: Sales, phone_logins: [100b]}\n',
     "4:3: alias id 'nl2\\n' contains control character U+000A (line feed)"),
    ('  sales1: {alias_name: "   ", phone_logins: [100a]}\n',
     "3:24: alias sales1: alias_name '   ' is blank; a name needs more than spaces"),
    ('  sales1: {alias_name: "", phone_logins: [100a]}\n',
     "3:24: alias sales1: alias_name '' is blank; a name needs more than spaces"),
])
def test_a_trailing_newline_a_control_character_or_a_blank_name_is_refused(tmp_path, body, message):
    # Each of these passed validation, then VICIdial stored something else (or a blank name):
    # the plan never converged.
    path = write(tmp_path, "a.yaml", "version: 1\naliases:\n" + body)
    assert problems(path) == [f"{path}:{message}"]


@pytest.mark.parametrize("key, message", [
    ("ignore", "2:27: settings.ignore item 2 'tmp\\t*' contains control character U+0009 (tab)"),
    ("protected", "2:30: settings.protected item 2 'tmp\\t*' contains control character U+0009 (tab)"),
])
def test_a_control_character_in_an_ignore_or_protected_pattern_is_refused(tmp_path, key, message):
    # A pattern with a tab in it matches no alias id: the aliases it was meant to shield are not shielded.
    path = write(tmp_path, "a.yaml", f'version: 1\nsettings: {{{key}: [vip*, "tmp\\t*"]}}\n')
    assert problems(path) == [f"{path}:{message}"]


def test_a_bad_alias_id_is_reported_at_its_own_key(tmp_path, capsys):
    # jsonschema reports an id against the whole `aliases` mapping; an annotation on the first
    # alias's line sends the reader of a pull request to the wrong line.
    path = write(tmp_path, "a.yaml", """\
version: 1
aliases:
  sales1: {alias_name: Sales, phone_logins: [100a]}
  sales2: {alias_name: Sales, phone_logins: [100b]}
  sales.1: {alias_name: Sales, phone_logins: [100c]}
  abcdefghijklmnopqrstu: {alias_name: Sales, phone_logins: [100d]}
""")
    assert problems(path) == [
        f"{path}:5:3: alias id 'sales.1' must be 2 to 20 characters of letters, digits, '-' and '_'",
        f"{path}:6:3: alias id 'abcdefghijklmnopqrstu' must be 2 to 20 characters of letters, digits, '-' and '_'",
    ]
    from aliassync.cli import main

    assert main(["validate", "--format", "github", path]) == 1
    annotations = capsys.readouterr().out.splitlines()
    assert [a.split("::")[1] for a in annotations] == [
        f"error file={path},line=5,col=3", f"error file={path},line=6,col=3"]


def test_an_unknown_ensure_gets_only_the_message_about_ensure(tmp_path):
    # `ensure: maybe` used to be read as `absent` too and also told "takes no other keys",
    # which sends the user to delete the alias's name and logins.
    path = write(tmp_path, "a.yaml", """\
version: 1
aliases:
  sales1: {ensure: maybe, alias_name: Sales, phone_logins: [100a]}
  sales2: {ensure: maybe}
  sales3: {ensure: present, alias_name: Sales, phone_logins: [100a]}
  sales4: {ensure: present, alias_name: Sales}
""")
    assert problems(path) == [
        f"{path}:3:20: alias sales1: ensure: 'maybe' is not one of ['present', 'absent']",
        f"{path}:4:20: alias sales2: ensure: 'maybe' is not one of ['present', 'absent']",
        f"{path}:6:3: alias sales4: 'phone_logins' is a required property",
    ]


@pytest.mark.parametrize("text, message", [
    ("version: 1\naliases:\n  sales1:\n    alias_name:\n    phone_logins: [100a]\n",
     "4:16: alias sales1: alias_name has no value (null); expected text"),
    ("version: 1\naliases:\n  sales1: {alias_name: null, phone_logins: [100a]}\n",
     "3:24: alias sales1: alias_name has no value (null); expected text"),
    ("version: 1\naliases:\n  sales1: {alias_name: Sales, phone_logins: ~}\n",
     "3:45: alias sales1: phone_logins has no value (null); expected a list"),
    ("version: 1\naliases:\n  sales1: {alias_name: Sales, phone_logins: [100a, ~]}\n",
     "3:52: alias sales1: phone_logins item 2 has no value (null); expected text"),
    ("version: 1\naliases:\n  sales1: {ensure: null}\n",
     "3:20: alias sales1: ensure has no value (null); expected present or absent"),
    ("version: 1\naliases:\n  sales1:\n",
     "3:10: alias sales1 has no value (null); expected a mapping"),
    ("version: 1\naliases:\n", "2:9: aliases has no value (null); expected a mapping"),
    ("version:\n", "1:9: version has no value (null); expected 1"),
    ("version: 1\nsettings:\n", "2:10: settings has no value (null); expected a mapping"),
    ("version: 1\nsettings: {prune: null}\n", "2:19: settings.prune has no value (null); expected true or false"),
    ("version: 1\nsettings: {ignore: null}\n", "2:20: settings.ignore has no value (null); expected a list"),
    ("version: 1\nsettings: {protected: [vip*, null]}\n",
     "2:30: settings.protected item 2 has no value (null); expected text"),
    ("version: 1\nsettings: {max_deletes: null}\n",
     "2:25: settings.max_deletes has no value (null); expected a whole number"),
    ("version: 1\nsettings: {max_delete_percent: ~}\n",
     "2:32: settings.max_delete_percent has no value (null); expected a number"),
])
def test_a_value_left_empty_is_named_as_such(tmp_path, text, message):
    # `None is not of type 'string'` speaks Python to someone who only left a value out.
    path = write(tmp_path, "a.yaml", text)
    assert problems(path) == [f"{path}:{message}"]


def test_a_null_setting_in_one_file_is_not_also_a_disagreement(tmp_path):
    a = write(tmp_path, "a.yaml", "version: 1\nsettings: {prune: true}\n")
    b = write(tmp_path, "b.yaml", "version: 1\nsettings:\n  prune:\n")
    assert problems(a, b) == [f"{b}:3:9: settings.prune has no value (null); expected true or false"]


# ------------------------------------------------------------------ a directory: every entry or an error

PRUNING = "version: 1\nsettings: {prune: true}\naliases:\n  aa: {alias_name: Ay, phone_logins: [1a]}\n"


def test_a_dangling_link_in_a_directory_is_an_error_not_a_file_less(tmp_path):
    # Skipped, the aliases declared in the file it pointed to would be pruned: deleted on the dialer.
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf, "a.yaml", PRUNING)
    (conf / "b.yaml").symlink_to("missing.yaml")
    assert problems(str(conf)) == [f"{conf / 'b.yaml'}: cannot read: dangling symbolic link to missing.yaml"]


def test_every_entry_named_yaml_that_is_not_a_readable_file_is_an_error(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf, "a.yaml", PRUNING)
    (conf / "b.yaml").symlink_to(conf / "b.yaml")            # a link to itself
    (conf / "c.yaml").mkdir()
    os.mkfifo(conf / "d.yml")
    (conf / "e.yml").symlink_to("../elsewhere/gone.yml")
    (conf / "notes.txt").symlink_to("missing.txt")           # not a desired-state file: not ours to read
    assert problems(str(conf)) == [
        f"{conf / 'b.yaml'}: cannot read: Too many levels of symbolic links",
        f"{conf / 'c.yaml'}: is a directory, not a file",
        f"{conf / 'd.yml'}: is a named pipe, not a file",
        f"{conf / 'e.yml'}: cannot read: dangling symbolic link to ../elsewhere/gone.yml",
    ]


def test_a_link_to_a_file_is_read_like_the_file(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    write(tmp_path, "shared.yaml", PRUNING)
    (conf / "a.yaml").symlink_to(tmp_path / "shared.yaml")
    assert [a.alias_id for a in loader.load([str(conf)]).aliases] == ["aa"]


def test_a_dangling_link_or_a_directory_given_by_name_is_an_error_naming_it(tmp_path):
    (tmp_path / "b.yaml").symlink_to("missing.yaml")
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    assert problems(str(tmp_path / "b.yaml"), str(fifo)) == [
        f"{tmp_path / 'b.yaml'}: cannot read: dangling symbolic link to missing.yaml",
        f"{fifo}: is a named pipe, not a file",
    ]


def test_an_unreadable_file_in_a_directory_is_an_error(tmp_path, monkeypatch):
    # Tests may run as root, who reads any file: the refusal of the system is simulated.
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf, "a.yaml", PRUNING)
    locked = write(conf, "b.yaml", PRUNING.replace("aa", "bb").replace("1a", "1b"))
    real_open = open

    def refusing_open(name, *args, **kwargs):
        if str(name) == locked:
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(loader, "open", refusing_open, raising=False)
    assert problems(str(conf)) == [f"{locked}: cannot read: Permission denied"]
