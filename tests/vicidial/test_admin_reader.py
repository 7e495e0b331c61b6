"""The admin-screen reader (hosted mode) against the sandbox's admin.php over real HTTP on 127.0.0.1.

The key property: the same MariaDB state, read through the database and
through the admin screens, gives the same `Current`, odd values included
(`&`, `<b>`, quotes, empty items, spaces, a trailing comma), and the same
phones in full. Then what it refuses to read: a restricted reader, a
page that does not cut cleanly, a bad login (one failed login, the
password never shown).
"""
from __future__ import annotations

import logging
import secrets
from contextlib import closing
from dataclasses import replace

import httpx
import pytest

from aliassync.core.model import LiveAlias, Phone
from aliassync.errors import TargetError
from aliassync.sandbox.admin_screens import ADMIN_PATH
from aliassync.sandbox.server import running_sandbox
from aliassync.sandbox.store import init_mysql, open_store
from aliassync.vicidial.admin_reader import AdminScreenReader
from aliassync.workflow.targets import _mysql_reader

API_PASS = "ApiPw" + secrets.token_hex(8)
PHONE_PASS = "Agent1234"
SERVERS = [{"server_ip": "10.10.10.15", "server_id": "agent1"}, {"server_ip": "10.10.10.16", "server_id": "agent2"}]
# Odd values everywhere the screens print them unescaped.
PHONES = [
    {"login": "100a", "extension": "100", "server_ip": "10.10.10.15", "pass": PHONE_PASS,
     "fullname": 'Desk "7" & <i>co</i>', "email": "a&amp;b@example.com", "outbound_cid": "3125550100"},
    {"login": "100b", "extension": "100", "server_ip": "10.10.10.16", "pass": PHONE_PASS, "fullname": "  spaced  "},
    {"login": "100c", "extension": "101", "server_ip": "10.10.10.15", "pass": "Other999", "active": "N",
     "fullname": "it's <b>off</b>"},
    {"login": "200a", "extension": "200", "server_ip": "10.10.10.15", "pass": PHONE_PASS, "is_webphone": "Y",
     "phone_context": "a'b\"c", "conf_secret": "Sip-Secret_77"},
    {"login": "200a", "extension": "201", "server_ip": "10.10.10.16", "pass": PHONE_PASS, "active": "N"},
    {"login": "300a", "extension": "300", "server_ip": "10.10.10.16", "pass": "", "conf_secret": "x y"},
]
ALIASES = [
    LiveAlias("sales1", "Sales & <b>floor</b> \"1\"", "100a,100b"),
    LiveAlias("odd2", "", " 100a, ,100b,,"),
    LiveAlias("amp3", "&amp; &lt;already&gt;", "100c"),
    LiveAlias("x-4_y", "it's", "200a,"),
]


@pytest.fixture
def hosted(mariadb_url):
    """One MariaDB state, served by the sandbox's admin.php on a free 127.0.0.1 port."""
    init_mysql(mariadb_url, PHONES, api_user="apiuser", api_pass=API_PASS, aliases=ALIASES, servers=SERVERS)
    with running_sandbox(mariadb_url) as base:
        yield mariadb_url, base + ADMIN_PATH


def admin_reader(url: str, password: str = API_PASS, **kwargs) -> AdminScreenReader:
    return AdminScreenReader(url, "apiuser", password, timeout=httpx.Timeout(10.0), **kwargs)


def sql(url: str, statement: str, *params) -> list[tuple]:
    with closing(open_store(url)) as store:
        return store._rows(statement, params)


def test_the_same_state_read_both_ways_is_the_same_current(hosted):
    db_url, admin_url = hosted
    database, screens = _mysql_reader(db_url), admin_reader(admin_url)
    try:
        through_db, through_screens = database.read(), screens.read()
    finally:
        database.close()
        screens.close()
    # the screens cannot compare the members' passwords (pass_group 0) nor list agents (None): nothing else
    # differs (the phones sharing a login are compared in a fixed order: the database's is its query's)
    assert through_screens.agent_logins is None
    assert replace(through_screens, phones=_sorted(through_screens.phones)) == replace(
        through_db, phones=_sorted(through_db.phones, pass_group=0), agent_logins=None)
    assert through_screens.aliases["odd2"] == LiveAlias("odd2", "", " 100a, ,100b,,")
    assert through_screens.aliases["sales1"].alias_name == 'Sales & <b>floor</b> "1"'
    assert through_screens.aliases["amp3"].alias_name == "&amp; &lt;already&gt;"   # never decoded
    assert through_screens.phones["200a"] == (Phone("200a", True), Phone("200a", False))
    assert screens.requests == 4 + 2    # the 4 pages, and the pages of the 2 phones missing from the active list


def _sorted(phones, **changes):
    return {login: tuple(sorted((replace(p, **changes) for p in group), key=repr)) for login, group in phones.items()}


def test_the_same_phones_in_full_and_the_same_password_comparisons(hosted):
    db_url, admin_url = hosted
    declared = {"100a": {"phone_pass": PHONE_PASS}, "100c": {"phone_pass": PHONE_PASS},
                "200a": {"phone_pass": PHONE_PASS, "registration_password": "Sip-Secret_77"},
                "300a": {"registration_password": "x y"}}
    database, screens = _mysql_reader(db_url), admin_reader(admin_url)
    try:
        assert screens.read_phones(declared) == database.read_phones(declared)
        assert screens.requests == 1 + 1 + 1 + len(PHONES)   # probe, phone list, servers, one page per phone
        assert _renumbered(screens.read_password_groups()) == _renumbered(database.read_password_groups())
        assert screens.requests == 3 + len(PHONES)           # the groups were worked out in the same pass
    finally:
        database.close()
        screens.close()


def _renumbered(groups):
    """Group numbers in order of first appearance (export shows them so): equal partitions compare equal."""
    seen: dict[str, dict[int, int]] = {}
    return {key: {field: (seen.setdefault(field, {}).setdefault(number, len(seen[field]) + 1), fits)
                  for field, (number, fits) in fields.items()}
            for key, fields in sorted(groups.items())}


def test_conflict_checks_read_just_the_records_concerned(hosted):
    db_url, admin_url = hosted
    database, screens = _mysql_reader(db_url), admin_reader(admin_url)
    try:
        assert screens.read_aliases(["SALES1", "odd2", "gone9"]) == database.read_aliases(["SALES1", "odd2", "gone9"])
        assert screens.requests == 1 + 3    # the reader check, then one alias page each
        assert screens.read_phone_rows(["100B", "200a"]) == database.read_phone_rows(["100B", "200a"])
        # the two bulk pages, then the pages of 100b and the active 200a, and of the 2 phones missing from the
        # active list (whose logins no bulk page shows)
        assert screens.requests == 4 + 2 + 2 + 2
    finally:
        database.close()
        screens.close()


def test_the_delete_right_is_read_from_the_users_page_when_the_user_may_modify_users(hosted):
    db_url, admin_url = hosted
    with closing(admin_reader(admin_url)) as screens:
        assert screens.delete_right("apiuser") is True
    sql(db_url, "UPDATE vicidial_users SET modify_users = '0' WHERE user = 'apiuser'")
    with closing(admin_reader(admin_url)) as screens:
        assert screens.delete_right("apiuser") is None


def test_a_restricted_reader_is_refused_before_any_list_is_read(hosted):
    db_url, admin_url = hosted
    sql(db_url, "UPDATE vicidial_user_groups SET admin_viewable_groups = ' ADMIN SALES -' WHERE user_group = 'ADMIN'")
    with closing(admin_reader(admin_url)) as screens, pytest.raises(TargetError) as refused:
        screens.read()
    assert str(refused.value) == (
        f"cannot read the live state from admin screens {admin_url}: user apiuser does not see every record (its "
        "user group's admin_viewable_groups is restricted: the Admin User Group choices do not offer ---ALL---); "
        "its lists would leave records out, so nothing was planned; read with a user whose group may view all groups")
    assert screens.requests == 1


def test_a_user_the_screens_refuse_is_named(hosted):
    db_url, admin_url = hosted
    sql(db_url, "UPDATE vicidial_users SET api_only_user = '1' WHERE user = 'apiuser'")
    with closing(admin_reader(admin_url)) as screens, pytest.raises(TargetError) as refused:
        screens.read()
    assert str(refused.value) == (
        f"cannot read the live state from admin screens {admin_url}: user apiuser may not read the alias form "
        "(admin.php answered \"You do not have permission to be here\"); the admin screens need an active user of "
        "level 8 or more that is not API-only")


def test_a_bad_password_is_one_failed_login_and_never_shown(hosted, caplog):
    db_url, admin_url = hosted
    wrong = "WrongPw" + secrets.token_hex(8)
    caplog.set_level(logging.DEBUG)
    with closing(admin_reader(admin_url, wrong)) as screens:
        with pytest.raises(TargetError) as refused:
            screens.read()
        with pytest.raises(TargetError) as again:   # the run asks again: nothing is sent
            screens.read_aliases(["sales1"])
    expected = (f"VICIdial refused the admin screens' login for user apiuser at {admin_url} (HTTP 401); check "
                "ALIASSYNC_API_USER and ALIASSYNC_API_PASS; nothing was read or written")
    assert str(refused.value) == str(again.value) == expected
    assert screens.requests == 1
    assert sql(db_url, "SELECT failed_login_count FROM vicidial_users WHERE user = 'apiuser'") == [(1,)]
    assert wrong not in caplog.text


def test_an_alias_name_holding_the_cell_marker_refuses_the_whole_list(hosted):
    db_url, admin_url = hosted
    sql(db_url, "UPDATE phones_alias SET alias_name = 'a</td><td><font size=1>b' WHERE alias_id = 'odd2'")
    with closing(admin_reader(admin_url)) as screens, pytest.raises(TargetError) as refused:
        screens.read()
    assert str(refused.value) == (
        f"cannot read the live state from admin screens {admin_url}: the alias list does not parse (row 2 does not "
        "split into its 5 cells); nothing was planned")


def _answering(body: str, status: int = 200) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, text=body))


ALL_GROUPS = ('<select size=1 name=user_group><option value="---ALL---">All Admin User Groups</option>'
              '<option SELECTED value="">"></option></select>')


@pytest.mark.parametrize("body, why", [
    ("<html>not admin.php</html>", "the alias form does not parse (no VERSION/BUILD footer: not admin.php, or a page "
                                   "this reader does not know); nothing was planned"),
    (f"{ALL_GROUPS}\nVERSION: 3.0-1 BUILD: 260101-0000", "admin.php 3.0-1 build 260101-0000 is not a version whose "
                                                           "screens this reader knows (2.14-x); nothing was planned"),
    ("<form></form>\nVERSION: 2.14-942a BUILD: 250808-1120", "the alias form does not parse (no Admin User Group "
                                                             "select); nothing was planned"),
])
def test_a_page_this_reader_does_not_know_is_refused_never_guessed(body, why):
    with closing(AdminScreenReader("http://dialer.invalid/vicidial/admin.php", "apiuser", API_PASS,
                                   transport=_answering(body))) as screens, pytest.raises(TargetError) as refused:
        screens.read()
    assert str(refused.value) == f"cannot read the live state from admin screens http://dialer.invalid/vicidial/admin.php: {why}"


def test_a_server_error_is_tried_again_then_named(monkeypatch):
    calls = []

    def failing(request):
        calls.append(request)
        return httpx.Response(503, text="")

    with closing(AdminScreenReader("http://dialer.invalid/vicidial/admin.php", "apiuser", API_PASS,
                                   transport=httpx.MockTransport(failing), sleep=lambda s: None)) as screens:
        with pytest.raises(TargetError) as refused:
            screens.read()
    assert str(refused.value) == ("cannot read the live state from admin screens http://dialer.invalid/vicidial/"
                                  "admin.php: HTTP 503 from http://dialer.invalid/vicidial/admin.php")
    assert len(calls) == 5    # the first try and READS' 4 retries


def _translated(app):
    """admin.php in another language: headers, link texts and the translated values (group, status, server
    ACTIVE/AGENT columns) change; ids, names, logins lists, the active phones' list and value attributes do not."""
    words = {"MODIFY</a>": "MODIFICAR</a>", "<b>ALIAS ID</b>": "<b>ID DE ALIAS</b>", "---ALL---</td>": "TODOS</td>",
             "ACTIVE</td>": "ACTIVO</td>", "<font size=1>Y</td>": "<font size=1>SI</td>"}

    def translated(environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=[(k, v) for k, v in headers if k.lower() != "content-length"])

        body = b"".join(app(environ, capture)).decode("utf-8")
        for english, other in words.items():
            body = body.replace(english, other)
        data = body.encode("utf-8")
        start_response(captured["status"], [*captured["headers"], ("Content-Length", str(len(data)))])
        return [data]

    return translated


def test_a_translated_ui_reads_the_same_state(tmp_path):
    """Nothing the reader uses is translated: the same Current and phones whatever the reader's language."""
    from aliassync.sandbox.admin_screens import make_admin_app
    from aliassync.sandbox.store import init_sandbox

    path = str(tmp_path / "dialer.sqlite")
    init_sandbox(path, PHONES, aliases=ALIASES,
                 servers=SERVERS, api_user="apiuser", api_pass=API_PASS)
    results = []
    for wrap in (lambda app: app, _translated):
        with closing(open_store(path)) as store:
            transport = httpx.WSGITransport(app=wrap(make_admin_app(store)))
            with closing(AdminScreenReader("http://dialer.invalid/vicidial/admin.php", "apiuser", API_PASS,
                                           transport=transport, workers=1)) as screens:
                results.append((screens.read(), screens.read_phones({"100a": {"phone_pass": PHONE_PASS}})))
            with httpx.Client(transport=transport, auth=("apiuser", API_PASS)) as client:
                shown = [client.get(f"http://dialer.invalid/vicidial/admin.php?ADD={screen}").text
                         for screen in ("12000000000", "100000000000")]
    assert "MODIFICAR</a>" in shown[0] and "TODOS</td>" in shown[0] and "SI</td>" in shown[1]   # it was translated
    assert results[0] == results[1]
    assert results[0][0].aliases["sales1"].alias_name == 'Sales & <b>floor</b> "1"'


def test_the_check_before_a_phone_write_opens_one_page_by_the_key_the_action_names(hosted):
    """What the applier asks before and after each phone write: the row of a login at a key, for one page."""
    db_url, admin_url = hosted
    database = _mysql_reader(db_url)
    with closing(admin_reader(admin_url)) as screens:
        try:
            both = database.read_phone_rows(["200a"])["200a"]
        finally:
            database.close()
        at_201 = next(p for p in both if p.extension == "201")
        assert screens.read_phone_at("200A", "201", "10.10.10.16") == at_201    # inactive: no bulk page shows it
        assert screens.requests == 1 + 1
        assert screens.read_phone_at("100a", "201", "10.10.10.16") is None      # another login holds that key
        assert screens.read_phone_at("200a", "999", "10.10.10.16") is None      # no phone there
        assert screens.requests == 1 + 3
