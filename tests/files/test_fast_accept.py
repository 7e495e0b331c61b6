"""The fast path past schema validation: it only ever accepts what jsonschema accepts."""
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from aliassync.files import loader
from aliassync.files.fast_accept import FastAccept

SCHEMA = loader.load_schema(loader.DESIRED_SCHEMA)
VALIDATOR = Draft202012Validator(SCHEMA)
FAST = FastAccept(SCHEMA)


def test_it_compiles_the_schema_the_loader_uses():
    # If this fails, the schema took up a keyword the fast path does not implement: until it
    # does, every entry goes to jsonschema (slow, never wrong).
    assert FAST.enabled
    assert sorted(FAST._sections) == ["aliases", "phones", "servers", "stations"]


def test_a_schema_with_a_keyword_it_does_not_know_turns_it_off():
    stricter = json.loads(json.dumps(SCHEMA))
    stricter["$defs"]["alias"]["properties"]["phone_logins"]["uniqueItems"] = True
    fast = FastAccept(stricter)
    document = {"version": 1, "aliases": {"s1": {"alias_name": "Sales", "phone_logins": ["a", "a"]}}}
    assert not fast.enabled
    assert fast.unchecked(document) is document


def test_a_rule_on_a_whole_section_keeps_that_section_out_of_the_entry_by_entry_path():
    # Removing proven entries would change what a section-wide rule sees: such a section is checked whole.
    stricter = json.loads(json.dumps(SCHEMA))
    stricter["properties"]["stations"]["maxProperties"] = 1
    fast = FastAccept(stricter)
    desk = {"alias_name": "Desk", "servers": "all"}
    document = {"version": 1, "stations": {"200": desk, "201": desk}}
    assert fast.enabled and "stations" not in fast._sections
    assert fast.unchecked(document) == document
    assert list(Draft202012Validator(stricter).iter_errors(document)) != []


def test_a_valid_document_needs_no_jsonschema_at_all():
    document = {"version": 1, "settings": {"prune": True, "ignore": ["tmp*"], "max_deletes": 3,
                                           "phones": {"prune": True, "protected": ["100*"]}},
                "aliases": {"sales1": {"alias_name": "Sales 1", "phone_logins": ["100a", "100b"]},
                            "retired7": {"ensure": "absent"}},
                "phone_defaults": {"protocol": "SIP", "local_gmt": "-5.00", "outbound_cid": "3125550100",
                                   "phone_pass": {"env": "AGENT_PASS"}, "registration_password": {"file": "s/sip"}},
                "phones": {"100a": {"extension": "100", "server_ip": "10.10.10.15", "active": False},
                           "old7": {"ensure": "absent"}},
                "servers": {"10.10.10.15": "a", "10.10.10.16": "b"},
                "stations": {"200": {"alias_name": "Desk 200", "servers": "all"},
                             "201": {"alias_name": "Desk 201", "servers": ["10.10.10.16"], "extension": "cc201"}}}
    assert list(VALIDATOR.iter_errors(document)) == []
    assert FAST.unchecked(document) is None


def test_jsonschema_sees_only_the_entries_not_proven_valid():
    document = {"version": 1, "aliases": {"good": {"alias_name": "Good", "phone_logins": ["100a"]},
                                          "bad": {"alias_name": "Bad", "phone_logins": ["100 a"]},
                                          "x": {"alias_name": "Short id", "phone_logins": ["100a"]}},
                "phones": {"100a": {"extension": "100", "server_ip": "10.10.10.15"},
                           "100b": {"extension": "100", "server_ip": "10.10.10.256"}},
                "stations": {"200": {"alias_name": "Desk", "servers": "all"},
                             "201": {"alias_name": "Desk", "servers": "none"}},
                "servers": {"10.10.10.15": "a"}}
    assert FAST.unchecked(document) == {"version": 1, "aliases": {
        "bad": {"alias_name": "Bad", "phone_logins": ["100 a"]},
        "x": {"alias_name": "Short id", "phone_logins": ["100a"]}},
        "phones": {"100b": {"extension": "100", "server_ip": "10.10.10.256"}},
        "stations": {"201": {"alias_name": "Desk", "servers": "none"}}, "servers": {}}


def test_where_jsonschema_could_judge_otherwise_it_is_unsure_and_accepts_nothing():
    # 3.0 is an integer to jsonschema; a key that is not text is checked by jsonschema alone.
    document = {"version": 1, "settings": {"max_deletes": 3.0}}
    assert FAST.document_verdict(document) is None
    assert FAST.unchecked(document) == document
    assert FAST.document_verdict({"version": 1.0}) is True    # const 1: jsonschema's equal() says 1.0 is 1
    assert FAST.verdict("aliases", 100, {"alias_name": "Sales", "phone_logins": ["100a"]}) is None


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
    assert not FAST.entry("aliases", "nl2\n", {"alias_name": "Sales", "phone_logins": logins})
    assert not FAST.entry("aliases", "sales1", {"alias_name": "Sales floor\n", "phone_logins": logins})
    assert not FAST.entry("aliases", "sales1", {"alias_name": "Sales", "phone_logins": ["100a\n"]})
    assert not FAST.entry("aliases", "sales1", {"alias_name": "   ", "phone_logins": logins})
    assert not FAST.entry("phones", "100a", {"extension": "100\n", "server_ip": "10.10.10.15"})
    assert not FAST.entry("phones", "100a", {"extension": "100", "server_ip": "10.10.10.15", "local_gmt": "-5"})
    assert not FAST.entry("stations", "200", {"alias_name": "Desk", "servers": "all", "phone_full_name": "--BLANK--"})
    assert FAST.unchecked({"version": 1, "settings": {"ignore": ["tmp\t*"]}}) is not None
    assert FAST.unchecked({"version": 1, "settings": {"protected": ["vip\x85"]}}) is not None
    assert FAST.entry("aliases", "sales1", {"alias_name": " Sales ", "phone_logins": logins})
    assert FAST.unchecked({"version": 1, "settings": {"ignore": ["tmp *"], "protected": ["vip?"]}}) is None


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


_PHONE_TEXT = st.sampled_from(["100", "10", "1", "cc100", "10.10.10.15", "10.10.10.256", "SIP", "sip", "Zap", "-5.00",
                               "-5", "5.50", "3125550100", "12345", "Desk 100", "--BLANK--", "--blank--", "Y", "N",
                               "Y_API_LAUNCH", "default", "a@b.co", "all", "a", "aa", "A", "present", "absent",
                               "100\n", "a\tb", "x" * 31, "1" * 19])
_PHONE_VALUE = st.one_of(_PHONE_TEXT, st.none(), st.booleans(), st.integers(0, 2), st.floats(0, 2),
                         st.lists(_PHONE_TEXT, max_size=3),
                         st.dictionaries(st.sampled_from(["env", "file", "other"]),
                                         st.sampled_from(["AGENT_PASS", "1BAD", "s/sip", "", "a\nb"]), max_size=2))
_PHONE_FIELDS = ["ensure", "extension", "server_ip", "dialplan_number", "voicemail_id", "phone_full_name",
                 "protocol", "local_gmt", "outbound_cid", "phone_pass", "registration_password", "active", "email",
                 "phone_context", "admin_user_group", "is_webphone", "webphone_auto_answer", "template_id",
                 "alias_name", "servers", "other"]
_PHONE_ENTRY = st.one_of(st.dictionaries(st.sampled_from(_PHONE_FIELDS), _PHONE_VALUE, max_size=5),
                         st.fixed_dictionaries({"extension": _PHONE_TEXT, "server_ip": _PHONE_TEXT},
                                               optional={"local_gmt": _PHONE_TEXT, "protocol": _PHONE_TEXT,
                                                         "phone_pass": _PHONE_VALUE, "ensure": _PHONE_TEXT}),
                         st.fixed_dictionaries({"alias_name": _TEXT, "servers": _PHONE_VALUE},
                                               optional={"extension": _PHONE_TEXT, "phone_full_name": _PHONE_TEXT}),
                         _PHONE_VALUE)


def _agrees(section, key, entry):
    """Where the fast path is sure, jsonschema judges the same; the entry in its section alone."""
    verdict = FAST.verdict(section, key, entry)
    if verdict is not None:
        document = {"version": 1, section: {key: entry}}
        assert verdict == (list(VALIDATOR.iter_errors(document)) == [])
    return verdict


@settings(max_examples=1500, deadline=None)
@given(alias_id=st.one_of(_TEXT, st.integers(0, 3), st.none()), entry=_ENTRY)
def test_an_alias_entry_is_judged_as_jsonschema_judges_it(alias_id, entry):
    _agrees("aliases", alias_id, entry)


@settings(max_examples=1500, deadline=None)
@given(section=st.sampled_from(["phones", "stations", "servers"]), key=st.one_of(_PHONE_TEXT, st.integers(0, 3)),
       entry=_PHONE_ENTRY)
def test_a_phone_station_or_server_entry_is_judged_as_jsonschema_judges_it(section, key, entry):
    _agrees(section, key, entry)


def test_the_fast_path_accepts_the_common_entries():
    # Judged exactly is not enough: it must also say yes to what users write, or it saves nothing.
    assert _agrees("phones", "100a", {"extension": "100", "server_ip": "10.10.10.15", "local_gmt": "-5.00",
                                      "phone_pass": {"env": "AGENT_PASS"}, "active": True}) is True
    assert _agrees("stations", "200", {"alias_name": "Desk 200", "servers": ["10.10.10.15"]}) is True
    assert _agrees("servers", "10.10.10.15", "a") is True
    assert _agrees("aliases", "sales1", {"alias_name": "Sales 1", "phone_logins": ["100a"]}) is True


@settings(max_examples=800, deadline=None)
@given(version=st.one_of(st.integers(0, 2), st.booleans(), st.floats(0, 2), _TEXT), settings_=_SETTINGS,
       defaults=st.one_of(st.none(), _PHONE_ENTRY), extra=st.booleans())
def test_a_top_level_is_judged_as_jsonschema_judges_it(version, settings_, defaults, extra):
    document = {"version": version, "settings": settings_, "aliases": {}}
    if defaults is not None:
        document["phone_defaults"] = defaults
    if extra:
        document["other"] = 1
    verdict = FAST.document_verdict(document)
    if verdict is not None:
        assert verdict == (list(VALIDATOR.iter_errors(document)) == [])


def test_the_loader_does_not_import_jsonschema_for_valid_files(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "a.yaml"
    path.write_text("version: 1\naliases:\n  sales1: {alias_name: Sales, phone_logins: [100a]}\n"
                    "phone_defaults: {protocol: SIP, local_gmt: '-5.00', outbound_cid: '3125550100'}\n"
                    "phones:\n  100a: {extension: '100', server_ip: 10.10.10.15}\n"
                    "servers: {10.10.10.15: a}\nstations:\n  '200': {alias_name: Desk, servers: all}\n",
                    encoding="utf-8")
    code = ("import sys; from aliassync.files import loader; loader.load([sys.argv[1]]); "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "False"
