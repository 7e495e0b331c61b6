"""The writer's phone calls (add_phone, update_phone) against a scripted VICIdial over real HTTP.

The same fake as test_api.py: a server on 127.0.0.1 that records every
request (its form fields in order) and answers what each test scripts.
The last test runs the sandbox's emulator instead, as `--sandbox` does.
"""
from __future__ import annotations

import logging
import sqlite3
from contextlib import closing

import httpx
import pytest

from aliassync import redaction
from aliassync.core.model import LiveAlias
from aliassync.core.phone import LivePhone, PhoneChange, PhoneValues, SecretRef
from aliassync.core.plan import Action, AliasValues, Plan
from aliassync.core.target import WriteOutcome
from aliassync.errors import AliassyncError, ApiError, ConfigError
from aliassync.sandbox.emulator import make_app
from aliassync.sandbox.store import init_sandbox, open_store
from aliassync.vicidial.api import ApiClient, ApiWriter
from aliassync.workflow.applier import functions_needed
from aliassync.workflow.targets import SANDBOX_PASS, SANDBOX_URL, SANDBOX_USER

from test_api import USER, line, sent_fields

PHONE_PASS = "Desk-pw_100"
REGISTRATION_PASSWORD = "Sip-secret_7"
PHONE_PASS_REF = SecretRef("env", "AGENT_PHONE_PASS")
REGISTRATION_REF = SecretRef("file", "/run/secrets/sip-secret")
SECRETS = {"phone_pass": PHONE_PASS_REF, "registration_password": REGISTRATION_REF}
VALUES = {PHONE_PASS_REF: PHONE_PASS, REGISTRATION_REF: REGISTRATION_PASSWORD}
# as the files may give them: not in the order VICIdial checks them
FIELDS = {"outbound_cid": "3125550100", "dialplan_number": "100", "voicemail_id": "100", "protocol": "SIP",
          "phone_full_name": "Desk 100", "local_gmt": "-5.00"}
LIVE = LivePhone("100a", "100", "10.10.10.15", {**FIELDS, "active": "Y"})
PASSWORD_FIELDS = {"pass", "phone_pass", "registration_password"}


class Resolver:
    """Gives each reference's value, counting the reads."""

    def __init__(self, values=VALUES):
        self.values = dict(values)
        self.reads: list[SecretRef] = []

    def __call__(self, ref: SecretRef) -> str:
        self.reads.append(ref)
        return self.values[ref]


@pytest.fixture
def resolver():
    return Resolver()


@pytest.fixture
def writer(client, resolver):
    return ApiWriter(client, resolver)


def create(login="100a", extension="100", server_ip="10.10.10.15", fields=FIELDS, secrets=SECRETS):
    return Action(f"create:phone:{login}", "create", login, "declared",
                  after=PhoneValues(login, extension, server_ip, dict(fields), dict(secrets)), resource="phone")


def update(fields, secrets=None, before=LIVE, extension=None, server_ip=None):
    after = PhoneValues(before.login, before.extension if extension is None else extension,
                        before.server_ip if server_ip is None else server_ip, dict(fields), dict(secrets or {}))
    change = PhoneChange(tuple((name, before.fields.get(name, ""), value) for name, value in fields.items()),
                         tuple(secrets or ()))
    return Action(f"update:phone:{before.login}", "update", before.login, "declared", before=before, after=after,
                  change=change, resource="phone")


def delete(before=LIVE):
    return Action(f"delete:phone:{before.login}", "delete", before.login, "prune: not declared", before=before,
                  resource="phone")


# --- what is sent ---------------------------------------------------------------------------

ADDED = "SUCCESS: add_phone PHONE HAS BEEN ADDED - apiuser|100|10.10.10.15|SIP|100"
UPDATED = "SUCCESS: update_phone PHONE HAS BEEN UPDATED - apiuser|100|10.10.10.15|"
DELETED = "SUCCESS: update_phone PHONE HAS BEEN DELETED - apiuser|100|10.10.10.15|"


def test_a_create_sends_add_phone_with_the_passwords_first_then_the_key_login_and_every_field(vicidial, writer):
    vicidial.script(line(ADDED))

    assert writer.write(create()) == WriteOutcome("success", ADDED)

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "add_phone",
        ("phone_pass", PHONE_PASS), ("registration_password", REGISTRATION_PASSWORD),
        ("extension", "100"), ("server_ip", "10.10.10.15"), ("phone_login", "100a"),
        # the fields in the order VICIdial checks them on update (core/phone.COLUMNS)
        ("local_gmt", "-5.00"), ("phone_full_name", "Desk 100"), ("protocol", "SIP"), ("voicemail_id", "100"),
        ("dialplan_number", "100"), ("outbound_cid", "3125550100"),
    )


def test_an_update_sends_exactly_the_fields_that_change_keyed_by_extension_and_server(vicidial, writer, resolver):
    vicidial.script(line(UPDATED))

    assert writer.write(update({"phone_full_name": "Desk 100 east"})) == WriteOutcome("success", UPDATED)

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone", ("extension", "100"), ("server_ip", "10.10.10.15"), ("phone_full_name", "Desk 100 east"))
    assert resolver.reads == []      # no password changes: none is read


def test_an_update_of_the_login_and_a_password_sends_them_with_the_key(vicidial, writer):
    vicidial.script(line(UPDATED))

    writer.write(update({"phone_login": "100A", "active": "N"}, secrets={"phone_pass": PHONE_PASS_REF}))

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone", ("phone_pass", PHONE_PASS), ("extension", "100"), ("server_ip", "10.10.10.15"),
        ("phone_login", "100A"), ("active", "N"))


def test_an_update_of_only_a_password_ends_with_the_key_not_the_password(vicidial, writer):
    vicidial.script(line(UPDATED))

    writer.write(update({}, secrets={"registration_password": REGISTRATION_REF}))

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone", ("registration_password", REGISTRATION_PASSWORD), ("extension", "100"),
        ("server_ip", "10.10.10.15"))


def test_an_update_the_plan_gives_no_key_in_after_is_keyed_by_before(vicidial, writer):
    vicidial.script(line(UPDATED))

    writer.write(update({"active": "N"}, extension="", server_ip=""))

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone", ("extension", "100"), ("server_ip", "10.10.10.15"), ("active", "N"))


def test_the_follow_up_update_of_a_create_is_keyed_by_after(vicidial, writer):
    # add_phone stores active Y: the plan sets a phone declared inactive with an update right after
    follow_up = Action("update:phone:100a", "update", "100a", "declared inactive: add_phone stores Y",
                       after=PhoneValues("100a", "100", "10.10.10.15", {"active": "N"}), resource="phone")
    vicidial.script(line(UPDATED))

    writer.write(follow_up)

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone", ("extension", "100"), ("server_ip", "10.10.10.15"), ("active", "N"))


def test_a_delete_sends_the_key_it_saw_and_a_capital_y(vicidial, writer):
    vicidial.script(line(DELETED))

    assert writer.write(delete()) == WriteOutcome("success", DELETED)

    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone", ("extension", "100"), ("server_ip", "10.10.10.15"), ("delete_phone", "Y"))


def test_aliases_are_written_as_before(vicidial, writer):
    added = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|sales1|Sales floor 1|100a,100b"
    vicidial.script(line(added))

    outcome = writer.write(Action("create:sales1", "create", "sales1", "declared",
                                  after=AliasValues("sales1", "Sales floor 1", ("100a", "100b"))))

    assert outcome == WriteOutcome("success", added)
    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "add_phone_alias", ("alias_id", "sales1"), ("alias_name", "Sales floor 1"), ("phone_logins", "100a,100b"))


def test_no_call_of_any_kind_ends_with_a_password(vicidial, writer):
    """VICIdial logs the value of the last POST field (vicidial_api_log.value)."""
    actions = [create(), create(fields={}), update({"active": "N"}, secrets=SECRETS),
               update({}, secrets={"phone_pass": PHONE_PASS_REF}), delete()]
    vicidial.script(*[line(UPDATED)] * len(actions))

    for action in actions:
        writer.write(action)

    assert len(vicidial.requests) == len(actions)
    assert [request.fields[-1][0] for request in vicidial.requests] == [
        "outbound_cid", "phone_login", "active", "server_ip", "delete_phone"]
    assert not PASSWORD_FIELDS & {request.fields[-1][0] for request in vicidial.requests}


def test_the_client_refuses_to_send_a_password_last(vicidial, client):
    with pytest.raises(AliassyncError) as refused:
        client.call("update_phone", extension="100", server_ip="10.10.10.15", phone_pass=PHONE_PASS)

    assert str(refused.value) == ("refusing to send update_phone with the password field phone_pass last (a bug): "
                                  "VICIdial logs the last field's value; nothing was sent")
    assert vicidial.requests == []


# --- never an update that changes nothing ------------------------------------------------------

EMPTY_UPDATE = ("phone 100a: refusing to send update_phone with nothing to change (a bug in the plan): "
                "update_phone writes and flags the server for an Asterisk rebuild even then; nothing was sent")


@pytest.mark.parametrize("after", [PhoneValues("100a", "100", "10.10.10.15"), None], ids=["no field", "no after"])
def test_an_update_that_changes_nothing_is_refused_before_anything_is_sent(vicidial, writer, resolver, after):
    action = Action("update:phone:100a", "update", "100a", "declared", before=LIVE, after=after, resource="phone")

    with pytest.raises(AliassyncError) as refused:
        writer.write(action)

    assert str(refused.value) == EMPTY_UPDATE
    assert vicidial.requests == []
    assert resolver.reads == []


def test_an_update_with_an_empty_value_is_refused_as_update_phone_would_ignore_it(vicidial, writer):
    with pytest.raises(AliassyncError) as refused:
        writer.write(update({"email": ""}))

    assert str(refused.value) == (
        "phone 100a: refusing to send update_phone with an empty email (a bug in the plan): update_phone ignores "
        "an empty value (it empties a column only for --BLANK--); nothing was sent")
    assert vicidial.requests == []


def test_an_update_cannot_move_a_phone(vicidial, writer):
    with pytest.raises(AliassyncError) as refused:
        writer.write(update({"active": "N"}, server_ip="10.10.10.16"))

    assert str(refused.value) == (
        "phone 100a: the update would move the phone from extension 100 on 10.10.10.15 to 100 on 10.10.10.16, "
        "which update_phone cannot do (a bug in the plan); nothing was sent")
    assert vicidial.requests == []


@pytest.mark.parametrize("action, message", [
    (create(fields={**FIELDS, "phone_pass": "literal"}),
     "phone 100a: the create carries phone_pass, not a field aliassync sends to add_phone (a bug in the plan); "
     "nothing was sent"),
    (update({"server_ip": "10.10.10.16"}),
     "phone 100a: the update carries server_ip, not a field aliassync sends to update_phone (a bug in the plan); "
     "nothing was sent"),
], ids=["a password as a plain field", "a key field"])
def test_a_field_no_call_takes_is_refused(vicidial, writer, action, message):
    with pytest.raises(AliassyncError) as refused:
        writer.write(action)

    assert str(refused.value) == message
    assert vicidial.requests == []


# --- passwords: resolved by reference, registered, never shown -------------------------------

def test_without_a_way_to_read_passwords_a_create_names_the_reference_and_sends_nothing(vicidial, client):
    with pytest.raises(ConfigError) as refused:
        ApiWriter(client).write(create())

    assert str(refused.value) == ("cannot read the password {env: AGENT_PHONE_PASS}: this API writer was given no "
                                  "way to read password references (a bug); nothing was sent")
    assert vicidial.requests == []


def test_a_password_vicidial_would_not_keep_as_written_is_refused_and_still_masked(vicidial, client):
    writer = ApiWriter(client, Resolver({PHONE_PASS_REF: "desk pw!", REGISTRATION_REF: REGISTRATION_PASSWORD}))

    with pytest.raises(ConfigError) as refused:
        writer.write(create())

    assert str(refused.value) == ("phone 100a: the phone password {env: AGENT_PHONE_PASS} must be 2 to 30 "
                                  "characters of letters, digits, '-' and '_'; nothing was sent")
    assert vicidial.requests == []
    assert redaction.redact("proxy said: desk pw!") == "proxy said: ***"


def test_each_resolved_password_is_registered_under_its_name_and_read_once(vicidial, writer, resolver):
    vicidial.script(line(ADDED), line(ADDED.replace("100a", "101a")))

    writer.write(create())
    writer.write(create("101a", "101"))

    assert resolver.reads == [PHONE_PASS_REF, REGISTRATION_REF]
    assert redaction.labels_in([PHONE_PASS, REGISTRATION_PASSWORD]) == ["phone password", "registration password"]


def required_fields(user=USER, login="100a", phone_pass=PHONE_PASS, registration=REGISTRATION_PASSWORD):
    """add_phone's echo when a required field is missing (here: `sip`, which VICIdial refuses in lower case)."""
    return (f"ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |{user}|100|100|100|{login}|{phone_pass}"
            f"|10.10.10.15|sip|{registration}|Desk 100|-5.00|3125550100")


def test_the_required_fields_echo_has_exactly_its_two_password_fields_masked(vicidial, writer, caplog):
    caplog.set_level(logging.DEBUG)
    vicidial.script(line(required_fields()))

    outcome = writer.write(create(fields={**FIELDS, "protocol": "sip"}))

    masked = required_fields(phone_pass="***", registration="***")
    assert outcome == WriteOutcome("refused", masked, final=True)
    assert f"api add_phone: {masked}" in caplog.messages
    assert PHONE_PASS not in caplog.text and REGISTRATION_PASSWORD not in caplog.text


def test_a_login_equal_to_a_password_is_data_and_stays_readable(vicidial, client):
    """Only the places that hold a password are masked: a login `1234` equal to a phone password stays."""
    ref = SecretRef("env", "DEFAULT_PASS")
    writer = ApiWriter(client, Resolver({ref: "1234", REGISTRATION_REF: REGISTRATION_PASSWORD}))
    vicidial.script(line(required_fields(login="1234", phone_pass="1234")))

    outcome = writer.write(create("1234", fields={**FIELDS, "protocol": "sip"},
                                  secrets={"phone_pass": ref, "registration_password": REGISTRATION_REF}))

    assert outcome.answer == required_fields(login="1234", phone_pass="***", registration="***")
    assert redaction.labels_in(["1234"]) == ["phone password"]   # registered all the same


def test_an_empty_password_field_of_the_echo_stays_empty(vicidial, writer):
    """It holds no password, and it is the field the answer complains of."""
    echo = required_fields(registration="")
    vicidial.script(line(echo))

    outcome = writer.write(create())

    assert outcome.answer == required_fields(phone_pass="***", registration="")


def test_an_echo_of_another_shape_has_every_registered_secret_masked(vicidial, writer):
    vicidial.script(line(required_fields() + "|extra"))

    outcome = writer.write(create())

    assert outcome.answer == required_fields(phone_pass="***", registration="***") + "|extra"


@pytest.mark.parametrize("reason, value", [
    ("YOU MUST USE A VALID PHONE PASSWORD", "x"),
    ("YOU MUST USE A VALID REGISTRATION PASSWORD", "y"),
])
def test_update_phone_refusing_a_password_has_the_echoed_value_masked(vicidial, writer, reason, value):
    vicidial.script(line(f"ERROR: update_phone {reason}: |{USER}|{value}"))

    outcome = writer.write(update({}, secrets={"phone_pass": PHONE_PASS_REF}))

    assert outcome == WriteOutcome("refused", f"ERROR: update_phone {reason}: |{USER}|***", final=True)


# --- what an answer means -------------------------------------------------------------------

OUTCOMES = {  # action, answer, what the writer reports
    # only the state tells whether the goal is met (after a lost answer, the first call usually landed)
    "extension taken on the server": (
        create(), "ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |apiuser|10.10.10.15|100",
        dict(settle_by_state=True)),
    "login taken": (create(), "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |apiuser|100a", dict(settle_by_state=True)),
    "update of a phone not there": (
        update({"active": "N"}), "ERROR: update_phone PHONE DOES NOT EXIST ON THIS SERVER: |apiuser|10.10.10.15|100",
        dict(settle_by_state=True)),
    "delete of a phone not there": (
        delete(), "ERROR: update_phone PHONE DOES NOT EXIST ON THIS SERVER: |apiuser|10.10.10.15|100",
        dict(settle_by_state=True)),
    # sending the same call again cannot help
    "add on an unknown server": (create(), "ERROR: add_phone SERVER DOES NOT EXIST: |apiuser|10.10.10.15",
                                 dict(final=True)),
    "update on an unknown server": (update({"active": "N"}),
                                    "ERROR: update_phone SERVER DOES NOT EXIST: |apiuser|10.10.10.15",
                                    dict(final=True)),
    "bad time zone": (create(), "ERROR: add_phone YOU MUST USE A VALID TIMEZONE: |apiuser|-5.5", dict(final=True)),
    "unknown template": (
        create(), "ERROR: add_phone TEMPLATE ID DOES NOT EXIST, THIS IS AN OPTIONAL FIELD: |apiuser|100a|SIPX",
        dict(final=True)),
    "update_phone's login check": (update({"phone_login": "100b"}),
                                   "ERROR: update_phone LOGIN ALREADY EXISTS: |apiuser|100b", dict(final=True)),
    "active not Y or N": (
        update({"active": "N"}), "ERROR: update_phone ACTIVE MUST BE Y OR N, THIS IS AN OPTIONAL FIELD: |apiuser|YES",
        dict(final=True)),
    "short caller id": (
        update({"outbound_cid": "123"}),
        "ERROR: update_phone OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS, THIS IS AN OPTIONAL FIELD: |apiuser|123",
        dict(final=True)),
    "bad phone name": (update({"phone_full_name": "D"}),
                       "ERROR: update_phone YOU MUST USE A VALID PHONE NAME: |apiuser|D", dict(final=True)),
    # every later call would meet these too: the run stops
    "no right to add phones": (
        create(), "ERROR: add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES: |apiuser|0",
        dict(fatal=True, final=True)),
    "no right to update phones": (
        update({"active": "N"}), "ERROR: update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES: |apiuser|0",
        dict(fatal=True, final=True)),
    "function not allowed": (
        create(), "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|add_phone|",
        dict(fatal=True, final=True)),
    "no right to delete: a NOTICE, yet nothing deleted": (
        delete(), "NOTICE: update_phone USER DOES NOT HAVE PERMISSION TO DELETE PHONES: |apiuser|0",
        dict(fatal=True, final=True)),
}


@pytest.mark.parametrize("action, answer, flags", OUTCOMES.values(), ids=OUTCOMES.keys())
def test_a_phone_refusal_is_reported_for_what_it_means(vicidial, writer, action, answer, flags):
    vicidial.script(line(answer))

    assert writer.write(action) == WriteOutcome("refused", answer, **flags)


# --- probes ---------------------------------------------------------------------------------

PHONES = {"add_phone": "1 phone create(s)", "update_phone": "1 phone update(s), 1 phone delete(s)"}


def test_functions_needed_names_the_phone_functions_and_what_needs_them():
    plan = Plan((
        Action("create:sales1", "create", "sales1", "declared", after=AliasValues("sales1", "Sales", ("100a",))),
        Action("update:old7", "update", "old7", "declared", before=LiveAlias("old7", "Old", "100b"),
               after=AliasValues("old7", "Old", ("100a",))),
        create(), create("101a", "101"), update({"active": "N"}), delete(LivePhone("102a", "102", "10.10.10.15")),
        delete(LivePhone("103a", "103", "10.10.10.15")),
    ))

    assert functions_needed(plan) == {
        "add_phone_alias": "1 create(s)", "update_phone_alias": "1 update(s)",
        "add_phone": "2 phone create(s)", "update_phone": "1 phone update(s), 2 phone delete(s)"}
    assert functions_needed(Plan((delete(),))) == {"update_phone": "1 phone delete(s)"}


def test_check_access_takes_the_no_field_answers_of_add_phone_and_update_phone_as_allowed(vicidial, client):
    vicidial.script(line("ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |apiuser|||||||||||"),
                    line("ERROR: update_phone YOU MUST USE ALL REQUIRED FIELDS: |apiuser||"))

    assert client.check_access(PHONES) is None
    assert [r.fields for r in vicidial.requests] == [sent_fields("add_phone"), sent_fields("update_phone")]


PROBE_REFUSALS = {
    "add_phone not allowed": (
        ["ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|add_phone|"],
        "apply refused, nothing written: user apiuser may not call add_phone, which the plan needs for "
        "1 phone create(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|add_phone|"),
    "no right to add phones": (
        ["ERROR: add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES: |apilow|0"],
        "apply refused, nothing written: user apiuser may not call add_phone, which the plan needs for "
        "1 phone create(s): ERROR: add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES: |apilow|0"),
    "update_phone not allowed": (
        ["ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |apiuser|||||||||||",
         "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|update_phone|"],
        "apply refused, nothing written: user apiuser may not call update_phone, which the plan needs for "
        "1 phone update(s), 1 phone delete(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: "
        "|apiuser|update_phone|"),
    "no right to update phones": (
        ["ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |apiuser|||||||||||",
         "ERROR: update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES: |apilow|0"],
        "apply refused, nothing written: user apiuser may not call update_phone, which the plan needs for "
        "1 phone update(s), 1 phone delete(s): ERROR: update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES: "
        "|apilow|0"),
}


@pytest.mark.parametrize("answers, message", PROBE_REFUSALS.values(), ids=PROBE_REFUSALS.keys())
def test_check_access_names_the_phone_function_refused_and_what_needs_it(vicidial, client, answers, message):
    vicidial.script(*[line(answer) for answer in answers])

    with pytest.raises(ApiError) as refused:
        client.check_access(PHONES)

    assert str(refused.value) == message
    assert len(vicidial.requests) == len(answers)


# --- end to end, against the sandbox's emulator -----------------------------------------------

def test_a_phone_is_created_updated_and_deleted_through_the_emulator(tmp_path):
    path = str(tmp_path / "sandbox.db")
    init_sandbox(path, [{"login": "100a"}])           # one server: 10.0.0.1
    store = open_store(path)
    client = ApiClient(SANDBOX_URL, SANDBOX_USER, SANDBOX_PASS, transport=httpx.WSGITransport(app=make_app(store)),
                       password_is_public=True)
    writer = ApiWriter(client, Resolver())
    fields = {**FIELDS, "dialplan_number": "200", "voicemail_id": "200", "phone_full_name": "Desk 200"}
    live = LivePhone("200a", "200", "10.0.0.1", fields)

    def row():
        with closing(sqlite3.connect(path)) as db:
            return db.execute("SELECT login, pass, conf_secret, fullname, dialplan_number, local_gmt, active "
                              "FROM phones WHERE extension = '200'").fetchall()

    created = writer.write(create("200a", "200", "10.0.0.1", fields))
    assert created == WriteOutcome("success", "SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200|10.0.0.1|SIP|200")
    assert row() == [("200a", PHONE_PASS, REGISTRATION_PASSWORD, "Desk 200", "200", "-5.00", "Y")]

    updated = writer.write(update({"phone_full_name": "Desk 200 east"}, before=live))
    assert updated == WriteOutcome("success", "SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|200|10.0.0.1|")
    assert row() == [("200a", PHONE_PASS, REGISTRATION_PASSWORD, "Desk 200 east", "200", "-5.00", "Y")]

    deleted = writer.write(delete(live))
    assert deleted == WriteOutcome("success", "SUCCESS: update_phone PHONE HAS BEEN DELETED - 6666|200|10.0.0.1|")
    assert row() == []
    client.close()

    with closing(sqlite3.connect(path)) as db:
        log = db.execute("SELECT event_section, event_type, record_id, event_code, user FROM vicidial_admin_log "
                         "ORDER BY admin_log_id").fetchall()
    assert log == [("PHONES", "ADD", "200", "ADMIN API ADD PHONE", "6666"),
                   ("PHONES", "MODIFY", "200", "ADMIN API UPDATE PHONE", "6666"),
                   ("PHONES", "DELETE", "200", "ADMIN API DELETE PHONE", "6666")]
