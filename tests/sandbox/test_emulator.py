"""The sandbox's non_agent_api.php, row by row against vicidial-api.md.

Each row sets a sandbox up, sends one request and checks the exact body
VICIdial answers, then the tables as the state reader sees them (its two
queries, on a plain connection). Every row runs on both stores: a SQLite
file and a real MariaDB database.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import httpx
import pymysql
import pytest

from aliassync.vicidial.db_url import parse_db_url
from aliassync.sandbox.emulator import make_app
from aliassync.sandbox.store import Store, init_mysql, init_sandbox, open_store

API = "/vicidial/non_agent_api.php"
NOW = 1767225600.0  # 2026-01-01 00:00:00 UTC
VERSION_LINE = ("VERSION: 2.14-202|BUILD: 250720-1841|DATE: 2025-12-31 19:00:00|EPOCH: 1767225600"
                "|DST: 0|TZ: -5.00|TZNOW: -5.00|\n")
CREDENTIALS = {"source": "test", "user": "6666", "pass": "1234"}
ALIASES_QUERY = "SELECT alias_id, alias_name, logins_list FROM phones_alias"
PHONES_QUERY = "SELECT login, active, server_ip, extension, DENSE_RANK() OVER (ORDER BY pass) FROM phones"

SERVER = "10.0.0.1"
PHONES = [{"login": "100a"}, {"login": "100b"}, {"login": "100c", "pass": "other"},
          {"login": "100d", "active": "N"}]
# (login, active, server_ip, extension, password group): 'other' sorts before 'test'.
PHONE_100A = ("100a", "Y", SERVER, "100a", 2)
PHONE_100B = ("100b", "Y", SERVER, "100b", 2)
PHONE_100C = ("100c", "Y", SERVER, "100c", 1)
PHONE_100D = ("100d", "N", SERVER, "100d", 2)
ALIAS100 = ("alias100", "Sales floor", "100a,100b")

ID_25 = "abcdefghijklmnopqrstuvwxy"
NAME_60 = "abcdefghij" * 6
NAME_51 = "abcdefghij" * 5 + "k"
LIST_259 = ",".join(["100a"] * 52)


@dataclass(frozen=True)
class Setup:
    """What a row needs besides the phones: aliases already there, API user columns changed."""

    aliases: tuple[tuple[str, str, str], ...] = ()
    user: tuple[tuple[str, Any], ...] = ()


WITH_ALIAS100 = Setup(aliases=(ALIAS100,))


def user_with(**columns: Any) -> Setup:
    return Setup(user=tuple(columns.items()))


@dataclass(frozen=True)
class Row:
    """One request and what VICIdial does with it; `None` tables mean "as set up"."""

    id: str
    params: Mapping[str, str | None]
    body: str
    setup: Setup = Setup()
    aliases: tuple[tuple[str, str, str], ...] | None = None
    phones: tuple[tuple[str, str, str, str, int], ...] | None = None


ADD = {"function": "add_phone_alias", "alias_id": "sales1", "alias_name": "Sales floor",
       "phone_logins": "100a,100b"}
UPDATE = {"function": "update_phone_alias", "alias_id": "alias100"}
ADD_PHONE = {"function": "add_phone", "extension": "200a", "dialplan_number": "200a", "voicemail_id": "200a",
             "phone_login": "200a", "phone_pass": "test", "server_ip": SERVER, "protocol": "SIP",
             "registration_password": "test", "phone_full_name": "Phone 200a", "local_gmt": "-5.00",
             "outbound_cid": "5551234567"}
UPDATE_PHONE = {"function": "update_phone", "extension": "100a", "server_ip": SERVER}

ADDED = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - 6666|"
UPDATED = "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - 6666|alias100|\n"
BAD_LOGIN = "ERROR: Login incorrect, please try again: |6666|1234|BAD|\n"
NO_ADD_PERMISSION = "ERROR: add_phone_alias USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES: |6666|0\n"
ADD_REQUIRED = "ERROR: add_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |6666|"
UPDATE_REQUIRED = "ERROR: update_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |6666|"
ADD_MISSING_PHONE = "ERROR: add_phone_alias PHONE DOES NOT EXIST: |6666|"
UPDATE_MISSING_PHONE = "ERROR: update_phone_alias PHONE DOES NOT EXIST: |6666|"
PHONE_UPDATED = "SUCCESS: update_phone PHONE HAS BEEN UPDATED - 6666|100a|10.0.0.1|\n"
ADD_PHONE_REQUIRED = "ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |6666|200a|200a|200a|200a|test|10.0.0.1|"


def added(alias_id: str, name: str, logins: str) -> str:
    return f"{ADDED}{alias_id}|{name}|{logins}\n"


ROWS = [
    # version: the health check, answered before any login
    Row("version needs no login and no source", {"function": "version", "user": None, "pass": None,
                                                 "source": None}, VERSION_LINE),
    Row("version ignores a wrong password", {"function": "version", "pass": "wrong"}, VERSION_LINE),

    # source: checked after the login, stripped to [0-9A-Za-z] first
    Row("source missing", {**ADD, "source": None}, "ERROR: Invalid Source - \nERROR: Invalid Source: ||\n"),
    Row("source of one character", {**ADD, "source": "x"},
        "ERROR: Invalid Source - x\nERROR: Invalid Source: |x|\n"),
    Row("source stripped before its check", {**ADD, "source": "a-!"},
        "ERROR: Invalid Source - a\nERROR: Invalid Source: |a|\n"),
    Row("source checked after the login", {**ADD, "source": None, "pass": "wrong"},
        "ERROR: Login incorrect, please try again: |6666|wrong|BAD|\n"),

    # login
    Row("bad password is echoed", {**ADD, "pass": "wrong"},
        "ERROR: Login incorrect, please try again: |6666|wrong|BAD|\n"),
    Row("bad password is echoed stripped to [-_0-9A-Za-z]", {**ADD, "pass": "p@ss word!"},
        "ERROR: Login incorrect, please try again: |6666|pssword|BAD|\n"),
    Row("unknown user", {**ADD, "user": "7777"}, "ERROR: Login incorrect, please try again: |7777|1234|BAD|\n"),
    Row("password compared case-insensitively, as the collation does", {**ADD, "pass": "SECRET9"},
        added("sales1", "Sales floor", "100a,100b"), user_with(**{"pass": "Secret9"}),
        aliases=(("sales1", "Sales floor", "100a,100b"),)),
    Row("inactive user cannot log in", ADD, BAD_LOGIN, user_with(active="N")),
    Row("user_level 6 cannot log in", ADD, BAD_LOGIN, user_with(user_level=6)),
    Row("ten failures since the last good login lock, right password included", ADD,
        "ERROR: Too many login attempts, try again in 15 minutes: |6666|LOCK|\n",
        user_with(failed_login_count=10, last_login_date="2025-12-31 23:59:00")),
    Row("ten failures older than 15 minutes do not stop the right password", ADD,
        added("sales1", "Sales floor", "100a,100b"),
        user_with(failed_login_count=10, last_login_date="2025-12-31 23:44:59"),
        aliases=(("sales1", "Sales floor", "100a,100b"),)),

    # functions the sandbox does not have
    Row("unknown function", {"function": "add_lead"}, "ERROR: NO FUNCTION SPECIFIED\n"),
    Row("no function", {}, "ERROR: NO FUNCTION SPECIFIED\n"),
    Row("unknown function still needs a login", {"function": "add_lead", "pass": "wrong"},
        "ERROR: Login incorrect, please try again: |6666|wrong|BAD|\n"),

    # permissions
    Row("function missing from api_allowed_functions", ADD,
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|add_phone_alias|\n",
        user_with(api_allowed_functions=" update_phone_alias add_phone ")),
    Row("function listed in api_allowed_functions", ADD, added("sales1", "Sales floor", "100a,100b"),
        user_with(api_allowed_functions=" add_phone_alias "), aliases=(("sales1", "Sales floor", "100a,100b"),)),
    Row("user_level 7 logs in but may not add", ADD, NO_ADD_PERMISSION, user_with(user_level=7)),
    Row("vdc_agent_api_access 0", ADD, NO_ADD_PERMISSION, user_with(vdc_agent_api_access="0")),
    Row("ast_admin_access 0", ADD, NO_ADD_PERMISSION, user_with(ast_admin_access="0")),
    Row("ast_admin_access 0 on update", {**UPDATE, "alias_name": "Floor B"},
        "ERROR: update_phone_alias USER DOES NOT HAVE PERMISSION TO UPDATE PHONE ALIASES: |6666|0\n",
        Setup(aliases=(ALIAS100,), user=(("ast_admin_access", "0"),))),
    Row("delete without ast_delete_phones is a NOTICE and deletes nothing", {**UPDATE, "delete_alias": "Y"},
        "NOTICE: update_phone_alias USER DOES NOT HAVE PERMISSION TO DELETE PHONE ALIASES: |6666|0\n",
        Setup(aliases=(ALIAS100,), user=(("ast_delete_phones", "0"),))),
    Row("ast_delete_phones is not needed to update", {**UPDATE, "alias_name": "Floor B"}, UPDATED,
        Setup(aliases=(ALIAS100,), user=(("ast_delete_phones", "0"),)),
        aliases=(("alias100", "Floor B", "100a,100b"),)),

    # add_phone_alias
    Row("alias added", ADD, added("sales1", "Sales floor", "100a,100b"),
        aliases=(("sales1", "Sales floor", "100a,100b"),)),
    Row("alias_id under 2 characters", {**ADD, "alias_id": "s"}, f"{ADD_REQUIRED}s|Sales floor|100a,100b\n"),
    Row("phone_logins under 2 characters", {**ADD, "phone_logins": "1"}, f"{ADD_REQUIRED}sales1|Sales floor|1\n"),
    Row("alias_name empty", {**ADD, "alias_name": ""}, f"{ADD_REQUIRED}sales1||100a,100b\n"),
    Row("alias_name of stripped characters only", {**ADD, "alias_name": ",,"},
        f"{ADD_REQUIRED}sales1||100a,100b\n"),
    Row("alias exists", {**ADD, "alias_id": "alias100"},
        "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |6666|alias100\n", WITH_ALIAS100),
    Row("alias exists, compared case-insensitively", {**ADD, "alias_id": "ALIAS100"},
        "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |6666|ALIAS100\n", WITH_ALIAS100),
    Row("a phone does not exist", {**ADD, "phone_logins": "100a,999"}, f"{ADD_MISSING_PHONE}999\n"),
    Row("the first missing login is reported", {**ADD, "phone_logins": "100a,998,999"},
        f"{ADD_MISSING_PHONE}998\n"),
    Row("an empty item is a missing login", {**ADD, "phone_logins": "100a,,100b"}, f"{ADD_MISSING_PHONE}\n"),
    Row("a trailing comma is a missing login", {**ADD, "phone_logins": "100a,100b,"}, f"{ADD_MISSING_PHONE}\n"),
    Row("member 100A matches phone 100a and is stored as sent", {**ADD, "phone_logins": "100A,100b"},
        added("sales1", "Sales floor", "100A,100b"), aliases=(("sales1", "Sales floor", "100A,100b"),)),
    Row("inactive phones are accepted", {**ADD, "phone_logins": "100a,100d"},
        added("sales1", "Sales floor", "100a,100d"), aliases=(("sales1", "Sales floor", "100a,100d"),)),
    Row("duplicates are stored", {**ADD, "phone_logins": "100a,100a"},
        added("sales1", "Sales floor", "100a,100a"), aliases=(("sales1", "Sales floor", "100a,100a"),)),
    Row("the list is stored verbatim, in order", {**ADD, "phone_logins": "100c,100a,100b"},
        added("sales1", "Sales floor", "100c,100a,100b"), aliases=(("sales1", "Sales floor", "100c,100a,100b"),)),
    Row("spaces are stripped from the list", {**ADD, "phone_logins": "100a, 100b"},
        added("sales1", "Sales floor", "100a,100b"), aliases=(("sales1", "Sales floor", "100a,100b"),)),
    Row("a comma is dropped from the name", {**ADD, "alias_name": "Sales, floor 1"},
        added("sales1", "Sales floor 1", "100a,100b"), aliases=(("sales1", "Sales floor 1", "100a,100b"),)),
    Row("the name keeps + : / @", {**ADD, "alias_name": "Sales+1:a/b@c"},
        added("sales1", "Sales+1:a/b@c", "100a,100b"), aliases=(("sales1", "Sales+1:a/b@c", "100a,100b"),)),
    Row("add accepts a one-character name", {**ADD, "alias_name": "X"},
        added("sales1", "X", "100a,100b"), aliases=(("sales1", "X", "100a,100b"),)),
    Row("alias_id stripped to [-_0-9A-Za-z]", {**ADD, "alias_id": "sales.1!"},
        added("sales1", "Sales floor", "100a,100b"), aliases=(("sales1", "Sales floor", "100a,100b"),)),
    Row("alias_id keeps - and _", {**ADD, "alias_id": "sales-1_b"},
        added("sales-1_b", "Sales floor", "100a,100b"), aliases=(("sales-1_b", "Sales floor", "100a,100b"),)),
    Row("alias_id may equal a phone login", {**ADD, "alias_id": "100a"},
        added("100a", "Sales floor", "100a,100b"), aliases=(("100a", "Sales floor", "100a,100b"),)),
    Row("a 25-character alias_id is stored cut to 20", {**ADD, "alias_id": ID_25},
        added(ID_25, "Sales floor", "100a,100b"), aliases=((ID_25[:20], "Sales floor", "100a,100b"),)),
    Row("a 60-character name is stored cut to 50", {**ADD, "alias_name": NAME_60},
        added("sales1", NAME_60, "100a,100b"), aliases=(("sales1", NAME_60[:50], "100a,100b"),)),
    Row("a 259-character list is stored cut to 255", {**ADD, "phone_logins": LIST_259},
        added("sales1", "Sales floor", LIST_259), aliases=(("sales1", "Sales floor", "100a," * 51),)),

    # update_phone_alias
    Row("probe: an existing alias", {**UPDATE, "delete_alias": "N"},
        "NOTICE: update_phone_alias NO UPDATES DEFINED: |6666|\n", WITH_ALIAS100),
    Row("probe: a missing alias", {**UPDATE, "delete_alias": "N"},
        "ERROR: update_phone_alias PHONE ALIAS DOES NOT EXIST: |6666|alias100\n"),
    Row("alias_id alone", UPDATE, f"{UPDATE_REQUIRED}alias100||\n", WITH_ALIAS100),
    Row("update alias_id under 2 characters", {**UPDATE, "alias_id": "a", "alias_name": "Floor B"},
        f"{UPDATE_REQUIRED}a|Floor B|\n"),
    Row("delete_alias=y is stripped to nothing", {**UPDATE, "delete_alias": "y"},
        f"{UPDATE_REQUIRED}alias100||\n", WITH_ALIAS100),
    Row("alias deleted", {**UPDATE, "delete_alias": "Y"},
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN DELETED - 6666|alias100\n", WITH_ALIAS100, aliases=()),
    Row("delete ignores the other fields",
        {**UPDATE, "delete_alias": "Y", "alias_name": "X", "phone_logins": "999"},
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN DELETED - 6666|alias100\n", WITH_ALIAS100, aliases=()),
    Row("delete matches the id case-insensitively", {**UPDATE, "alias_id": "ALIAS100", "delete_alias": "Y"},
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN DELETED - 6666|ALIAS100\n", WITH_ALIAS100, aliases=()),
    Row("a new list replaces the whole list", {**UPDATE, "phone_logins": "100c"}, UPDATED, WITH_ALIAS100,
        aliases=(("alias100", "Sales floor", "100c"),)),
    Row("a new name keeps the list", {**UPDATE, "alias_name": "Floor B"}, UPDATED, WITH_ALIAS100,
        aliases=(("alias100", "Floor B", "100a,100b"),)),
    Row("the same values again still succeed",
        {**UPDATE, "alias_name": "Sales floor", "phone_logins": "100a,100b"},
        UPDATED, WITH_ALIAS100),
    Row("update matches the id case-insensitively", {**UPDATE, "alias_id": "ALIAS100", "alias_name": "Floor B"},
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - 6666|ALIAS100|\n", WITH_ALIAS100,
        aliases=(("alias100", "Floor B", "100a,100b"),)),
    Row("spaces are stripped from a new list", {**UPDATE, "phone_logins": "100c, 100a"}, UPDATED, WITH_ALIAS100,
        aliases=(("alias100", "Sales floor", "100c,100a"),)),
    Row("update needs a name of 2 characters or more", {**UPDATE, "alias_name": "X"},
        "ERROR: update_phone_alias YOU MUST USE A VALID ALIAS NAME: |6666|X\n", WITH_ALIAS100),
    Row("update refuses a name over 50 characters", {**UPDATE, "alias_name": NAME_51},
        f"ERROR: update_phone_alias YOU MUST USE A VALID ALIAS NAME: |6666|{NAME_51}\n", WITH_ALIAS100),
    Row("update: a phone does not exist", {**UPDATE, "phone_logins": "100a,999"}, f"{UPDATE_MISSING_PHONE}999\n",
        WITH_ALIAS100),
    Row("update: an empty item is a missing login", {**UPDATE, "phone_logins": "100a,"},
        f"{UPDATE_MISSING_PHONE}\n", WITH_ALIAS100),
    Row("a one-character list is ignored", {**UPDATE, "alias_name": "Floor B", "phone_logins": "1"}, UPDATED,
        WITH_ALIAS100, aliases=(("alias100", "Floor B", "100a,100b"),)),
    Row("a one-character list alone is not an update", {**UPDATE, "phone_logins": "1"},
        f"{UPDATE_REQUIRED}alias100||1\n", WITH_ALIAS100),
    Row("a dangling login blocks member updates", {**UPDATE, "phone_logins": "100z,100a"},
        f"{UPDATE_MISSING_PHONE}100z\n", Setup(aliases=(("alias100", "Sales floor", "100a,100z"),))),
    Row("a dangling login does not block a new name", {**UPDATE, "alias_name": "Floor B"}, UPDATED,
        Setup(aliases=(("alias100", "Sales floor", "100a,100z"),)),
        aliases=(("alias100", "Floor B", "100a,100z"),)),

    # add_phone
    Row("phone added", ADD_PHONE, "SUCCESS: add_phone PHONE HAS BEEN ADDED - 6666|200a|10.0.0.1|SIP|200a\n",
        phones=(PHONE_100A, PHONE_100B, PHONE_100C, PHONE_100D, ("200a", "Y", SERVER, "200a", 2))),
    Row("add_phone with a field missing", {**ADD_PHONE, "phone_full_name": None},
        f"{ADD_PHONE_REQUIRED}SIP|test||-5.00|5551234567\n"),
    Row("add_phone refuses PJSIP", {**ADD_PHONE, "protocol": "PJSIP"},
        f"{ADD_PHONE_REQUIRED}PJSIP|test|Phone 200a|-5.00|5551234567\n"),
    Row("add_phone on a server that does not exist", {**ADD_PHONE, "server_ip": "10.9.9.9"},
        "ERROR: add_phone SERVER DOES NOT EXIST: |6666|10.9.9.9\n"),
    Row("add_phone on a taken extension", {**ADD_PHONE, "extension": "100a"},
        "ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |6666|10.0.0.1|100a\n"),
    Row("add_phone with a taken login", {**ADD_PHONE, "phone_login": "100A"},
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |6666|100A\n"),
    Row("add_phone with a time zone off VICIdial's list", {**ADD_PHONE, "local_gmt": "-5.5"},
        "ERROR: add_phone YOU MUST USE A VALID TIMEZONE: |6666|-5.5\n"),
    Row("add_phone without ast_admin_access", ADD_PHONE,
        "ERROR: add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES: |6666|0\n",
        user_with(ast_admin_access="0")),

    # update_phone
    Row("phone deactivated", {**UPDATE_PHONE, "active": "N"}, PHONE_UPDATED,
        phones=(("100a", "N", SERVER, "100a", 2), PHONE_100B, PHONE_100C, PHONE_100D)),
    Row("phone password changed", {**UPDATE_PHONE, "phone_pass": "other"}, PHONE_UPDATED,
        phones=(("100a", "Y", SERVER, "100a", 1), PHONE_100B, PHONE_100C, PHONE_100D)),
    Row("update_phone with no optional field still succeeds", UPDATE_PHONE, PHONE_UPDATED),
    Row("update_phone on a missing phone", {**UPDATE_PHONE, "extension": "100z"},
        "ERROR: update_phone PHONE DOES NOT EXIST ON THIS SERVER: |6666|10.0.0.1|100z\n"),
    Row("update_phone with an extension under 2 characters", {**UPDATE_PHONE, "extension": "1"},
        "ERROR: update_phone YOU MUST USE ALL REQUIRED FIELDS: |6666|1|10.0.0.1\n"),
    Row("update_phone on a server that does not exist", {**UPDATE_PHONE, "server_ip": "10.9.9.9"},
        "ERROR: update_phone SERVER DOES NOT EXIST: |6666|10.9.9.9\n"),
    Row("update_phone with active other than Y or N", {**UPDATE_PHONE, "active": "X"},
        "ERROR: update_phone ACTIVE MUST BE Y OR N, THIS IS AN OPTIONAL FIELD: |6666|X\n"),
    Row("a login taken on the same server is not checked", {**UPDATE_PHONE, "phone_login": "100b"}, PHONE_UPDATED,
        phones=(("100b", "Y", SERVER, "100a", 2), PHONE_100B, PHONE_100C, PHONE_100D)),
    Row("phone deleted; the alias keeps a dangling login", {**UPDATE_PHONE, "delete_phone": "Y"},
        "SUCCESS: update_phone PHONE HAS BEEN DELETED - 6666|100a|10.0.0.1|\n", WITH_ALIAS100,
        phones=(PHONE_100B, PHONE_100C, PHONE_100D)),
    Row("phone delete without ast_delete_phones", {**UPDATE_PHONE, "delete_phone": "Y"},
        "NOTICE: update_phone USER DOES NOT HAVE PERMISSION TO DELETE PHONES: |6666|0\n",
        user_with(ast_delete_phones="0")),
    Row("update_phone without ast_admin_access", UPDATE_PHONE,
        "ERROR: update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES: |6666|0\n",
        user_with(ast_admin_access="0")),
]


# --------------------------------------------------------------------------
# A sandbox per test, on each store


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Tables:
    aliases: tuple[tuple[str, str, str], ...]
    phones: tuple[tuple[str, str, str, str, int], ...]


@dataclass
class Sandbox:
    store: Store
    client: httpx.Client
    query: Callable[[str], list[tuple]]  # SQL on a plain connection, as the state reader runs it
    clock: Clock = field(default_factory=Clock)

    def prepare(self, setup: Setup) -> None:
        for alias_id, alias_name, logins in setup.aliases:
            self.store.insert("phones_alias",
                              {"alias_id": alias_id, "alias_name": alias_name, "logins_list": logins})
        if setup.user:
            self.store.update("vicidial_users", dict(setup.user), {"user": "6666"})

    def call(self, params: Mapping[str, str | None]) -> httpx.Response:
        form = {name: value for name, value in {**CREDENTIALS, **params}.items() if value is not None}
        return self.client.post(API, data=form)

    def tables(self) -> Tables:
        return Tables(tuple(sorted(self.query(ALIASES_QUERY))), tuple(sorted(self.query(PHONES_QUERY))))


def _sqlite_query(path: str) -> Callable[[str], list[tuple]]:
    def query(sql: str) -> list[tuple]:
        connection = sqlite3.connect(path)
        try:
            return [tuple(row) for row in connection.execute(sql)]
        finally:
            connection.close()
    return query


def _mariadb_query(url: str) -> Callable[[str], list[tuple]]:
    parts = parse_db_url(url)

    def query(sql: str) -> list[tuple]:
        with pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                             database=parts.database) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
    return query


@pytest.fixture(params=["sqlite", "mariadb"])
def sandbox(request: pytest.FixtureRequest, tmp_path) -> Iterator[Sandbox]:
    if request.param == "sqlite":
        location = str(tmp_path / "sandbox.sqlite")
        init_sandbox(location, PHONES)
        query = _sqlite_query(location)
    else:
        location = request.getfixturevalue("mariadb_url")
        init_mysql(location, PHONES)
        query = _mariadb_query(location)
    store = open_store(location)
    clock = Clock()
    client = httpx.Client(transport=httpx.WSGITransport(app=make_app(store, clock)), base_url="http://sandbox")
    yield Sandbox(store, client, query, clock)
    client.close()
    store.close()


# --------------------------------------------------------------------------
# The table


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_answer_and_tables(sandbox: Sandbox, row: Row) -> None:
    sandbox.prepare(row.setup)
    before = sandbox.tables()

    response = sandbox.call(row.params)

    assert response.text == row.body
    after = sandbox.tables()
    assert after.aliases == (before.aliases if row.aliases is None else row.aliases)
    assert after.phones == (before.phones if row.phones is None else row.phones)


# --------------------------------------------------------------------------
# The HTTP envelope


def test_every_answer_is_http_200_text_html(sandbox: Sandbox) -> None:
    for params in ({**ADD, "pass": "wrong"}, {**ADD, "source": None}, ADD, {"function": "version"}):
        response = sandbox.call(params)
        assert (response.status_code, response.headers["content-type"]) == (200, "text/html; charset=utf-8")


def test_get_and_post_fields_merge_and_get_wins(sandbox: Sandbox) -> None:
    query = {"alias_id": "from_get", "phone_logins": "100c"}
    body = {**CREDENTIALS, **ADD, "alias_id": "from_post"}

    response = sandbox.client.post(API, params=query, data=body)

    assert response.text == added("from_get", "Sales floor", "100c")


def test_get_alone_works(sandbox: Sandbox) -> None:
    response = sandbox.client.get(API, params={**CREDENTIALS, **UPDATE, "delete_alias": "N"})

    assert response.text == "ERROR: update_phone_alias PHONE ALIAS DOES NOT EXIST: |6666|alias100\n"


# --------------------------------------------------------------------------
# Narrated behaviours


def test_ten_failed_logins_lock_the_user_for_15_minutes(sandbox: Sandbox) -> None:
    probe = {**UPDATE, "delete_alias": "N"}
    missing = "ERROR: update_phone_alias PHONE ALIAS DOES NOT EXIST: |6666|alias100\n"
    # A good login starts the 15 minutes.
    assert sandbox.call(probe).text == missing
    # Ten wrong passwords are each answered as such...
    for _ in range(10):
        assert sandbox.call({**probe, "pass": "wrong"}).text == (
            "ERROR: Login incorrect, please try again: |6666|wrong|BAD|\n")
    # ...and then even the right one is locked out,
    sandbox.clock.now += 15 * 60
    assert sandbox.call(probe).text == "ERROR: Too many login attempts, try again in 15 minutes: |6666|LOCK|\n"
    # until 15 minutes have passed since that good login.
    sandbox.clock.now += 1
    assert sandbox.call(probe).text == missing


def test_every_write_is_logged_even_when_nothing_changes(sandbox: Sandbox) -> None:
    sandbox.prepare(WITH_ALIAS100)
    same = {**UPDATE, "alias_name": "Sales floor"}

    assert [sandbox.call(same).text for _ in range(2)] == [UPDATED, UPDATED]

    assert sandbox.store.count("vicidial_admin_log", {"event_section": "PHONEALIASES", "event_type": "MODIFY",
                                                      "record_id": "alias100"}) == 2


def test_a_phone_write_makes_the_server_rebuild_its_configuration(sandbox: Sandbox) -> None:
    assert sandbox.store.count("servers", {"server_ip": SERVER, "rebuild_conf_files": "N"}) == 1

    assert sandbox.call({**UPDATE_PHONE, "active": "N"}).text == PHONE_UPDATED

    assert sandbox.store.count("servers", {"server_ip": SERVER, "rebuild_conf_files": "Y"}) == 1
