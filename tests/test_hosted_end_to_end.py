"""Hosted mode end to end: the command line reads the live state through admin.php, writes through the API.

On MariaDB with the sandbox serving both the API and the admin screens
on 127.0.0.1, exactly as a hosted dialer offers them (no database
account): the same plan as the database gives over a state with odd
values; converge, a phone replaced, a prune, drift, export and stations;
and what is refused, with its exact message and exit code.
"""
from __future__ import annotations

import json
import secrets
from contextlib import closing
from urllib.parse import urlsplit

import pymysql
import pytest

from aliassync.cli import main
from aliassync.core.model import LiveAlias
from aliassync.sandbox.admin_screens import ADMIN_PATH
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_mysql, open_store
from aliassync.vicidial.db_url import parse_db_url

from desired_files import files

API_PASS = "ApiPw" + secrets.token_hex(8)
DB_PASS = "DbPw" + secrets.token_hex(8)
PHONE_PASS = "Agent1234"
SIP_SECRET = "SipSecret77"
SERVERS = [{"server_ip": "10.10.10.15", "server_id": "agent1"}, {"server_ip": "10.10.10.16", "server_id": "agent2"}]
PHONES = [
    {"login": "100a", "extension": "100", "server_ip": "10.10.10.15", "pass": PHONE_PASS, "conf_secret": SIP_SECRET,
     "fullname": 'Desk "7" & <b>co</b>', "outbound_cid": "3125550100"},
    {"login": "100b", "extension": "100", "server_ip": "10.10.10.16", "pass": PHONE_PASS, "conf_secret": SIP_SECRET},
    {"login": "100c", "extension": "101", "server_ip": "10.10.10.15", "pass": PHONE_PASS, "active": "N"},
    {"login": "old7", "extension": "700", "server_ip": "10.10.10.16", "pass": PHONE_PASS},
]
ALIASES = [
    LiveAlias("sales1", "Sales & <b>floor</b> \"1\"", "100a,100b"),
    LiveAlias("odd2", "  ", " 100a, ,100b,,"),
    LiveAlias("amp3", "&amp; it's", "100c"),
]
DEFAULTS = """\
phone_defaults:
  protocol: SIP
  local_gmt: "-5.00"
  outbound_cid: "3125550100"
  phone_pass: {env: AGENT_PHONE_PASS}
  registration_password: {env: SIP_SECRET}
"""


@pytest.fixture
def dialer(mariadb_url, monkeypatch):
    """A hosted dialer: the API and admin.php on a free 127.0.0.1 port; a read-only database account beside it
    (for the database-mode half of the comparison only)."""
    init_mysql(mariadb_url, PHONES, api_user="apiuser", api_pass=API_PASS, aliases=ALIASES, servers=SERVERS)
    parts = parse_db_url(mariadb_url)
    reader = f"ro_{secrets.token_hex(4)}"
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{DB_PASS}'")
        cursor.execute(f"GRANT SELECT ON `{parts.database}`.* TO '{reader}'@'%'")
    monkeypatch.setenv("AGENT_PHONE_PASS", PHONE_PASS)
    monkeypatch.setenv("SIP_SECRET", SIP_SECRET)
    monkeypatch.delenv("ALIASSYNC_DB_URL", raising=False)
    with running_sandbox(mariadb_url) as base:
        monkeypatch.setenv("ALIASSYNC_API_URL", base + API_PATH)
        monkeypatch.setenv("ALIASSYNC_API_USER", "apiuser")
        monkeypatch.setenv("ALIASSYNC_API_PASS", API_PASS)
        monkeypatch.setenv("ALIASSYNC_ADMIN_URL", base + ADMIN_PATH)
        yield {"url": mariadb_url, "admin": base + ADMIN_PATH,
               "ro": urlsplit(mariadb_url)._replace(netloc=f"{reader}:{DB_PASS}@{parts.host}:{parts.port}").geturl()}
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP USER '{reader}'@'%'")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    for secret in (API_PASS, DB_PASS, PHONE_PASS, SIP_SECRET):
        assert secret not in out + err
    return code, out, err


def table(url: str, statement: str) -> list[tuple]:
    with closing(open_store(url)) as store:
        return sorted(store._rows(statement, ()))


def writes(url: str) -> list[tuple]:
    with closing(open_store(url)) as store:
        return store._rows("SELECT event_section, event_type, record_id FROM vicidial_admin_log "
                           "ORDER BY admin_log_id", ())


CHANGES = DEFAULTS + """\
phones:
  100a: {extension: "100", server_ip: 10.10.10.15, dialplan_number: "1000", voicemail_id: "100",
         phone_full_name: Desk 100}
  100b: {extension: "102", server_ip: 10.10.10.16, dialplan_number: "1102", voicemail_id: "102",
         phone_full_name: Desk 102}
  400a: {extension: "400", server_ip: 10.10.10.15, dialplan_number: "4000", voicemail_id: "400",
         phone_full_name: Desk 400}
aliases:
  sales1: {alias_name: Sales floor 1, phone_logins: [100b, 100a]}
  team4: {alias_name: Team 4, phone_logins: [400a, 100a]}
"""


def test_the_same_plan_from_the_database_and_from_the_admin_screens(dialer, tmp_path, capsys, monkeypatch):
    """One live state with odd values, planned both ways: the same actions, warnings and refusals."""
    path = files(tmp_path, CHANGES)
    code, hosted, _ = run(capsys, "plan", path, "--format", "json")
    assert code == 2
    monkeypatch.delenv("ALIASSYNC_ADMIN_URL")
    monkeypatch.setenv("ALIASSYNC_DB_URL", dialer["ro"])
    code, database, _ = run(capsys, "plan", path, "--format", "json")
    assert code == 2
    hosted, database = json.loads(hosted), json.loads(database)
    assert hosted.pop("target") == f"admin screens {dialer['admin']}, API {dialer['admin'][:-len(ADMIN_PATH)]}{API_PATH}"
    assert database.pop("target").startswith("database mysql://")
    assert hosted == database
    assert [(a["action"], a.get("login") or a.get("alias_id")) for a in hosted["actions"]] == [
        ("update", "100a"), ("delete", "100b"), ("create", "100b"), ("create", "400a"),
        ("update", "sales1"), ("create", "team4")]
    assert {w["code"] for w in hosted["warnings"]} == {"dangling-member"}


def test_converge_replace_prune_drift_and_export_in_hosted_mode(dialer, tmp_path, capsys, monkeypatch):
    path = files(tmp_path, CHANGES)
    # apply, then a second plan is empty
    code, out, err = run(capsys, "apply", path, "--yes")
    assert code == 0, out + err
    assert run(capsys, "plan", path)[0] == 0
    assert table(dialer["url"], "SELECT login, extension, server_ip FROM phones") == [
        ("100a", "100", "10.10.10.15"), ("100b", "102", "10.10.10.16"), ("100c", "101", "10.10.10.15"),
        ("400a", "400", "10.10.10.15"), ("old7", "700", "10.10.10.16")]
    assert table(dialer["url"], "SELECT alias_id, logins_list FROM phones_alias") == [
        ("amp3", "100c"), ("odd2", " 100a, ,100b,,"), ("sales1", "100b,100a"), ("team4", "400a,100a")]
    # drift: a change made by hand shows, exit 2; the run costs 4 pages and one per phone (-v says so)
    with closing(open_store(dialer["url"])) as store:
        store.update("phones_alias", {"alias_name": "Renamed & <i>by hand</i>"}, {"alias_id": "team4"})
    code, out, err = run(capsys, "drift", path, "--format", "json")
    assert code == 2
    assert [entry["alias_id"] for entry in json.loads(out)["drift"]] == ["team4"]
    assert "state: 5 requests to admin.php (4 list pages and 1 pages of phones missing from the active list)" in err
    assert "state: 6 requests to admin.php for the phones (the server list and 5 phone pages); 11 in all" in err
    assert "state: 11 requests to admin.php in this run" in err
    # prune: the phones and aliases not declared go; hosted mode cannot see agents' logins, so plan says so
    # and apply refuses the deletes until the run accepts that risk
    pruned = files(tmp_path, CHANGES.replace("phones:\n", "settings:\n  prune: true\n  phones: {prune: true}\n"
                                                         "phones:\n", 1), "pruned.yaml")
    code, out, _ = run(capsys, "plan", pruned, "--format", "json")
    plan = json.loads(out)
    assert code == 2
    assert [w["message"] for w in plan["warnings"] if w["code"] == "agents-unchecked"][:1] == [
        "deleted, but whether agents log in with it cannot be checked (vicidial_users.phone_login could not be read)"]
    code, out, err = run(capsys, "apply", pruned, "--yes")
    assert code == 1
    assert "which agents log in with them cannot be checked" in err.splitlines()[-1]
    before = writes(dialer["url"])
    code, out, err = run(capsys, "apply", pruned, "--yes", "--allow-in-use-deletes", "--allow-deletes", "10")
    assert code == 0, out + err
    assert sorted(writes(dialer["url"])[len(before):]) == [   # phones are logged by extension
        ("PHONEALIASES", "DELETE", "amp3"), ("PHONEALIASES", "DELETE", "odd2"), ("PHONEALIASES", "MODIFY", "team4"),
        ("PHONES", "DELETE", "101"), ("PHONES", "DELETE", "700")]
    assert run(capsys, "plan", pruned)[0] == 0
    # export, phones included: passwords as references grouped by equality, never values
    exported = tmp_path / "export.yaml"
    code, out, err = run(capsys, "export", "--phones", "--out", str(exported))
    assert code == 0, err
    text = exported.read_text(encoding="utf-8")
    assert '"team4":' in text and '"400a":' in text and PHONE_PASS not in text and SIP_SECRET not in text
    assert "#   ALIASSYNC_PHONE_PASS_1: the phone_pass of 100a, 100b, 400a\n" in text
    # the database exports the same file (but for the line naming where it was read)
    monkeypatch.delenv("ALIASSYNC_ADMIN_URL")
    monkeypatch.setenv("ALIASSYNC_DB_URL", dialer["ro"])
    assert run(capsys, "export", "--phones", "--out", str(tmp_path / "db.yaml"))[0] == 0
    assert (tmp_path / "db.yaml").read_text(encoding="utf-8").split("\n")[1:] == text.split("\n")[1:]


STATIONS = DEFAULTS + """\
servers:
  10.10.10.15: a
  10.10.10.16: b
stations:
  "500": {alias_name: Desk 500, servers: all}
"""


def test_stations_in_hosted_mode(dialer, tmp_path, capsys):
    path = files(tmp_path, STATIONS)
    code, out, err = run(capsys, "apply", path, "--yes")
    assert code == 0, out + err
    assert table(dialer["url"], "SELECT login, extension, server_ip, dialplan_number FROM phones WHERE extension = '500'") \
        == [("500a", "500", "10.10.10.15", "500"), ("500b", "500", "10.10.10.16", "1500")]
    assert table(dialer["url"], "SELECT logins_list FROM phones_alias WHERE alias_id = '500'") == [("500a,500b",)]
    assert run(capsys, "plan", path)[0] == 0


def test_a_restricted_reader_is_refused_and_nothing_is_written(dialer, tmp_path, capsys):
    with closing(open_store(dialer["url"])) as store:
        store.update("vicidial_user_groups", {"admin_viewable_groups": " ADMIN SALES -"}, {"user_group": "ADMIN"})
    path = files(tmp_path, CHANGES)
    code, out, err = run(capsys, "apply", path, "--yes")
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"error: cannot read the live state from admin screens {dialer['admin']}: user apiuser does not see every "
        "record (its user group's admin_viewable_groups is restricted: the Admin User Group choices do not offer "
        "---ALL---); its lists would leave records out, so nothing was planned; read with a user whose group may "
        "view all groups")
    assert writes(dialer["url"]) == []


def test_a_bad_password_is_one_failed_login_never_shown(dialer, tmp_path, capsys, monkeypatch):
    wrong = "WrongPw" + secrets.token_hex(8)
    monkeypatch.setenv("ALIASSYNC_API_PASS", wrong)
    path = files(tmp_path, CHANGES)
    code, out, err = run(capsys, "apply", path, "--yes", "--debug")
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"error: VICIdial refused the admin screens' login for user apiuser at {dialer['admin']} (HTTP 401); check "
        "ALIASSYNC_API_USER and ALIASSYNC_API_PASS; nothing was read or written")
    assert wrong not in out + err
    assert table(dialer["url"], "SELECT failed_login_count FROM vicidial_users WHERE user = 'apiuser'") == [(1,)]
    assert writes(dialer["url"]) == []


def test_both_state_sources_set_is_an_error_naming_both(dialer, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ALIASSYNC_DB_URL", dialer["ro"])
    code, out, err = run(capsys, "plan", files(tmp_path, CHANGES))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "error: both ALIASSYNC_DB_URL and ALIASSYNC_ADMIN_URL are set (or --db-url-file and --admin-url given); set "
        "exactly one: the live state is read from VICIdial's database or from its admin screens, never both")


def test_the_admin_url_option_stands_for_the_variable(dialer, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ALIASSYNC_ADMIN_URL")
    code, _, err = run(capsys, "plan", files(tmp_path, "aliases: {}\n"), "--admin-url", dialer["admin"])
    assert code == 0, err
    monkeypatch.delenv("ALIASSYNC_API_USER")
    code, _, err = run(capsys, "drift", files(tmp_path, "aliases: {}\n"), "--admin-url", dialer["admin"])
    assert code == 1
    assert err.splitlines()[-1] == ("error: ALIASSYNC_API_USER is not set (or pass --api-user); "
                                    "to try aliassync without a VICIdial, use --sandbox PATH")


def test_deletes_are_refused_when_the_delete_right_cannot_be_read(dialer, tmp_path, capsys):
    """Without modify_users the user's own page is refused: whether it may delete is unknown, so no delete."""
    with closing(open_store(dialer["url"])) as store:
        store.update("vicidial_users", {"modify_users": "0"}, {"user": "apiuser"})
    path = files(tmp_path, "settings: {prune: true}\naliases: {}\n")
    code, out, err = run(capsys, "apply", path, "--yes", "--allow-in-use-deletes")
    assert code == 1
    assert err.splitlines()[-1] == (
        "error: apply refused, nothing written: the plan deletes 3 alias(es), but whether API user apiuser may delete "
        "cannot be read (vicidial_users.ast_delete_phones); give the user modify_users, so that the admin screens "
        "show its own user page")
    assert writes(dialer["url"]) == []


def test_a_plan_saved_in_hosted_mode_is_applied_in_hosted_mode_and_holds_no_password(dialer, tmp_path, capsys):
    path = files(tmp_path, CHANGES)
    saved = tmp_path / "plan.json"
    code, out, _ = run(capsys, "plan", path, "--out", str(saved))
    assert code == 2
    text = saved.read_text(encoding="utf-8")
    assert PHONE_PASS not in text and SIP_SECRET not in text and API_PASS not in text
    code, out, err = run(capsys, "apply", str(saved), "--yes")
    assert code == 0, out + err
    assert run(capsys, "plan", path)[0] == 0


@pytest.mark.parametrize("url", ["ftp://dialer.example.com/vicidial/admin.php",
                                 "https://dialer.example.com/vicidial/admin.php?ADD=12000000000"])
def test_an_admin_url_that_is_not_one_is_named_before_anything_is_read(tmp_path, capsys, monkeypatch, url):
    monkeypatch.delenv("ALIASSYNC_DB_URL", raising=False)
    monkeypatch.setenv("ALIASSYNC_ADMIN_URL", url)
    code, out, err = run(capsys, "drift", files(tmp_path, "aliases: {}\n"))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (f"error: admin URL must be an http:// or https:// URL of admin.php without a "
                                    f"query: {url.split('?')[0]}")
