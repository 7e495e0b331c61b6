"""The sandbox's add_phone and update_phone, answer line by answer line against vicidial-api.md.

Each row sets up one dialer (five servers, a few phones, a template, an
alias and an agent that name a phone), sends one request, and checks the
exact body and HTTP status, then every table a phone call can touch, read
on a plain connection: every column of every phone, the admin log and each
server's rebuild flag (and that aliases and agents are left alone). A row
that writes says exactly what; every other row must leave every table as it
was. Every row runs on both stores: a SQLite file and a real MariaDB database.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping

import httpx
import pymysql
import pytest

from aliassync.core.model import LiveAlias
from aliassync.sandbox.emulator import make_app
from aliassync.sandbox.store import Store, init_mysql, init_sandbox, open_store
from aliassync.vicidial.db_url import parse_db_url

API = "/vicidial/non_agent_api.php"
CREDENTIALS = {"source": "test", "user": "6666", "pass": "1234"}

S15, S16, S17, S18, S19 = (f"10.10.10.{n}" for n in range(15, 20))
SERVERS = [
    {"server_ip": S15, "server_id": "dial15"},
    {"server_ip": S16, "server_id": "dial16"},
    {"server_ip": S17, "server_id": "dial17", "active": "N"},                  # add_phone accepts it all the same
    {"server_ip": S18, "server_id": "dial18", "generate_vicidial_conf": "N"},  # a write does not flag it
    {"server_ip": S19, "server_id": "dial19", "active_asterisk_server": "N"},  # nor this one
]
LONG_EXTENSION = "e" * 100
PHONES = [
    {"login": "100a", "extension": "100a", "server_ip": S15, "dialplan_number": "1000", "voicemail_id": "100",
     "pass": "Pw100", "conf_secret": "Reg100", "fullname": "Desk 100a", "outbound_cid": "5550001000",
     "email": "desk@example.com"},
    {"login": "100b", "extension": "100b", "server_ip": S15},
    {"login": "100c", "extension": "100c", "server_ip": S15},
    {"login": "500b", "extension": "500", "server_ip": S16},      # another extension on another server
    {"login": "100a2", "extension": "100a", "server_ip": S16},    # 100a's extension on another server
    {"login": "700a", "extension": "700", "server_ip": S15, "user_group": "SECRET"},
    {"login": "800a", "extension": "800", "server_ip": S18},
    {"login": "900a", "extension": "900", "server_ip": S19},
    {"login": "longext", "extension": LONG_EXTENSION, "server_ip": S15},
]
TEMPLATES = ["SIPbasic"]
ALIASES = [LiveAlias("agent7", "Agent 7", "100a,100b,100c")]
AGENTS = [{"user": "agent7", "phone_login": "100c"}]

# --------------------------------------------------------------------------
# The requests and what they write

ADD = {"function": "add_phone", "extension": "200a", "dialplan_number": "2000", "voicemail_id": "200",
       "phone_login": "200a", "phone_pass": "Pw200a", "server_ip": S15, "protocol": "SIP",
       "registration_password": "Reg200a", "phone_full_name": "Desk 200", "local_gmt": "-5.00",
       "outbound_cid": "5551234567"}
# Every column of the row ADD writes: its fields, then VICIdial's table defaults (vicidial-api.md).
ADDED_ROW = {
    "extension": "200a", "dialplan_number": "2000", "voicemail_id": "200", "phone_ip": None, "computer_ip": None,
    "server_ip": S15, "login": "200a", "pass": "Pw200a", "status": "ACTIVE", "active": "Y", "phone_type": None,
    "fullname": "Desk 200", "company": None, "protocol": "SIP", "local_gmt": "-5.00",
    "install_directory": "/usr/local/perl_TK", "outbound_cid": "5551234567", "email": "", "template_id": "",
    "phone_context": "default", "phone_ring_timeout": 60, "conf_secret": "Reg200a", "delete_vm_after_email": "N",
    "is_webphone": "N", "use_external_server_ip": "N", "on_hook_agent": "N", "webphone_auto_answer": "Y",
    "user_group": "---ALL---", "outbound_alt_cid": "",
}
ADDED = f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S15}|SIP|2000\n"
REQUIRED_ORDER = ("extension", "dialplan_number", "voicemail_id", "phone_login", "phone_pass", "server_ip",
                  "protocol", "registration_password", "phone_full_name", "local_gmt", "outbound_cid")
NO_ADD_PERMISSION = "ERROR: add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES: |6666|0\n"
ADD_TIMEZONE = "ERROR: add_phone YOU MUST USE A VALID TIMEZONE: |6666|"

UPDATE = {"function": "update_phone", "extension": "100a", "server_ip": S15}
UPDATED = f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|100a|{S15}|\n"
DELETED = f"SUCCESS: update_phone PHONE HAS BEEN DELETED - 6666|100a|{S15}|\n"
NO_UPDATE_PERMISSION = "ERROR: update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES: |6666|0\n"
OPTIONAL = ", THIS IS AN OPTIONAL FIELD"


def required(**fields: str) -> str:
    """add_phone's REQUIRED FIELDS line for ADD with `fields` changed (the values as filtered)."""
    values = {**ADD, **fields}
    return ("ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |6666|"
            + "|".join(values[name] for name in REQUIRED_ORDER) + "\n")


def update_error(reason: str, data: str) -> str:
    return f"ERROR: update_phone {reason}: |6666|{data}\n"


@dataclass(frozen=True)
class Writes:
    """What one call writes: one phone row, one admin log row, and the servers it flags for a rebuild."""

    key: tuple[str, str]                     # the phone's (extension, server_ip), as stored
    columns: Mapping[str, Any] | None        # a new row whole; an updated row's changed columns; None: deleted
    event: tuple[str, str, str]              # admin log: event_type, record_id, event_code
    rebuilt: tuple[str, ...]
    new: bool = False


def added(rebuilt: tuple[str, ...] | None = None, **columns: Any) -> Writes:
    row = {**ADDED_ROW, **columns}
    return Writes((row["extension"], row["server_ip"]), row, ("ADD", row["extension"], "ADMIN API ADD PHONE"),
                  (row["server_ip"],) if rebuilt is None else rebuilt, new=True)


def updated(key: tuple[str, str] = ("100a", S15), record: str | None = None,
            rebuilt: tuple[str, ...] | None = None, **columns: Any) -> Writes:
    """Every update also sets install_directory=''."""
    return Writes(key, {"install_directory": "", **columns}, ("MODIFY", record or key[0], "ADMIN API UPDATE PHONE"),
                  (key[1],) if rebuilt is None else rebuilt)


def deleted(key: tuple[str, str] = ("100a", S15), rebuilt: tuple[str, ...] | None = None) -> Writes:
    return Writes(key, None, ("DELETE", key[0], "ADMIN API DELETE PHONE"), (key[1],) if rebuilt is None else rebuilt)


@dataclass(frozen=True)
class Setup:
    """The API user's columns changed, and its group's admin_viewable_groups."""

    user: tuple[tuple[str, Any], ...] = ()
    viewable: str | None = None


def user_with(**columns: Any) -> Setup:
    return Setup(user=tuple(columns.items()))


RESTRICTED = Setup(viewable=" ADMIN -")     # as the admin screen stores a list: ADMIN only


@dataclass(frozen=True)
class Row:
    id: str
    params: Mapping[str, str | None]
    body: str
    writes: Writes | None = None             # None: nothing is written anywhere
    setup: Setup = Setup()
    status: int = 200


ADD_ROWS = [
    # permission gates, in order: source, api_allowed_functions, the admin rights
    Row("add: source checked before the rights", {**ADD, "source": "x"},
        "ERROR: Invalid Source - x\nERROR: Invalid Source: |x|\n", setup=user_with(user_level=7)),
    Row("add: the function missing from api_allowed_functions (add_phone_alias does not grant it)", ADD,
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|add_phone|\n",
        setup=user_with(api_allowed_functions=" add_phone_alias update_phone ")),
    Row("add: the function listed with spaces around", ADD, ADDED, added(),
        user_with(api_allowed_functions=" add_phone ")),
    Row("add: api_allowed_functions checked before the rights", ADD,
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|add_phone|\n",
        setup=user_with(api_allowed_functions=" update_phone ", user_level=7)),
    Row("add: user_level 7", ADD, NO_ADD_PERMISSION, setup=user_with(user_level=7)),
    Row("add: vdc_agent_api_access 0", ADD, NO_ADD_PERMISSION, setup=user_with(vdc_agent_api_access="0")),
    Row("add: ast_admin_access 0", ADD, NO_ADD_PERMISSION, setup=user_with(ast_admin_access="0")),
    Row("add: modify_phones is not looked at", ADD, ADDED, added(), user_with(modify_phones="0")),
    Row("add: ast_delete_phones is not needed", ADD, ADDED, added(), user_with(ast_delete_phones="0")),

    # YOU MUST USE ALL REQUIRED FIELDS (the filtered values, passwords included)
    Row("probe: add_phone with no fields", {"function": "add_phone"},
        "ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |6666|||||||||||\n"),
    Row("add: extension of 1 character", {**ADD, "extension": "2"}, required(extension="2")),
    Row("add: dialplan_number of 1 character", {**ADD, "dialplan_number": "2"}, required(dialplan_number="2")),
    Row("add: a field of stripped characters only", {**ADD, "phone_full_name": ",#'é"},
        required(phone_full_name="")),
    Row("add: protocol is case-sensitive", {**ADD, "protocol": "sip"}, required(protocol="sip")),
    Row("add: protocol PJSIP is refused", {**ADD, "protocol": "PJSIP"}, required(protocol="PJSIP")),
    Row("add: outbound_cid keeps digits only", {**ADD, "outbound_cid": "none"}, required(outbound_cid="")),
    Row("add: local_gmt keeps [-.0-9] only", {**ADD, "local_gmt": "EST"}, required(local_gmt="")),
    Row("add: phone_pass of stripped characters only", {**ADD, "phone_pass": "!!"}, required(phone_pass="")),

    # SERVER DOES NOT EXIST
    Row("add: a server that does not exist", {**ADD, "server_ip": "10.10.10.99"},
        "ERROR: add_phone SERVER DOES NOT EXIST: |6666|10.10.10.99\n"),
    Row("add: the server checked before the extension", {**ADD, "server_ip": "10.10.10.99", "extension": "100a"},
        "ERROR: add_phone SERVER DOES NOT EXIST: |6666|10.10.10.99\n"),
    Row("add: spaces dropped from server_ip", {**ADD, "server_ip": " 10.10.10.15 "}, ADDED, added()),
    Row("add: an inactive server is accepted", {**ADD, "server_ip": S17},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S17}|SIP|2000\n", added(server_ip=S17)),

    # PHONE ALREADY EXISTS ON THIS SERVER
    Row("add: a taken extension", {**ADD, "extension": "100a"},
        f"ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |6666|{S15}|100a\n"),
    Row("add: a taken extension, compared case-insensitively", {**ADD, "extension": "100A"},
        f"ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |6666|{S15}|100A\n"),
    Row("add: the extension checked before the login", {**ADD, "extension": "100a", "phone_login": "100b"},
        f"ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |6666|{S15}|100a\n"),
    Row("add: a phone hidden from the user's group still exists", {**ADD, "extension": "700"},
        f"ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |6666|{S15}|700\n", setup=RESTRICTED),
    Row("add: the same extension on another server is fine", {**ADD, "extension": "100b", "server_ip": S16},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|100b|{S16}|SIP|2000\n",
        added(extension="100b", server_ip=S16)),

    # PHONE LOGIN ALREADY EXISTS
    Row("add: a taken login", {**ADD, "phone_login": "100a"},
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |6666|100a\n"),
    Row("add: a taken login, compared case-insensitively", {**ADD, "phone_login": "100A"},
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |6666|100A\n"),
    Row("add: a login taken on another server", {**ADD, "phone_login": "500b"},
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |6666|500b\n"),
    Row("add: the login checked before the time zone", {**ADD, "phone_login": "100b", "local_gmt": "99"},
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |6666|100b\n"),
    Row("add: a login equal to an alias id is accepted", {**ADD, "phone_login": "agent7"}, ADDED,
        added(login="agent7")),
    Row("add: a login over 15 characters is stored cut", {**ADD, "phone_login": "abcdefghijklmnoXYZ"}, ADDED,
        added(login="abcdefghijklmno")),

    # YOU MUST USE A VALID TIMEZONE: compared as numbers, stored as sent (filtered, cut to 6)
    Row("probe: extension and login free (local_gmt 99)", {**ADD, "local_gmt": "99"}, f"{ADD_TIMEZONE}99\n"),
    Row("add: local_gmt .5 (0.5 is not on the list)", {**ADD, "local_gmt": ".5"}, f"{ADD_TIMEZONE}.5\n"),
    Row("add: local_gmt --5", {**ADD, "local_gmt": "--5"}, f"{ADD_TIMEZONE}--5\n"),
    Row("add: local_gmt 5.5.5", {**ADD, "local_gmt": "5.5.5"}, f"{ADD_TIMEZONE}5.5.5\n"),
    Row("add: local_gmt 7.77", {**ADD, "local_gmt": "7.77"}, f"{ADD_TIMEZONE}7.77\n"),
    Row("add: the time zone checked before the template", {**ADD, "local_gmt": "99", "template_id": "nosuch"},
        f"{ADD_TIMEZONE}99\n"),
    *(Row(f"add: local_gmt {sent} is stored {stored}", {**ADD, "local_gmt": sent}, ADDED, added(local_gmt=stored))
      for sent, stored in (("-5", "-5"), ("5.5", "5.5"), ("0", "0"), ("-0", "-0"), ("05.50", "05.50"),
                           ("+5.50", "5.50"), ("1e0", "10"), ("0x1", "01"), ("-5.0000000", "-5.000"),
                           ("12.75", "12.75"), ("-12.00", "-12.00"))),

    # TEMPLATE ID DOES NOT EXIST, THIS IS AN OPTIONAL FIELD
    Row("add: a template that does not exist", {**ADD, "template_id": "nosuch"},
        f"ERROR: add_phone TEMPLATE ID DOES NOT EXIST{OPTIONAL}: |6666|200a|nosuch\n"),
    Row("add: a template found case-insensitively, stored as sent", {**ADD, "template_id": "sipBASIC"}, ADDED,
        added(template_id="sipBASIC")),
    Row("add: template --blank-- (any case) is ''", {**ADD, "template_id": "--blank--"}, ADDED, added()),
    Row("add: a one-character template is ignored", {**ADD, "template_id": "X"}, ADDED, added()),

    # PHONE HAS BEEN ADDED: the row written
    Row("phone added", ADD, ADDED, added()),
    Row("add: the webphone options, case-insensitive, stored upper case",
        {**ADD, "is_webphone": "y_api_launch", "webphone_auto_answer": "n", "use_external_server_ip": "y",
         "on_hook_agent": "Y"}, ADDED,
        added(is_webphone="Y_API_LAUNCH", webphone_auto_answer="N", use_external_server_ip="Y", on_hook_agent="Y")),
    Row("add: other webphone values are ignored",
        {**ADD, "is_webphone": "X", "webphone_auto_answer": "YES", "use_external_server_ip": "1",
         "on_hook_agent": "Y_API_LAUNCH"}, ADDED, added()),
    Row("add: phone_context and email given", {**ADD, "phone_context": "agents", "email": "desk@example.com"},
        ADDED, added(phone_context="agents", email="desk@example.com")),
    Row("add: --BLANK-- is stored literally in phone_context and email",
        {**ADD, "phone_context": "--BLANK--", "email": "--BLANK--"}, ADDED,
        added(phone_context="--BLANK--", email="--BLANK--")),
    Row("add: + in email becomes a space", {**ADD, "email": "desk+200@example.com"}, ADDED,
        added(email="desk 200@example.com")),
    Row("add: an apostrophe in email breaks the SQL: HTTP 500, empty body, nothing written",
        {**ADD, "email": "o'brien@example.com"}, "", status=500),
    Row("add: admin_user_group stored unchecked", {**ADD, "admin_user_group": "NOSUCHGROUP"}, ADDED,
        added(user_group="NOSUCHGROUP")),
    Row("add: the fields add_phone ignores",
        {**ADD, "active": "N", "status": "SUSPENDED", "phone_type": "CCagent", "outbound_alt_cid": "5559999999",
         "phone_ring_timeout": "30", "delete_vm_after_email": "Y", "company": "ACME"}, ADDED, added()),
    Row("add: outbound_cid ---ALL--- kept verbatim", {**ADD, "outbound_cid": "---ALL---"}, ADDED,
        added(outbound_cid="---ALL---")),
    Row("add: outbound_cid keeps its digits", {**ADD, "outbound_cid": "(555) 123-4567"}, ADDED,
        added(outbound_cid="5551234567")),
    Row("add: phone_full_name keeps [- +._0-9A-Za-z]", {**ADD, "phone_full_name": "Desk, #1 é+"}, ADDED,
        added(fullname="Desk 1 +")),
    Row("add: voicemail_id --BLANK-- arrives as BLANK", {**ADD, "voicemail_id": "--BLANK--"}, ADDED,
        added(voicemail_id="BLANK")),
    Row("add: dialplan_number keeps * and #", {**ADD, "dialplan_number": "*#9x-"},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S15}|SIP|*#9x\n", added(dialplan_number="*#9x")),
    Row("add: a second phone may share dialplan_number and voicemail_id",
        {**ADD, "dialplan_number": "1000", "voicemail_id": "100"},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S15}|SIP|1000\n",
        added(dialplan_number="1000", voicemail_id="100")),
    Row("add: protocol IAX2", {**ADD, "protocol": "IAX2"},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S15}|IAX2|2000\n", added(protocol="IAX2")),
    Row("add: an extension equal in its first 100 characters to a phone's hits the unique key: HTTP 500",
        {**ADD, "extension": LONG_EXTENSION + "X"}, "", status=500),

    # the rebuild flag: only the phone's server, only if it generates its configuration
    Row("add: on a server with generate_vicidial_conf N, no rebuild flag", {**ADD, "server_ip": S18},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S18}|SIP|2000\n", added(server_ip=S18, rebuilt=())),
    Row("add: on a server with active_asterisk_server N, no rebuild flag", {**ADD, "server_ip": S19},
        f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|{S19}|SIP|2000\n", added(server_ip=S19, rebuilt=())),
]

UPDATE_ROWS = [
    # permission gates
    Row("update: the function missing from api_allowed_functions", UPDATE,
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|update_phone|\n",
        setup=user_with(api_allowed_functions=" update_phone_alias add_phone ")),
    Row("update: the function listed with spaces around", UPDATE, UPDATED, updated(),
        user_with(api_allowed_functions=" update_phone ")),
    Row("update: user_level 7", UPDATE, NO_UPDATE_PERMISSION, setup=user_with(user_level=7)),
    Row("update: vdc_agent_api_access 0", UPDATE, NO_UPDATE_PERMISSION, setup=user_with(vdc_agent_api_access="0")),
    Row("update: ast_admin_access 0", UPDATE, NO_UPDATE_PERMISSION, setup=user_with(ast_admin_access="0")),
    Row("update: delete with user_level 7 is refused as an update", {**UPDATE, "delete_phone": "Y"},
        NO_UPDATE_PERMISSION, setup=user_with(user_level=7)),
    Row("update: modify_phones is not looked at", {**UPDATE, "active": "N"}, UPDATED, updated(active="N"),
        user_with(modify_phones="0")),

    # the key
    Row("probe: update_phone with no fields", {"function": "update_phone"},
        "ERROR: update_phone YOU MUST USE ALL REQUIRED FIELDS: |6666||\n"),
    Row("update: extension of 1 character", {**UPDATE, "extension": "1"},
        update_error("YOU MUST USE ALL REQUIRED FIELDS", f"1|{S15}")),
    Row("update: no server_ip", {**UPDATE, "server_ip": None},
        update_error("YOU MUST USE ALL REQUIRED FIELDS", "100a|")),
    Row("update: a server that does not exist", {**UPDATE, "server_ip": "10.10.10.99"},
        update_error("SERVER DOES NOT EXIST", "10.10.10.99")),
    Row("update: a phone that does not exist", {**UPDATE, "extension": "100z"},
        update_error("PHONE DOES NOT EXIST ON THIS SERVER", f"{S15}|100z")),
    Row("update: an extension that exists on another server only", {**UPDATE, "extension": "500"},
        update_error("PHONE DOES NOT EXIST ON THIS SERVER", f"{S15}|500")),
    Row("probe: a phone that does not exist (local_gmt 99)", {**UPDATE, "extension": "100z", "local_gmt": "99"},
        update_error("PHONE DOES NOT EXIST ON THIS SERVER", f"{S15}|100z")),
    Row("probe: a phone that exists (local_gmt 99)", {**UPDATE, "local_gmt": "99"},
        update_error("YOU MUST USE A VALID TIMEZONE", "99")),
    Row("update: the extension matched case-insensitively, echoed as sent", {**UPDATE, "extension": "100A"},
        f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|100A|{S15}|\n", updated(record="100A")),

    # the user group's admin_viewable_groups
    Row("update: a phone of a group the user may not see does not exist", {**UPDATE, "extension": "700"},
        update_error("PHONE DOES NOT EXIST ON THIS SERVER", f"{S15}|700"), setup=RESTRICTED),
    Row("update: nor may it be deleted", {**UPDATE, "extension": "700", "delete_phone": "Y"},
        update_error("PHONE DOES NOT EXIST ON THIS SERVER", f"{S15}|700"), setup=RESTRICTED),
    Row("update: a group listed in admin_viewable_groups is seen", {**UPDATE, "extension": "700"},
        f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|700|{S15}|\n", updated(("700", S15)),
        Setup(viewable=" ADMIN SECRET -")),
    Row("update: admin_viewable_groups compared case-insensitively", {**UPDATE, "extension": "700"},
        f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|700|{S15}|\n", updated(("700", S15)),
        Setup(viewable=" admin secret -")),
    Row("update: ---ALL--- in admin_viewable_groups sees every group", {**UPDATE, "extension": "700"},
        f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|700|{S15}|\n", updated(("700", S15)),
        Setup(viewable=" ---ALL--- ")),
    Row("update: a ---ALL--- phone is seen by a restricted group", UPDATE, UPDATED, updated(), RESTRICTED),
    Row("update: a phone may be moved into a group the user cannot see", {**UPDATE, "admin_user_group": "SECRET"},
        UPDATED, updated(user_group="SECRET"), RESTRICTED),

    # delete_phone=Y
    Row("phone deleted; the alias and the agent naming it are not checked", {**UPDATE, "delete_phone": "Y"},
        DELETED, deleted()),
    Row("update: delete ignores the other fields, valid or not",
        {**UPDATE, "delete_phone": "Y", "local_gmt": "99", "protocol": "sip", "active": "N"}, DELETED, deleted()),
    Row("update: delete without ast_delete_phones is a NOTICE and writes nothing", {**UPDATE, "delete_phone": "Y"},
        "NOTICE: update_phone USER DOES NOT HAVE PERMISSION TO DELETE PHONES: |6666|0\n",
        setup=user_with(ast_delete_phones="0")),
    Row("update: delete_phone=y is stripped, and the call updates", {**UPDATE, "delete_phone": "y"}, UPDATED,
        updated()),
    Row("update: delete_phone=YES is not Y, and the call updates", {**UPDATE, "delete_phone": "YES"}, UPDATED,
        updated()),
    Row("update: delete on a server that generates no configuration, no rebuild flag",
        {**UPDATE, "extension": "800", "server_ip": S18, "delete_phone": "Y"},
        f"SUCCESS: update_phone PHONE HAS BEEN DELETED - 6666|800|{S18}|\n", deleted(("800", S18), rebuilt=())),

    # no update is ever "no update": every call that gets here writes
    Row("update: no fields still updates, logs and flags the server", UPDATE, UPDATED, updated()),
    Row("update: only ignored values still update", {**UPDATE, "active": "y", "is_webphone": "X",
                                                     "delete_phone": "y", "template_id": "X"}, UPDATED, updated()),
    Row("update: identical values still update", {**UPDATE, "phone_full_name": "Desk 100a", "active": "Y"},
        UPDATED, updated(fullname="Desk 100a", active="Y")),
    Row("update: on a server with active_asterisk_server N, no rebuild flag",
        {**UPDATE, "extension": "900", "server_ip": S19},
        f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|900|{S19}|\n", updated(("900", S19), rebuilt=())),

    # 1 local_gmt
    Row("update 1: local_gmt off the list", {**UPDATE, "local_gmt": "7.77"},
        update_error("YOU MUST USE A VALID TIMEZONE", "7.77")),
    Row("update 1: local_gmt +5.50 is stored 5.50", {**UPDATE, "local_gmt": "+5.50"}, UPDATED,
        updated(local_gmt="5.50")),
    Row("update 1: the time zone checked before the email", {**UPDATE, "local_gmt": "99", "email": "a"},
        update_error("YOU MUST USE A VALID TIMEZONE", "99")),
    # 2 email
    Row("update 2: email under 5 characters", {**UPDATE, "email": "a@b"},
        update_error("YOU MUST USE A VALID EMAIL", "a@b")),
    Row("update 2: email --BLANK-- empties it", {**UPDATE, "email": "--BLANK--"}, UPDATED, updated(email="")),
    Row("update 2: email with + as a space", {**UPDATE, "email": "ops+1@example.com"}, UPDATED,
        updated(email="ops 1@example.com")),
    Row("update 2: an apostrophe in email breaks the SQL: HTTP 500, empty body, nothing written",
        {**UPDATE, "email": "o'brien@example.com"}, "", status=500),
    Row("update 2: a short email with an apostrophe is refused before the SQL", {**UPDATE, "email": "o'b"},
        update_error("YOU MUST USE A VALID EMAIL", "o'b")),
    # 3 phone_context
    Row("update 3: phone_context of 1 character", {**UPDATE, "phone_context": "x"},
        update_error("YOU MUST USE A VALID PHONE CONTEXT", "x")),
    Row("update 3: phone_context over 30 characters", {**UPDATE, "phone_context": "c" * 31},
        update_error("YOU MUST USE A VALID PHONE CONTEXT", "c" * 31)),
    Row("update 3: phone_context --BLANK-- empties it", {**UPDATE, "phone_context": "--BLANK--"}, UPDATED,
        updated(phone_context="")),
    Row("update 3: phone_context of 30 characters is stored cut to 20", {**UPDATE, "phone_context": "c" * 30},
        UPDATED, updated(phone_context="c" * 20)),
    # 4 phone_full_name
    Row("update 4: a name of 1 character (add takes it)", {**UPDATE, "phone_full_name": "X"},
        update_error("YOU MUST USE A VALID PHONE NAME", "X")),
    Row("update 4: a name over 30 characters (add takes 50)", {**UPDATE, "phone_full_name": "n" * 31},
        update_error("YOU MUST USE A VALID PHONE NAME", "n" * 31)),
    Row("update 4: name --BLANK-- empties it", {**UPDATE, "phone_full_name": "--BLANK--"}, UPDATED,
        updated(fullname="")),
    Row("update 4: a new name", {**UPDATE, "phone_full_name": "Desk 1+"}, UPDATED, updated(fullname="Desk 1+")),
    # 5 registration_password
    Row("update 5: registration password of 1 character", {**UPDATE, "registration_password": "x"},
        update_error("YOU MUST USE A VALID REGISTRATION PASSWORD", "x")),
    Row("update 5: registration password --BLANK-- empties it", {**UPDATE, "registration_password": "--BLANK--"},
        UPDATED, updated(conf_secret="")),
    Row("update 5: a new registration password", {**UPDATE, "registration_password": "NewReg1"}, UPDATED,
        updated(conf_secret="NewReg1")),
    # 6 protocol
    Row("update 6: protocol is case-sensitive", {**UPDATE, "protocol": "sip"},
        update_error("YOU MUST USE A VALID PROTOCOL", "sip")),
    Row("update 6: protocol PJSIP is refused", {**UPDATE, "protocol": "PJSIP"},
        update_error("YOU MUST USE A VALID PROTOCOL", "PJSIP")),
    Row("update 6: the protocol checked before the password", {**UPDATE, "protocol": "sip", "phone_pass": "x"},
        update_error("YOU MUST USE A VALID PROTOCOL", "sip")),
    Row("update 6: protocol IAX2", {**UPDATE, "protocol": "IAX2"}, UPDATED, updated(protocol="IAX2")),
    # 7 phone_pass
    Row("update 7: phone password of 1 character", {**UPDATE, "phone_pass": "x"},
        update_error("YOU MUST USE A VALID PHONE PASSWORD", "x")),
    Row("update 7: phone password --BLANK-- is stored literally", {**UPDATE, "phone_pass": "--BLANK--"}, UPDATED,
        updated(**{"pass": "--BLANK--"})),
    Row("update 7: a new phone password", {**UPDATE, "phone_pass": "NewPw1"}, UPDATED, updated(**{"pass": "NewPw1"})),
    # 8 phone_login: VICIdial's weak check
    Row("update 8: the login of a phone on another server and extension", {**UPDATE, "phone_login": "500b"},
        update_error("LOGIN ALREADY EXISTS", "500b")),
    Row("update 8: the login of a phone on the same server goes through", {**UPDATE, "phone_login": "100b"},
        UPDATED, updated(login="100b")),
    Row("update 8: a case variant of another phone's login goes through", {**UPDATE, "phone_login": "100C"},
        UPDATED, updated(login="100C")),
    Row("update 8: the login of the same extension on another server goes through",
        {**UPDATE, "phone_login": "100a2"}, UPDATED, updated(login="100a2")),
    Row("update 8: an alias id as login goes through", {**UPDATE, "phone_login": "agent7"}, UPDATED,
        updated(login="agent7")),
    Row("update 8: a login over 15 characters is stored cut", {**UPDATE, "phone_login": "abcdefghijklmnoXYZ"},
        UPDATED, updated(login="abcdefghijklmno")),
    # 9 voicemail_id
    Row("update 9: voicemail_id of 1 character", {**UPDATE, "voicemail_id": "1"},
        update_error("YOU MUST USE A VALID VOICEMAIL NUMBER", "1")),
    Row("update 9: voicemail_id --BLANK-- is stored as BLANK", {**UPDATE, "voicemail_id": "--BLANK--"}, UPDATED,
        updated(voicemail_id="BLANK")),
    Row("update 9: the voicemail checked before active", {**UPDATE, "voicemail_id": "1", "active": "X"},
        update_error("YOU MUST USE A VALID VOICEMAIL NUMBER", "1")),
    # 10 dialplan_number
    Row("update 10: dialplan_number of 2 characters (add takes it)", {**UPDATE, "dialplan_number": "12"},
        update_error("YOU MUST USE A VALID DIALPLAN NUMBER", "12")),
    Row("update 10: dialplan_number of 3 characters", {**UPDATE, "dialplan_number": "123"}, UPDATED,
        updated(dialplan_number="123")),
    # 11 active
    Row("update 11: active X", {**UPDATE, "active": "X"}, update_error("ACTIVE MUST BE Y OR N" + OPTIONAL, "X")),
    Row("update 11: active YES", {**UPDATE, "active": "YES"},
        update_error("ACTIVE MUST BE Y OR N" + OPTIONAL, "YES")),
    Row("update 11: active N", {**UPDATE, "active": "N"}, UPDATED, updated(active="N")),
    # 12 outbound_cid
    Row("update 12: outbound_cid of 5 digits", {**UPDATE, "outbound_cid": "12345"},
        update_error("OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL, "12345")),
    Row("update 12: outbound_cid of 19 digits", {**UPDATE, "outbound_cid": "1" * 19},
        update_error("OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL, "1" * 19)),
    Row("update 12: outbound_cid ---ALL---", {**UPDATE, "outbound_cid": "---ALL---"}, UPDATED,
        updated(outbound_cid="---ALL---")),
    Row("update 12: outbound_cid keeps its digits", {**UPDATE, "outbound_cid": "555-123-4567"}, UPDATED,
        updated(outbound_cid="5551234567")),
    # 13 admin_user_group
    Row("update 13: a user group of 1 character", {**UPDATE, "admin_user_group": "X"},
        update_error("USER GROUP MUST BE FROM 2 TO 20 CHARACTERS" + OPTIONAL, "X")),
    Row("update 13: a user group over 20 characters", {**UPDATE, "admin_user_group": "G" * 21},
        update_error("USER GROUP MUST BE FROM 2 TO 20 CHARACTERS" + OPTIONAL, "G" * 21)),
    Row("update 13: a user group that does not exist is stored", {**UPDATE, "admin_user_group": "NOSUCHGROUP"},
        UPDATED, updated(user_group="NOSUCHGROUP")),
    # 14 outbound_alt_cid
    Row("update 14: outbound_alt_cid of 5 characters", {**UPDATE, "outbound_alt_cid": "12345"},
        update_error("OUTBOUND ALT CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL, "12345")),
    Row("update 14: outbound_alt_cid --BLANK-- arrives as BLANK, too short",
        {**UPDATE, "outbound_alt_cid": "--BLANK--"},
        update_error("OUTBOUND ALT CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL, "BLANK")),
    Row("update 14: the alt cid checked before the ring timeout",
        {**UPDATE, "outbound_alt_cid": "12345", "phone_ring_timeout": "1"},
        update_error("OUTBOUND ALT CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL, "12345")),
    Row("update 14: an outbound_alt_cid", {**UPDATE, "outbound_alt_cid": "5559990000"}, UPDATED,
        updated(outbound_alt_cid="5559990000")),
    # 15 phone_ring_timeout: the error shows outbound_alt_cid (VICIdial's slip)
    Row("update 15: ring timeout 1 shows outbound_alt_cid, here none", {**UPDATE, "phone_ring_timeout": "1"},
        update_error("PHONE RING TIMEOUT MUST BE FROM 2 TO 180 SECONDS" + OPTIONAL, "")),
    Row("update 15: ring timeout 181 shows outbound_alt_cid",
        {**UPDATE, "phone_ring_timeout": "181", "outbound_alt_cid": "5559990000"},
        update_error("PHONE RING TIMEOUT MUST BE FROM 2 TO 180 SECONDS" + OPTIONAL, "5559990000")),
    Row("update 15: ring timeout 180", {**UPDATE, "phone_ring_timeout": "180"}, UPDATED,
        updated(phone_ring_timeout=180)),
    Row("update 15: ring timeout keeps its digits", {**UPDATE, "phone_ring_timeout": "30s"}, UPDATED,
        updated(phone_ring_timeout=30)),
    # 16 delete_vm_after_email
    Row("update 16: delete_vm_after_email X", {**UPDATE, "delete_vm_after_email": "X"},
        update_error("DELETE VOICEMAIL AFTER EMAIL MUST BE Y OR N" + OPTIONAL, "X")),
    Row("update 16: delete_vm_after_email checked before the template",
        {**UPDATE, "delete_vm_after_email": "X", "template_id": "nosuch"},
        update_error("DELETE VOICEMAIL AFTER EMAIL MUST BE Y OR N" + OPTIONAL, "X")),
    Row("update 16: delete_vm_after_email Y", {**UPDATE, "delete_vm_after_email": "Y"}, UPDATED,
        updated(delete_vm_after_email="Y")),
    # 17 the webphone options: no error, bad values ignored
    Row("update 17: the webphone options, case-insensitive, stored upper case",
        {**UPDATE, "is_webphone": "y_api_launch", "webphone_auto_answer": "n", "use_external_server_ip": "Y",
         "on_hook_agent": "y"}, UPDATED,
        updated(is_webphone="Y_API_LAUNCH", webphone_auto_answer="N", use_external_server_ip="Y", on_hook_agent="Y")),
    Row("update 17: other webphone values are ignored",
        {**UPDATE, "is_webphone": "maybe", "webphone_auto_answer": "Y_API_LAUNCH"}, UPDATED, updated()),
    # 18 template_id
    Row("update 18: a template that does not exist", {**UPDATE, "template_id": "nosuch"},
        update_error("TEMPLATE ID DOES NOT EXIST" + OPTIONAL, "|nosuch")),
    Row("update 18: a template that does not exist, with a login", {**UPDATE, "template_id": "nosuch",
                                                                     "phone_login": "100q"},
        update_error("TEMPLATE ID DOES NOT EXIST" + OPTIONAL, "100q|nosuch")),
    Row("update 18: a template found case-insensitively, stored as sent", {**UPDATE, "template_id": "sipbasic"},
        UPDATED, updated(template_id="sipbasic")),
    Row("update 18: template --BLANK-- empties it", {**UPDATE, "template_id": "--Blank--"}, UPDATED,
        updated(template_id="")),

    # several fields at once
    Row("update: several fields", {**UPDATE, "phone_pass": "NewPw1", "registration_password": "NewReg1",
                                   "active": "N", "local_gmt": "-6.00", "phone_login": "100z"}, UPDATED,
        updated(**{"pass": "NewPw1", "conf_secret": "NewReg1", "active": "N", "local_gmt": "-6.00",
                   "login": "100z"})),
    Row("update: a write on another server flags that server only", {**UPDATE, "server_ip": S16, "active": "N"},
        f"SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|100a|{S16}|\n", updated(("100a", S16), active="N")),
]

ROWS = ADD_ROWS + UPDATE_ROWS


# --------------------------------------------------------------------------
# A sandbox per test, on each store


@dataclass(frozen=True)
class Tables:
    """Everything a phone call could write, as a plain connection reads it."""

    phones: Mapping[tuple[str, str], Mapping[str, Any]]   # every column, by (extension, server_ip)
    log: tuple[tuple[str, ...], ...]                        # user, section, type, record_id, code
    flags: Mapping[str, str]                                # server_ip: rebuild_conf_files
    aliases: tuple[tuple[str, ...], ...]
    agents: tuple[tuple[str, ...], ...]


@dataclass
class Sandbox:
    store: Store
    client: httpx.Client
    query: Callable[[str], list[dict[str, Any]]]

    def prepare(self, setup: Setup) -> None:
        if setup.user:
            self.store.update("vicidial_users", dict(setup.user), {"user": "6666"})
        if setup.viewable is not None:
            self.store.update("vicidial_user_groups", {"admin_viewable_groups": setup.viewable},
                              {"user_group": "ADMIN"})

    def call(self, params: Mapping[str, str | None]) -> httpx.Response:
        form = {name: value for name, value in {**CREDENTIALS, **params}.items() if value is not None}
        return self.client.post(API, data=form)

    def tables(self) -> Tables:
        return Tables(
            {(row["extension"], row["server_ip"]): row for row in self.query("SELECT * FROM phones")},
            tuple(tuple(row.values()) for row in self.query(
                "SELECT user, event_section, event_type, record_id, event_code FROM vicidial_admin_log "
                "ORDER BY admin_log_id")),
            {row["server_ip"]: row["rebuild_conf_files"] for row in self.query("SELECT * FROM servers")},
            tuple(sorted(tuple(row.values()) for row in self.query(
                "SELECT alias_id, alias_name, logins_list FROM phones_alias"))),
            tuple(sorted(tuple(row.values()) for row in self.query("SELECT user, phone_login FROM vicidial_users"))),
        )


def _sqlite_query(path: str) -> Callable[[str], list[dict[str, Any]]]:
    def query(sql: str) -> list[dict[str, Any]]:
        connection = sqlite3.connect(path)
        try:
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor]
        finally:
            connection.close()
    return query


def _mariadb_query(url: str) -> Callable[[str], list[dict[str, Any]]]:
    parts = parse_db_url(url)

    def query(sql: str) -> list[dict[str, Any]]:
        with pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                             database=parts.database) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
    return query


def _open(request: pytest.FixtureRequest, tmp_path, api_user: str = "6666", **seed: Any) -> Iterator[Sandbox]:
    if request.param == "sqlite":
        location = str(tmp_path / "sandbox.sqlite")
        init_sandbox(location, api_user=api_user, **seed)
        query = _sqlite_query(location)
    else:
        location = request.getfixturevalue("mariadb_url")
        init_mysql(location, api_user=api_user, **seed)
        query = _mariadb_query(location)
    store = open_store(location)
    client = httpx.Client(transport=httpx.WSGITransport(app=make_app(store)), base_url="http://sandbox")
    yield Sandbox(store, client, query)
    client.close()
    store.close()


@pytest.fixture(params=["sqlite", "mariadb"])
def sandbox(request: pytest.FixtureRequest, tmp_path) -> Iterator[Sandbox]:
    yield from _open(request, tmp_path, phones=PHONES, servers=SERVERS, templates=TEMPLATES, aliases=ALIASES,
                     users=AGENTS)


def expected(before: Tables, writes: Writes | None) -> Tables:
    if writes is None:
        return before
    phones = dict(before.phones)
    if writes.new:
        assert writes.key not in phones
        phones[writes.key] = writes.columns
    elif writes.columns is None:
        del phones[writes.key]
    else:
        phones[writes.key] = {**phones[writes.key], **writes.columns}
    return replace(before, phones=phones, log=before.log + (("6666", "PHONES", *writes.event),),
                   flags={**before.flags, **{server_ip: "Y" for server_ip in writes.rebuilt}})


# --------------------------------------------------------------------------
# The table


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_answer_and_tables(sandbox: Sandbox, row: Row) -> None:
    sandbox.prepare(row.setup)
    before = sandbox.tables()
    assert before.log == () and set(before.flags.values()) == {"N"}

    response = sandbox.call(row.params)

    assert (response.status_code, response.text) == (row.status, row.body)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert sandbox.tables() == expected(before, row.writes)


def test_every_answer_line_of_the_doc_has_a_row() -> None:
    # The reasons of vicidial-api.md's add_phone and update_phone sections, each answered by some row.
    reasons = [
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|add_phone|",
        "add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES", "add_phone YOU MUST USE ALL REQUIRED FIELDS",
        "add_phone SERVER DOES NOT EXIST", "add_phone PHONE ALREADY EXISTS ON THIS SERVER",
        "add_phone PHONE LOGIN ALREADY EXISTS", "add_phone YOU MUST USE A VALID TIMEZONE",
        "add_phone TEMPLATE ID DOES NOT EXIST, THIS IS AN OPTIONAL FIELD", "add_phone PHONE HAS BEEN ADDED",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|update_phone|",
        "update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES", "update_phone YOU MUST USE ALL REQUIRED FIELDS",
        "update_phone SERVER DOES NOT EXIST", "update_phone PHONE DOES NOT EXIST ON THIS SERVER",
        "NOTICE: update_phone USER DOES NOT HAVE PERMISSION TO DELETE PHONES", "update_phone PHONE HAS BEEN DELETED",
        "update_phone PHONE HAS BEEN UPDATED", "update_phone YOU MUST USE A VALID TIMEZONE",
        "update_phone YOU MUST USE A VALID EMAIL", "update_phone YOU MUST USE A VALID PHONE CONTEXT",
        "update_phone YOU MUST USE A VALID PHONE NAME", "update_phone YOU MUST USE A VALID REGISTRATION PASSWORD",
        "update_phone YOU MUST USE A VALID PROTOCOL", "update_phone YOU MUST USE A VALID PHONE PASSWORD",
        "update_phone LOGIN ALREADY EXISTS", "update_phone YOU MUST USE A VALID VOICEMAIL NUMBER",
        "update_phone YOU MUST USE A VALID DIALPLAN NUMBER", "update_phone ACTIVE MUST BE Y OR N" + OPTIONAL,
        "update_phone OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL,
        "update_phone USER GROUP MUST BE FROM 2 TO 20 CHARACTERS" + OPTIONAL,
        "update_phone OUTBOUND ALT CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL,
        "update_phone PHONE RING TIMEOUT MUST BE FROM 2 TO 180 SECONDS" + OPTIONAL,
        "update_phone DELETE VOICEMAIL AFTER EMAIL MUST BE Y OR N" + OPTIONAL,
        "update_phone TEMPLATE ID DOES NOT EXIST" + OPTIONAL,
    ]
    assert [reason for reason in reasons if not any(reason in row.body for row in ROWS)] == []
    assert not any("NO UPDATES DEFINED" in row.body for row in ROWS)


# --------------------------------------------------------------------------
# Narrated behaviours


def test_the_write_free_probes_write_nothing_for_any_user(sandbox: Sandbox) -> None:
    probes = [
        ({"function": "add_phone"}, "ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |6666|||||||||||\n"),
        ({"function": "update_phone"}, "ERROR: update_phone YOU MUST USE ALL REQUIRED FIELDS: |6666||\n"),
        ({**UPDATE, "local_gmt": "99"}, "ERROR: update_phone YOU MUST USE A VALID TIMEZONE: |6666|99\n"),
        ({**UPDATE, "extension": "100z", "local_gmt": "99"},
         f"ERROR: update_phone PHONE DOES NOT EXIST ON THIS SERVER: |6666|{S15}|100z\n"),
        ({**ADD, "local_gmt": "99"}, "ERROR: add_phone YOU MUST USE A VALID TIMEZONE: |6666|99\n"),
    ]
    before = sandbox.tables()
    # An API user with every right learns what each probe proves...
    assert [sandbox.call(params).text for params, _ in probes] == [body for _, body in probes]
    # ...a user of level 7 gets the permission error of each function...
    sandbox.prepare(user_with(user_level=7))
    assert [sandbox.call(params).text for params, _ in probes] == [
        NO_ADD_PERMISSION, NO_UPDATE_PERMISSION, NO_UPDATE_PERMISSION, NO_UPDATE_PERMISSION, NO_ADD_PERMISSION]
    # ...a user without the functions gets the auth error...
    sandbox.prepare(user_with(user_level=9, api_allowed_functions=" version "))
    assert [sandbox.call(params).text for params, _ in probes] == [
        f"ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|{params['function']}|\n"
        for params, _ in probes]
    # ...and none of the fifteen calls wrote anything: no phone, no admin log row, no rebuild flag.
    assert sandbox.tables() == before
    assert before.log == () and set(before.flags.values()) == {"N"}


@pytest.fixture(params=["sqlite", "mariadb"])
def cluster(request: pytest.FixtureRequest, tmp_path) -> Iterator[Sandbox]:
    """vicidial-api.md's two servers, with phone 100a (dialplan 1000) on the first; the API user apiuser."""
    yield from _open(request, tmp_path, api_user="apiuser",
                     phones=[{"login": "100a", "extension": "100a", "server_ip": "10.10.10.15",
                              "dialplan_number": "1000"}],
                     servers=[{"server_ip": "10.10.10.15"}, {"server_ip": "10.10.10.16"}])


def test_the_multi_server_pattern_builds_cleanly(cluster: Sandbox) -> None:
    def call(**params: str) -> str:
        return cluster.client.post(API, data={"source": "test", "user": "apiuser", "pass": "1234", **params}).text

    def phone(extension: str, server_ip: str, login: str, dialplan: str) -> str:
        return call(function="add_phone", extension=extension, server_ip=server_ip, phone_login=login,
                    dialplan_number=dialplan, voicemail_id=extension, phone_pass="Pw300", protocol="SIP",
                    registration_password="Reg300", phone_full_name=f"ext {extension}", local_gmt="-5.00",
                    outbound_cid="0000000000")

    # The doc's example: extension 100a on the second server, under another login; only .16 is flagged.
    assert phone("100a", "10.10.10.16", "100a2", "1001") == (
        "SUCCESS: add_phone PHONE HAS BEEN ADDED - apiuser|100a|10.10.10.16|SIP|1001\n")
    assert cluster.tables().flags == {"10.10.10.15": "N", "10.10.10.16": "Y"}
    assert phone("100a", "10.10.10.16", "100a3", "1001") == (
        "ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |apiuser|10.10.10.16|100a\n")
    assert phone("100x", "10.10.10.16", "100a", "1001") == (
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |apiuser|100a\n")

    # Extension 300 on both servers, one login per server, and the alias agents type.
    assert phone("300", "10.10.10.15", "300a", "300") == (
        "SUCCESS: add_phone PHONE HAS BEEN ADDED - apiuser|300|10.10.10.15|SIP|300\n")
    assert phone("300", "10.10.10.16", "300b", "1300") == (
        "SUCCESS: add_phone PHONE HAS BEEN ADDED - apiuser|300|10.10.10.16|SIP|1300\n")
    assert call(function="add_phone_alias", alias_id="300", alias_name="300", phone_logins="300a,300b") == (
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|300|300|300a,300b\n")

    tables = cluster.tables()
    assert sorted((key, row["login"], row["dialplan_number"]) for key, row in tables.phones.items()) == [
        (("100a", "10.10.10.15"), "100a", "1000"), (("100a", "10.10.10.16"), "100a2", "1001"),
        (("300", "10.10.10.15"), "300a", "300"), (("300", "10.10.10.16"), "300b", "1300")]
    assert tables.aliases == (("300", "300", "300a,300b"),)
    assert tables.log == (("apiuser", "PHONES", "ADD", "100a", "ADMIN API ADD PHONE"),
                          ("apiuser", "PHONES", "ADD", "300", "ADMIN API ADD PHONE"),
                          ("apiuser", "PHONES", "ADD", "300", "ADMIN API ADD PHONE"),
                          ("apiuser", "PHONEALIASES", "ADD", "300", "ADMIN API ADD PHONE ALIAS"))
    assert tables.flags == {"10.10.10.15": "Y", "10.10.10.16": "Y"}


def test_update_lets_a_second_phone_take_a_login_that_add_refuses(cluster: Sandbox) -> None:
    def call(**params: str) -> str:
        return cluster.client.post(API, data={"source": "test", "user": "apiuser", "pass": "1234", **params}).text

    add = dict(function="add_phone", server_ip="10.10.10.16", voicemail_id="300", phone_pass="Pw300",
               protocol="SIP", registration_password="Reg300", phone_full_name="ext 300", local_gmt="-5.00",
               outbound_cid="0000000000")
    assert call(**add, extension="300", phone_login="300b", dialplan_number="1300").startswith("SUCCESS")
    # add refuses the login of 100a, on any server...
    assert call(**add, extension="301", phone_login="100A", dialplan_number="1301") == (
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |apiuser|100A\n")
    # ...but update only counts a phone on another extension AND another server: 100a is both, so it is caught,
    assert call(function="update_phone", extension="300", server_ip="10.10.10.16", phone_login="100a") == (
        "ERROR: update_phone LOGIN ALREADY EXISTS: |apiuser|100a\n")
    # while a phone on 100a's own extension, on another server, takes its login unchallenged.
    assert call(**add, extension="100a", phone_login="100q", dialplan_number="1001").startswith("SUCCESS")
    assert call(function="update_phone", extension="100a", server_ip="10.10.10.16", phone_login="100A") == (
        "SUCCESS: update_phone PHONE HAS BEEN UPDATED - apiuser|100a|10.10.10.16|\n")

    logins = sorted(row["login"] for row in cluster.tables().phones.values())
    assert logins == sorted(["100a", "100A", "300b"])   # two phones now share one login


def test_two_logins_alike_in_their_first_15_characters_both_succeed_as_one(sandbox: Sandbox) -> None:
    first = {**ADD, "phone_login": "abcdefghijklmnoXYZ"}
    second = {**ADD, "extension": "200b", "phone_login": "abcdefghijklmnoQQQ"}

    assert sandbox.call(first).text == ADDED
    assert sandbox.call(second).text == f"SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200b|{S15}|SIP|2000\n"

    phones = sandbox.tables().phones
    assert (phones[("200a", S15)]["login"], phones[("200b", S15)]["login"]) == ("abcdefghijklmno", "abcdefghijklmno")


def test_the_admin_log_holds_the_statement_with_the_passwords_in_clear(sandbox: Sandbox) -> None:
    assert sandbox.call(ADD).text == ADDED
    assert sandbox.call({**UPDATE, "phone_pass": "NewPw1"}).text == UPDATED

    rows = sandbox.query("SELECT event_sql FROM vicidial_admin_log ORDER BY admin_log_id")
    added_sql, updated_sql = (row["event_sql"] for row in rows)
    assert added_sql.startswith("INSERT INTO phones ") and "'Pw200a'" in added_sql and "'Reg200a'" in added_sql
    assert updated_sql.startswith("UPDATE phones set install_directory='',pass='NewPw1' ")
