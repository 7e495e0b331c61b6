"""Phones in the files: `phone_defaults`, `phones`, `servers`, `settings.phones`, password references.

Every rule of contract.md's "desired-state file" for phones, with exact
messages at file:line:column; where two places are involved, both.
"""
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aliassync import redaction
from aliassync.cli import main
from aliassync.core.model import DesiredAlias, PhoneSettings
from aliassync.core.phone import LOCAL_GMT, PROTOCOLS, DesiredPhone, SecretRef
from aliassync.errors import LoadError
from aliassync.files import loader, secrets
from desired_files import problems, write


@pytest.fixture(autouse=True)
def passwords(monkeypatch):
    """The environment a run reads its password references from; no secret outlives a test."""
    monkeypatch.setenv("AGENT_PHONE_PASS", "agentPass_1")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    yield
    redaction.forget_all()


def phone_file(tmp_path: Path, phones: str, defaults: str = "") -> str:
    return write(tmp_path, "a.yaml", "version: 1\n" + defaults + "phones:\n" + phones)


# ------------------------------------------------------------------ what a valid file gives

CONTRACT_EXAMPLE = """\
version: 1
settings:
  prune: false
  ignore: ["tmp*"]
  protected: ["vip*"]
  phones:
    prune: false
    ignore: ["test*"]
    protected: ["100*"]
aliases:
  sales1:
    alias_name: Sales floor 1
    phone_logins: [100a, 100b]
  retired7:
    ensure: absent

phone_defaults:
  protocol: SIP
  local_gmt: "-5.00"
  outbound_cid: "3125550100"
  phone_pass: {env: AGENT_PHONE_PASS}
  registration_password: {file: secrets/sip-secret}

phones:
  100a:
    extension: "100"
    server_ip: 10.10.10.15
    dialplan_number: "100"
    voicemail_id: "100"
    phone_full_name: Desk 100
    active: true
  old7:
    ensure: absent

servers:
  10.10.10.15: a
  10.10.10.16: b
"""


def test_the_contracts_example_loads_as_the_api_takes_it(tmp_path):
    write(tmp_path, "conf/secrets/sip-secret", "sipSecret_1\n")
    path = write(tmp_path, "conf/desired.yaml", CONTRACT_EXAMPLE)
    desired = loader.load([path])
    refs = {"phone_pass": SecretRef("env", "AGENT_PHONE_PASS"),
            "registration_password": SecretRef("file", str(tmp_path / "conf" / "secrets" / "sip-secret"))}
    assert desired.phones == (
        DesiredPhone("100a", "100", "10.10.10.15",
                     {"local_gmt": "-5.00", "phone_full_name": "Desk 100", "protocol": "SIP", "voicemail_id": "100",
                      "dialplan_number": "100", "active": "Y", "outbound_cid": "3125550100"}, refs),
        DesiredPhone("old7", None, None, present=False),
    )
    assert [str(phone.location) for phone in desired.phones] == [f"{path}:25:3", f"{path}:32:3"]
    assert desired.servers == {"10.10.10.15": "a", "10.10.10.16": "b"}
    assert desired.settings.phones == PhoneSettings(prune=False, ignore=("test*",), protected=("100*",))
    assert desired.aliases == (DesiredAlias("sales1", "Sales floor 1", ("100a", "100b")),
                               DesiredAlias("retired7", None, (), present=False))


def test_a_phones_own_field_wins_over_phone_defaults(tmp_path):
    path = phone_file(tmp_path, defaults="phone_defaults: {protocol: SIP, local_gmt: \"-5.00\", active: false}\n",
                      phones="  100a: {extension: \"100\", server_ip: 10.10.10.15, protocol: IAX2}\n"
                             "  100b: {extension: \"101\", server_ip: 10.10.10.15, active: true}\n")
    first, second = loader.load([path]).phones
    assert first.fields == {"local_gmt": "-5.00", "protocol": "IAX2", "active": "N"}
    assert second.fields == {"local_gmt": "-5.00", "protocol": "SIP", "active": "Y"}


def test_every_optional_field_is_kept_as_the_api_takes_it(tmp_path):
    path = phone_file(tmp_path, """\
  100a:
    extension: "100"
    server_ip: 10.10.10.15
    email: ops@example.com
    phone_context: default
    admin_user_group: ---ALL---
    is_webphone: Y_API_LAUNCH
    webphone_auto_answer: false
    use_external_server_ip: yes
    on_hook_agent: true
    template_id: SIP_generic
""")
    assert loader.load([path]).phones[0].fields == {
        "email": "ops@example.com", "phone_context": "default", "active": "Y", "admin_user_group": "---ALL---",
        "is_webphone": "Y_API_LAUNCH", "webphone_auto_answer": "N", "use_external_server_ip": "Y",
        "on_hook_agent": "Y", "template_id": "SIP_generic"}


def test_ids_and_numbers_stay_as_written_whatever_yaml_11_thinks(tmp_path):
    # `0100` unquoted is octal 64 to YAML 1.1; VICIdial would get `0100`, so the files keep `0100`.
    path = phone_file(tmp_path, """\
  0100:
    extension: 0100
    server_ip: 10.10.10.15
    dialplan_number: 0100
    voicemail_id: 1e3
    outbound_cid: 0003125550100
""")
    phone = loader.load([path]).phones[0]
    assert (phone.login, phone.extension) == ("0100", "0100")
    assert phone.fields == {"voicemail_id": "1e3", "dialplan_number": "0100", "active": "Y",
                            "outbound_cid": "0003125550100"}


def test_the_schemas_lists_are_the_ones_the_core_uses():
    schema = loader.load_schema(loader.DESIRED_SCHEMA)
    assert tuple(schema["$defs"]["local_gmt"]["then"]["enum"]) == LOCAL_GMT
    assert tuple(schema["$defs"]["protocol"]["enum"]) == PROTOCOLS
    # a phone's own login and an alias's member follow one rule
    member = schema["$defs"]["alias"]["properties"]["phone_logins"]["items"]["then"]["pattern"]
    assert schema["$defs"]["phone_login"]["then"]["pattern"] == member


# ------------------------------------------------------------------ each field's rule, at its place

@pytest.mark.parametrize("field, value, message", [
    ("extension", '"1"', "phone 100a: extension '1' must be 2 to 100 characters of letters, digits, '-' and '_'"),
    ("extension", '"10 0"', "phone 100a: extension '10 0' must be 2 to 100 characters of letters, digits, '-' and '_'"),
    ("server_ip", "10.10.10.256", "phone 100a: server_ip '10.10.10.256' must be an IPv4 address, such as 10.10.10.15"),
    ("server_ip", "10.10.10.015", "phone 100a: server_ip '10.10.10.015' must be an IPv4 address, such as 10.10.10.15"),
    ("server_ip", "dialer1", "phone 100a: server_ip 'dialer1' must be an IPv4 address, such as 10.10.10.15"),
    ("dialplan_number", '"12"',
     "phone 100a: dialplan_number '12' must be 3 to 20 characters of letters, digits, '*' and '#'"),
    ("dialplan_number", '"9-100"',
     "phone 100a: dialplan_number '9-100' must be 3 to 20 characters of letters, digits, '*' and '#'"),
    ("voicemail_id", '"1-0"', "phone 100a: voicemail_id '1-0' must be 2 to 10 letters and digits"),
    ("voicemail_id", "12345678901", "phone 100a: voicemail_id '12345678901' must be 2 to 10 letters and digits"),
    ("phone_full_name", '"Desk, 100"',
     "phone 100a: phone_full_name 'Desk, 100' must be 2 to 30 characters of letters, digits, space, '-', '.' and '_'"),
    ("phone_full_name", "D", "phone 100a: phone_full_name 'D' must be 2 to 30 characters of letters, digits, space, "
                             "'-', '.' and '_'"),
    ("protocol", "sip", "phone 100a: protocol 'sip' must be SIP, IAX2, Zap or EXTERNAL, written exactly so"),
    ("protocol", "PJSIP", "phone 100a: protocol 'PJSIP' must be SIP, IAX2, Zap or EXTERNAL, written exactly so"),
    ("outbound_cid", '"12345"', "phone 100a: outbound_cid '12345' must be 6 to 18 digits"),
    ("outbound_cid", '"---ALL---"', "phone 100a: outbound_cid '---ALL---' must be 6 to 18 digits"),
    ("email", '"a@b"', "phone 100a: email 'a@b' must be 5 to 100 characters of letters, digits, space, "
                       "'-', '.', ':', '/', '@', '%' and '_'"),
    ("email", "\"o'brien@example.com\"", "phone 100a: email \"o'brien@example.com\" must be 5 to 100 characters of "
                                         "letters, digits, space, '-', '.', ':', '/', '@', '%' and '_'"),
    ("email", '"ops+1@example.com"', "phone 100a: email 'ops+1@example.com' must be 5 to 100 characters of letters, "
                                     "digits, space, '-', '.', ':', '/', '@', '%' and '_'"),
    ("phone_context", "x", "phone 100a: phone_context 'x' must be 2 to 20 characters of letters, digits, '-' and '_'"),
    ("admin_user_group", "a" * 21,
     f"phone 100a: admin_user_group '{'a' * 21}' must be 2 to 20 characters of letters, digits, '-' and '_'"),
    ("is_webphone", "yes", "phone 100a: is_webphone 'yes' must be Y, N or Y_API_LAUNCH"),
    ("template_id", "a" * 16,
     f"phone 100a: template_id '{'a' * 16}' must be 2 to 15 characters of letters, digits, '-' and '_'"),
    ("active", "maybe", "phone 100a: active: 'maybe' is not of type 'boolean'"),
    ("on_hook_agent", '"Y"', "phone 100a: on_hook_agent: 'Y' is not of type 'boolean'"),
])
def test_phone_field_rules(tmp_path, field, value, message):
    if field in ("extension", "server_ip"):
        other = "server_ip: 10.10.10.15" if field == "extension" else 'extension: "100"'
        path = phone_file(tmp_path, f"  100a:\n    {other}\n    {field}: {value}\n")
        line = 5
    else:
        path = phone_file(tmp_path, f"  100a:\n    extension: \"100\"\n    server_ip: 10.10.10.15\n"
                                    f"    {field}: {value}\n")
        line = 6
    assert problems(path) == [f"{path}:{line}:{7 + len(field)}: {message}"]


@pytest.mark.parametrize("body, message", [
    ("  1234567890123456: {extension: \"100\", server_ip: 10.10.10.15}\n",
     "4:3: phone login '1234567890123456' must be 1 to 15 characters of letters, digits, '-' and '_'"),
    ("  \"100 a\": {extension: \"100\", server_ip: 10.10.10.15}\n",
     "4:3: phone login '100 a' must be 1 to 15 characters of letters, digits, '-' and '_'"),
    ("  100a: {server_ip: 10.10.10.15}\n", "4:3: phone 100a: 'extension' is a required property"),
    ("  100a: {extension: \"100\"}\n", "4:3: phone 100a: 'server_ip' is a required property"),
    ("  100a: {ensure: absent, extension: \"100\"}\n", "4:9: a phone with ensure: absent takes no other keys"),
    ("  100a: {ensure: gone}\n", "4:18: phone 100a: ensure: 'gone' is not one of ['present', 'absent']"),
    ("  100a:\n", "4:8: phone 100a has no value (null); expected a mapping"),
    ("  100a: {extension: \"100\", server_ip: 10.10.10.15, colour: red}\n",
     "4:52: unknown key 'colour' in phone 100a (expected one of: active, admin_user_group, dialplan_number, email, "
     "ensure, extension, is_webphone, local_gmt, on_hook_agent, outbound_cid, phone_context, phone_full_name, "
     "phone_pass, protocol, registration_password, server_ip, template_id, use_external_server_ip, voicemail_id, "
     "webphone_auto_answer)"),
])
def test_phone_entry_rules(tmp_path, body, message):
    path = write(tmp_path, "a.yaml", "version: 1\n\nphones:\n" + body)
    assert problems(path) == [f"{path}:{message}"]


@pytest.mark.parametrize("value, message", [
    ('"100\\n"', "phone 100a: dialplan_number '100\\n' contains control character U+000A (line feed)"),
    ('"10\\t0"', "phone 100a: dialplan_number '10\\t0' contains control character U+0009 (tab)"),
])
def test_a_trailing_newline_or_a_control_character_is_refused(tmp_path, value, message):
    # A trailing newline passes a bare `$`; VICIdial strips it, and the phone would change on every apply.
    path = phone_file(tmp_path, f"  100a: {{extension: \"100\", server_ip: 10.10.10.15, dialplan_number: {value}}}\n")
    assert problems(path) == [f"{path}:3:69: {message}"]


@pytest.mark.parametrize("field", ["email", "phone_context", "phone_full_name", "template_id"])
def test_vicidials_blank_word_is_refused(tmp_path, field):
    # update_phone reads --BLANK-- as "empty it", add_phone stores it as written: neither equals the file.
    path = phone_file(tmp_path, f"  100a: {{extension: \"100\", server_ip: 10.10.10.15, {field}: --blank--}}\n")
    assert problems(path) == [
        f"{path}:3:{54 + len(field)}: phone 100a: {field} '--blank--' is VICIdial's word for an empty field, "
        "stored differently by add and update; leave the field out"]


# ------------------------------------------------------------------ local_gmt: as VICIdial lists it, in quotes

@pytest.mark.parametrize("value, message", [
    ('"-5"', "local_gmt '-5' must be written exactly as VICIdial lists it, in quotes: \"-5.00\""),
    ("-5", "local_gmt '-5' must be written exactly as VICIdial lists it, in quotes: \"-5.00\""),
    ("5.5", "local_gmt '5.5' must be written exactly as VICIdial lists it, in quotes: \"5.50\""),
    ('"+5.50"', "local_gmt '+5.50' must be written exactly as VICIdial lists it, in quotes: \"5.50\""),
    ("-5.00", "local_gmt -5.00 is a number to YAML; write it in quotes, \"-5.00\", so that it stays exactly as "
              "VICIdial lists it"),
    ("0.00", "local_gmt 0.00 is a number to YAML; write it in quotes, \"0.00\", so that it stays exactly as "
             "VICIdial lists it"),
    ('"7.77"', "local_gmt '7.77' is not one of VICIdial's 33 time zones; write one in quotes, as \"-5.00\": "
               + " ".join(LOCAL_GMT)),
    ('"EST"', "local_gmt 'EST' is not one of VICIdial's 33 time zones; write one in quotes, as \"-5.00\": "
              + " ".join(LOCAL_GMT)),
])
def test_local_gmt_is_written_exactly_as_one_of_vicidials_33_values(tmp_path, value, message):
    # PHP compares time zones as numbers and stores what it is sent: `-5` would be stored as `-5`,
    # and a number to YAML is `-5.0` to any other tool reading the file.
    path = phone_file(tmp_path, f"  100a: {{extension: \"100\", server_ip: 10.10.10.15, local_gmt: {value}}}\n")
    assert problems(path) == [f"{path}:3:63: phone 100a: {message}"]


def test_every_one_of_the_33_time_zones_in_quotes_is_accepted(tmp_path):
    body = "".join(f"  p{n}: {{extension: \"1{n:02d}\", server_ip: 10.10.10.15, local_gmt: \"{zone}\"}}\n"
                   for n, zone in enumerate(LOCAL_GMT))
    desired = loader.load([phone_file(tmp_path, body)])
    assert tuple(phone.fields["local_gmt"] for phone in desired.phones) == LOCAL_GMT
    assert all(type(phone.fields["local_gmt"]) is str for phone in desired.phones)


# ------------------------------------------------------------------ passwords: references, never values

@pytest.mark.parametrize("value", ["hunter2", '"hunter2"', "12345678", "[hunter2]"])
def test_a_literal_password_is_refused_and_never_repeated(tmp_path, value):
    path = phone_file(tmp_path, f"  100a: {{extension: \"100\", server_ip: 10.10.10.15, phone_pass: {value}}}\n")
    found = problems(path)
    assert found == [f"{path}:3:64: phone 100a: phone_pass must be a reference, {{env: NAME}} or {{file: PATH}}, "
                     "never the password itself: secrets are references so that they never sit in git"]
    assert value.strip('"[]') not in found[0]


@pytest.mark.parametrize("value, message", [
    ("{env: A, file: b}", "3:75: phone 100a: registration_password must be exactly one of {env: NAME} or {file: PATH}"),
    ("{}", "3:75: phone 100a: registration_password must be exactly one of {env: NAME} or {file: PATH}"),
    ("{value: x}", "3:76: unknown key 'value' in phone 100a: registration_password (expected one of: env, file)"),
    ("{env: 1PASS}", "3:81: phone 100a: registration_password.env '1PASS' must be an environment variable name: "
                     "letters, digits and '_', not starting with a digit"),
    ("{file: ''}", "3:82: phone 100a: registration_password.file: '' should be non-empty"),
    ("~", "3:75: phone 100a: registration_password has no value (null); expected a mapping"),
])
def test_a_reference_is_one_env_or_one_file(tmp_path, value, message):
    path = phone_file(tmp_path, f"  100a: {{extension: \"100\", server_ip: 10.10.10.15, "
                                f"registration_password: {value}}}\n")
    assert problems(path) == [f"{path}:{message}"]


def test_a_reference_that_cannot_be_read_is_one_line_naming_it_never_the_value(tmp_path, monkeypatch):
    monkeypatch.setenv("EMPTY_PASS", "")
    monkeypatch.setenv("SPACED_PASS", "has space1")
    monkeypatch.setenv("LONG_PASS", "x" * 31)
    write(tmp_path, "secrets/empty", "")
    write(tmp_path, "secrets/two-lines", "abc123\nabc123\n")
    write(tmp_path, "secrets/accented", "pässword\n")
    (tmp_path / "secrets" / "dir").mkdir()
    path = write(tmp_path, "a.yaml", """\
version: 1
phones:
  p1: {extension: "101", server_ip: 10.10.10.15, phone_pass: {env: NOT_SET_ANYWHERE}}
  p2: {extension: "102", server_ip: 10.10.10.15, phone_pass: {env: EMPTY_PASS}}
  p3: {extension: "103", server_ip: 10.10.10.15, phone_pass: {env: SPACED_PASS}}
  p4: {extension: "104", server_ip: 10.10.10.15, phone_pass: {env: LONG_PASS}}
  p5: {extension: "105", server_ip: 10.10.10.15, registration_password: {file: secrets/missing}}
  p6: {extension: "106", server_ip: 10.10.10.15, registration_password: {file: secrets/empty}}
  p7: {extension: "107", server_ip: 10.10.10.15, registration_password: {file: secrets/two-lines}}
  p8: {extension: "108", server_ip: 10.10.10.15, registration_password: {file: secrets/accented}}
  p9: {extension: "109", server_ip: 10.10.10.15, registration_password: {file: secrets/dir}}
""")
    rule = "must hold 2 to 30 characters of letters, digits, '-' and '_'"
    secret_dir = tmp_path / "secrets"
    found = problems(path)
    assert found == [
        f"{path}:3:62: phone p1: phone_pass: environment variable NOT_SET_ANYWHERE is not set",
        f"{path}:4:62: phone p2: phone_pass: environment variable EMPTY_PASS is empty",
        f"{path}:5:62: phone p3: phone_pass: environment variable SPACED_PASS {rule}",
        f"{path}:6:62: phone p4: phone_pass: environment variable LONG_PASS {rule}",
        f"{path}:7:73: phone p5: registration_password: cannot read file {secret_dir / 'missing'}: "
        "No such file or directory",
        f"{path}:8:73: phone p6: registration_password: file {secret_dir / 'empty'} is empty",
        f"{path}:9:73: phone p7: registration_password: file {secret_dir / 'two-lines'} {rule} "
        "(one line end after them is allowed)",
        f"{path}:10:73: phone p8: registration_password: file {secret_dir / 'accented'} {rule} "
        "(one line end after them is allowed)",
        f"{path}:11:73: phone p9: registration_password: file {secret_dir / 'dir'} is not a regular file",
    ]
    for secret in ("has space1", "x" * 31, "abc123", "pässword"):
        assert not any(secret in line for line in found)


def test_a_file_reference_is_relative_to_the_file_that_names_it(tmp_path):
    # phone_defaults in shared/defaults.yaml names secrets/sip (shared/secrets/sip); the phones in
    # site/phones.yaml take it from there, not from their own directory.
    write(tmp_path, "shared/secrets/sip", "sipSecret_1\n")
    defaults = write(tmp_path, "shared/defaults.yaml",
                     "version: 1\nphone_defaults:\n  registration_password: {file: secrets/sip}\n")
    phones = write(tmp_path, "site/phones.yaml",
                   "version: 1\nphones:\n  100a: {extension: \"100\", server_ip: 10.10.10.15}\n")
    phone = loader.load([defaults, phones]).phones[0]
    ref = SecretRef("file", str(tmp_path / "shared" / "secrets" / "sip"))
    assert phone.secrets == {"registration_password": ref}
    # what the planner and the applier call, wherever they run from
    assert secrets.resolve(ref, field="registration_password") == "sipSecret_1"


def test_resolve_reads_the_value_and_registers_it_so_no_output_carries_it(tmp_path):
    write(tmp_path, "pass.txt", "fileSecret_9\r\n")
    assert secrets.resolve(SecretRef("env", "AGENT_PHONE_PASS")) == "agentPass_1"
    assert secrets.resolve(SecretRef("file", "pass.txt"), str(tmp_path), field="registration_password") \
        == "fileSecret_9"
    assert redaction.redact("sent agentPass_1 and fileSecret_9") == "sent *** and ***"
    assert redaction.labels_in(["agentPass_1", "fileSecret_9"]) == ["phone password", "registration password"]


def test_resolve_fails_with_one_line_and_registers_nothing(tmp_path):
    with pytest.raises(secrets.SecretError) as caught:
        secrets.resolve(SecretRef("env", "NOT_SET_ANYWHERE"))
    assert str(caught.value) == "environment variable NOT_SET_ANYWHERE is not set"
    with pytest.raises(secrets.SecretError) as caught:
        secrets.resolve(SecretRef("file", "nope"), str(tmp_path))
    assert str(caught.value) == f"cannot read file {tmp_path / 'nope'}: No such file or directory"
    assert redaction.labels_in(["agentPass_1"]) == []


def test_the_loader_never_registers_nor_keeps_a_value(tmp_path):
    path = phone_file(tmp_path, "  100a: {extension: \"100\", server_ip: 10.10.10.15, "
                                "phone_pass: {env: AGENT_PHONE_PASS}}\n")
    desired = loader.load([path])
    assert "agentPass_1" not in repr(desired)
    assert redaction.labels_in(["agentPass_1"]) == []


# ------------------------------------------------------------------ across files and kinds

def test_a_login_declared_twice_in_other_case_names_both_places(tmp_path):
    a = write(tmp_path, "a.yaml", "version: 1\nphones:\n  100a: {extension: \"100\", server_ip: 10.10.10.15}\n")
    b = write(tmp_path, "b.yaml", "version: 1\nphones:\n  100A: {ensure: absent}\n")
    assert problems(a, b) == [f"{b}:3:3: phone 100A is declared twice (case-insensitively); first at {a}:3:3"]


def test_a_login_that_is_an_alias_id_names_both_places(tmp_path):
    # An agent typing `sales1` would get the alias: the phone could never be logged into by name.
    a = write(tmp_path, "a.yaml", "version: 1\naliases:\n  sales1: {alias_name: Sales, phone_logins: [100a, 100b]}\n"
                                  "  old1: {ensure: absent}\n")
    b = write(tmp_path, "b.yaml", "version: 1\nphones:\n  SALES1: {extension: \"100\", server_ip: 10.10.10.15}\n"
                                  "  OLD1: {extension: \"101\", server_ip: 10.10.10.15}\n")
    assert problems(a, b) == [
        f"{b}:3:3: phone SALES1 has the login of alias sales1 at {a}:3:3 (case-insensitively); agents typing it "
        "would get the alias, never this phone"]


def test_one_extension_on_one_server_twice_names_both_places(tmp_path):
    path = phone_file(tmp_path, "  100a: {extension: ext100, server_ip: 10.10.10.15}\n"
                                "  100b: {extension: EXT100, server_ip: 10.10.10.15}\n"
                                "  100c: {extension: ext100, server_ip: 10.10.10.16}\n")
    assert problems(path) == [
        f"{path}:4:3: phone 100b has extension EXT100 on server 10.10.10.15, as phone 100a at {path}:3:3; VICIdial "
        "keys a phone by extension and server_ip (extensions case-insensitively)"]


def test_settings_phones_and_phone_defaults_from_several_files_must_agree(tmp_path):
    a = write(tmp_path, "a.yaml", "version: 1\nsettings:\n  phones: {prune: true, ignore: [tmp*]}\n"
                                  "phone_defaults: {protocol: SIP, phone_pass: {env: AGENT_PHONE_PASS}}\n")
    b = write(tmp_path, "b.yaml", "version: 1\nsettings:\n  phones: {prune: false, ignore: [tmp*]}\n"
                                  "phone_defaults: {protocol: IAX2, phone_pass: {env: AGENT_PHONE_PASS}}\n")
    assert problems(a, b) == [
        f"{b}:3:19: settings.phones.prune is false here but true at {a}:3:19; settings from several files must agree",
        f"{b}:4:28: phone_defaults.protocol is \"IAX2\" here but \"SIP\" at {a}:4:28; phone_defaults from several "
        "files must agree",
    ]


def test_declaring_an_ignored_phone_or_deleting_a_protected_one_is_refused(tmp_path):
    path = write(tmp_path, "a.yaml", """\
version: 1
settings:
  phones: {ignore: ["test*"], protected: ["100*"]}
phones:
  TEST1: {extension: "100", server_ip: 10.10.10.15}
  100x: {ensure: absent}
  200x: {ensure: absent}
""")
    assert problems(path) == [
        f"{path}:5:3: phone TEST1 is declared but matches settings.phones.ignore pattern 'test*'; an ignored phone "
        "is never touched",
        f"{path}:6:10: phone 100x has ensure: absent but matches settings.phones.protected pattern '100*'; "
        "protected phones are never deleted",
    ]


def test_settings_phones_rules(tmp_path):
    path = write(tmp_path, "a.yaml", 'version: 1\nsettings:\n  phones: {prune: maybe, ignore: ["t\\t*"], colour: 1}\n')
    assert problems(path) == [
        f"{path}:3:19: settings.phones.prune: 'maybe' is not of type 'boolean'",
        f"{path}:3:35: settings.phones.ignore item 1 't\\t*' contains control character U+0009 (tab)",
        f"{path}:3:44: unknown key 'colour' in settings.phones (expected one of: ignore, protected, prune)",
    ]


# ------------------------------------------------------------------ servers

def test_servers_are_kept_in_the_order_of_their_letters(tmp_path):
    path = write(tmp_path, "a.yaml", "version: 1\nservers:\n  10.10.10.18: aa\n  10.10.10.16: b\n"
                                     "  10.10.10.17: z\n  10.10.10.15: a\n")
    assert list(loader.load([path]).servers.items()) == [
        ("10.10.10.15", "a"), ("10.10.10.16", "b"), ("10.10.10.17", "z"), ("10.10.10.18", "aa")]


def test_server_rules(tmp_path):
    a = write(tmp_path, "a.yaml", """\
version: 1
servers:
  10.10.10.15: a
  10.10.10.16: a
  10.10.10.017: b
  10.10.10.18: B
  10.10.10.19: abc
""")
    b = write(tmp_path, "b.yaml", "version: 1\nservers:\n  10.10.10.15: a\n  10.10.10.20: c\n"
                                  "  10.10.10.21: c\n  10.10.10.15 : d\n")
    assert problems(a, b) == [
        f"{a}:4:16: server 10.10.10.16 has letter a, as server 10.10.10.15 at {a}:3:16; each server needs its own "
        "letter",
        f"{a}:5:3: server '10.10.10.017' must be an IPv4 address, such as 10.10.10.15",
        f"{a}:6:16: server 10.10.10.18: letter 'B' must be one or two lower-case letters (a to z, then aa, ab, ...)",
        f"{a}:7:16: server 10.10.10.19: letter 'abc' must be one or two lower-case letters (a to z, then aa, ab, ...)",
        f"{b}:5:16: server 10.10.10.21 has letter c, as server 10.10.10.20 at {b}:4:16; each server needs its own "
        "letter",
        f"{b}:6:3: duplicate key '10.10.10.15'",
    ]


def test_a_server_has_one_letter_for_good_in_every_file(tmp_path):
    a = write(tmp_path, "a.yaml", "version: 1\nservers:\n  10.10.10.15: a\n  10.10.10.16: b\n")
    b = write(tmp_path, "b.yaml", "version: 1\nservers:\n  10.10.10.15: a\n  10.10.10.16: c\n")
    assert problems(a, b) == [
        f"{b}:4:16: server 10.10.10.16 has letter c here but b at {a}:4:16; a server's letter is for good, "
        "and files must agree"]


# ------------------------------------------------------------------ the command line and the fast path

def test_validate_accepts_phones_and_fails_on_a_bad_one(tmp_path, capsys):
    write(tmp_path, "conf/secrets/sip-secret", "sipSecret_1\n")
    good = write(tmp_path, "conf/desired.yaml", CONTRACT_EXAMPLE)
    assert main(["validate", good]) == 0
    bad = write(tmp_path, "bad.yaml", "version: 1\nphones:\n  100a: {extension: \"100\", server_ip: 10.10.10.15, "
                                      "local_gmt: -5, phone_pass: s3cret}\n")
    capsys.readouterr()
    assert main(["validate", bad]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{bad}:3:63: phone 100a: local_gmt '-5' must be written exactly as VICIdial lists it, in quotes: \"-5.00\"",
        f"{bad}:3:79: phone 100a: phone_pass must be a reference, {{env: NAME}} or {{file: PATH}}, never the password "
        "itself: secrets are references so that they never sit in git",
    ]
    assert "s3cret" not in err


def test_problems_in_phones_are_reported_exactly_as_without_the_fast_path(tmp_path, monkeypatch):
    from aliassync.files.fast_accept import FastAccept

    path = write(tmp_path, "a.yaml", """\
version: 1
settings: {prune: true, phones: {prune: true}}
aliases:
  good1: {alias_name: Good, phone_logins: [100a]}
  bad1: {alias_name: 'B,ad', phone_logins: [100a]}
phones:
  100a: {extension: "100", server_ip: 10.10.10.256, protocol: sip}
servers: {10.10.10.15: A}
stations:
  "200": {alias_name: Desk, servers: none}
""")
    with_fast_path = problems(path)
    monkeypatch.setattr(FastAccept, "unchecked", lambda self, data: data)
    assert problems(path) == with_fast_path
    assert len(with_fast_path) == 5


# ------------------------------------------------------------------ whatever the shape, one line per problem

_TEXT = st.sampled_from(["100a", "100A", "200", "20", "10.10.10.15", "10.10.10.16", "a", "b", "B", "all", "SIP",
                         "-5.00", "-5", "Y", "x y", "", "--BLANK--", "AGENT_PHONE_PASS", "NOT_SET_ANYWHERE",
                         "secrets/x", "sales1", "tmp*", "a\nb"])
_SCALAR = st.one_of(_TEXT, st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=False))
_FIELD = st.sampled_from(["extension", "server_ip", "dialplan_number", "voicemail_id", "phone_full_name", "protocol",
                          "local_gmt", "outbound_cid", "phone_pass", "registration_password", "active", "ensure",
                          "alias_name", "servers", "is_webphone", "env", "file", "prune", "ignore", "protected"])
_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(_FIELD, inner, max_size=3)), max_leaves=8)
_ENTRIES = st.dictionaries(_TEXT, st.one_of(st.dictionaries(_FIELD, _VALUE, max_size=5), _SCALAR), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phones=_ENTRIES, stations=_ENTRIES, servers=st.dictionaries(_TEXT, _SCALAR, max_size=3),
       defaults=st.dictionaries(_FIELD, _VALUE, max_size=4), aliases=st.booleans())
def test_any_shape_of_phones_and_stations_loads_or_fails_with_located_problems(
        tmp_path, phones, stations, servers, defaults, aliases):
    document = {"version": 1, "phones": phones, "stations": stations, "servers": servers, "phone_defaults": defaults}
    if aliases:
        document["aliases"] = {"sales1": {"alias_name": "Sales", "phone_logins": ["100a"]}}
    path = write(tmp_path, "fuzz.yaml", yaml.safe_dump(document))
    try:
        loader.load([path])
    except LoadError as error:
        assert error.problems and all(str(p).startswith(f"{path}:") for p in error.problems)


def test_too_many_phones_are_refused_before_any_is_checked(tmp_path, monkeypatch):
    # Two declared phones and one station on two servers make four phones: one over a limit of three.
    from aliassync.files import phones

    monkeypatch.setattr(phones, "MAX_PHONES", 3)
    path = write(tmp_path, "a.yaml", """\
version: 1
servers: {10.10.10.15: a, 10.10.10.16: b}
phones:
  100a: {extension: "100", server_ip: 10.10.10.15}
  100b: {extension: "100", server_ip: 10.10.10.15}
stations:
  "200": {alias_name: Desk, servers: all}
""")
    assert problems(path) == ["4 phones declared (stations' included); the limit is 3"]


def test_a_file_reference_under_the_working_directory_is_kept_relative_to_it(tmp_path, monkeypatch):
    """Plans and saved plans show the path as the repository names it, never the planning machine's
    checkout path, and apply from the checkout's root (another machine, another path) finds the file."""
    write(tmp_path, "conf/secrets/sip", "sipSecret_1\n")
    path = write(tmp_path, "conf/desired.yaml",
                 "version: 1\nphones:\n  100a:\n    extension: \"100\"\n    server_ip: 10.10.10.15\n"
                 "    registration_password: {file: secrets/sip}\n")
    monkeypatch.chdir(tmp_path)
    assert loader.load([path]).phones[0].secrets == {"registration_password": SecretRef("file", "conf/secrets/sip")}
    assert loader.load(["conf/desired.yaml"]).phones[0].secrets["registration_password"] == \
        SecretRef("file", "conf/secrets/sip")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    # run from elsewhere: the file is outside the working directory, so its path is absolute
    assert loader.load([path]).phones[0].secrets["registration_password"] == \
        SecretRef("file", str(tmp_path / "conf" / "secrets" / "sip"))
