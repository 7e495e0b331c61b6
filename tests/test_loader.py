"""The loader: every rule of the file format, with exact messages and places."""
from pathlib import Path

import pytest

from aliassync import loader
from aliassync.errors import LoadError
from aliassync.model import DesiredAlias, Settings

FIXTURES = Path(__file__).parent / "fixtures"


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
