"""The fast path past schema validation: it only ever accepts what jsonschema accepts."""
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from aliassync.files import loader
from aliassync.files.fast_accept import IMPLEMENTED_SCHEMA, FastAccept, fingerprint

SCHEMA = loader.load_schema(loader.DESIRED_SCHEMA)
VALIDATOR = Draft202012Validator(SCHEMA)
FAST = FastAccept(SCHEMA)


def test_it_implements_the_schema_the_loader_uses():
    # If this fails, the schema changed: bring FastAccept up to date with it, then
    # IMPLEMENTED_SCHEMA. Until then the fast path is off and every entry goes to jsonschema.
    assert fingerprint(SCHEMA) == IMPLEMENTED_SCHEMA
    assert FAST.enabled


def test_another_schema_turns_it_off():
    stricter = json.loads(json.dumps(SCHEMA))
    stricter["$defs"]["alias"]["properties"]["phone_logins"]["maxItems"] = 8
    fast = FastAccept(stricter)
    document = {"version": 1, "aliases": {"s1": {"alias_name": "Sales", "phone_logins": ["a"] * 9}}}
    assert not fast.enabled
    assert fast.unchecked(document) is document


def test_a_valid_document_needs_no_jsonschema_at_all():
    document = {"version": 1, "settings": {"prune": True, "ignore": ["tmp*"], "max_deletes": 3},
                "aliases": {"sales1": {"alias_name": "Sales 1", "phone_logins": ["100a", "100b"]},
                            "retired7": {"ensure": "absent"}}}
    assert FAST.unchecked(document) is None


def test_phones_servers_and_stations_are_left_to_jsonschema():
    # The fast path knows aliases only: a document with any phone key is never accepted whole, and
    # jsonschema sees every part of it but the alias entries proven valid.
    sales1 = {"alias_name": "Sales", "phone_logins": ["100a"]}
    for key, value in [("phones", {"100a": {"extension": "100", "server_ip": "10.10.10.15"}}),
                       ("phone_defaults", {"protocol": "SIP"}), ("servers", {"10.10.10.15": "a"}),
                       ("stations", {"200": {"alias_name": "Desk", "servers": "all"}})]:
        document = {"version": 1, "aliases": {"sales1": sales1}, key: value}
        assert FAST.unchecked(document) == {"version": 1, "aliases": {}, key: value}
    document = {"version": 1, "settings": {"prune": True, "phones": {"prune": True}}, "aliases": {"sales1": sales1}}
    assert FAST.unchecked(document) == {**document, "aliases": {}}


def test_jsonschema_sees_only_the_entries_not_proven_valid():
    document = {"version": 1, "aliases": {"good": {"alias_name": "Good", "phone_logins": ["100a"]},
                                          "bad": {"alias_name": "Bad", "phone_logins": ["100 a"]},
                                          "x": {"alias_name": "Short id", "phone_logins": ["100a"]}}}
    assert FAST.unchecked(document) == {"version": 1, "aliases": {
        "bad": {"alias_name": "Bad", "phone_logins": ["100 a"]},
        "x": {"alias_name": "Short id", "phone_logins": ["100a"]}}}


def test_problems_are_reported_exactly_as_without_the_fast_path(tmp_path, monkeypatch):
    text = ("version: 1\naliases:\n  good1: {alias_name: Good, phone_logins: [100a]}\n"
            "  bad1: {alias_name: 'B,ad', phone_logins: [100a, '1 0']}\n"
            "  x: {alias_name: Fine, phone_logins: []}\n  good2: {alias_name: Good two, phone_logins: [100b]}\n"
            "  bad2: {ensure: absent, alias_name: Nope}\n  bad.3: {alias_name: '  ', phone_logins: [\"1\\n\"]}\n"
            "  bad4: {ensure: maybe, alias_name: ~, phone_logins: [100c]}\n")
    path = tmp_path / "a.yaml"
    path.write_text(text, encoding="utf-8")

    def problems() -> list[str]:
        try:
            loader.load([str(path)])
        except loader.LoadError as error:
            return error.lines()
        raise AssertionError("the file loaded")

    with_fast_path = problems()
    monkeypatch.setattr(FastAccept, "unchecked", lambda self, data: data)
    assert with_fast_path == problems()
    assert len(with_fast_path) == 10


def test_what_the_schema_refuses_as_never_converging_is_never_accepted():
    # A trailing newline passes a bare `$`; VICIdial strips it, and the alias is changed on every apply.
    logins = ["100a"]
    assert not FAST.entry("nl2\n", {"alias_name": "Sales", "phone_logins": logins})
    assert not FAST.entry("sales1", {"alias_name": "Sales floor\n", "phone_logins": logins})
    assert not FAST.entry("sales1", {"alias_name": "Sales", "phone_logins": ["100a\n"]})
    assert not FAST.entry("sales1", {"alias_name": "   ", "phone_logins": logins})
    assert not FAST.top({"version": 1, "settings": {"ignore": ["tmp\t*"]}})
    assert not FAST.top({"version": 1, "settings": {"protected": ["vip\x85"]}})
    assert FAST.entry("sales1", {"alias_name": " Sales ", "phone_logins": logins})
    assert FAST.top({"version": 1, "settings": {"ignore": ["tmp *"], "protected": ["vip?"]}})


# Entries close to valid, so that both sides of every rule are tried.
_TEXT = st.sampled_from(["Sales 1", "ok", "x", "", "a,b", "100a", "100 a", "ab_-", "é", "a" * 20, "a" * 21,
                         "a" * 50, "a" * 51, "line\n", "present", "absent", "  ", " a ", "ab\r\n", "a\tb",
                         "ab\x00", "ab\x7f", "ab\x85", "\nab", "tmp*"])
_VALUE = st.one_of(_TEXT, st.none(), st.booleans(), st.integers(-1, 3), st.floats(allow_nan=False),
                   st.lists(_TEXT, max_size=3))
_ENTRY = st.one_of(
    st.dictionaries(st.sampled_from(["alias_name", "phone_logins", "ensure", "other"]), _VALUE, max_size=4),
    st.fixed_dictionaries({"alias_name": _TEXT, "phone_logins": st.lists(_TEXT, max_size=4)}),
    _VALUE,
)
_SETTINGS = st.dictionaries(st.sampled_from(["prune", "ignore", "protected", "max_deletes", "max_delete_percent",
                                             "phones", "other"]), _VALUE, max_size=3)


@settings(max_examples=1500, deadline=None)
@given(alias_id=st.one_of(_TEXT, st.integers(0, 3), st.none()), entry=_ENTRY)
def test_an_entry_it_accepts_passes_the_schema(alias_id, entry):
    document = {"version": 1, "aliases": {alias_id: entry}}
    if FAST.entry(alias_id, entry):
        assert list(VALIDATOR.iter_errors(document)) == []


@settings(max_examples=800, deadline=None)
@given(version=st.one_of(st.integers(0, 2), st.booleans(), st.floats(0, 2), _TEXT), settings_=_SETTINGS,
       extra=st.booleans())
def test_a_top_level_it_accepts_passes_the_schema(version, settings_, extra):
    document = {"version": version, "settings": settings_, "aliases": {}}
    if extra:
        document["other"] = 1
    if FAST.top(document):
        assert list(VALIDATOR.iter_errors(document)) == []


def test_the_loader_does_not_import_jsonschema_for_valid_files(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "a.yaml"
    path.write_text("version: 1\naliases:\n  sales1: {alias_name: Sales, phone_logins: [100a]}\n", encoding="utf-8")
    code = ("import sys; from aliassync.files import loader; loader.load([sys.argv[1]]); "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "False"
