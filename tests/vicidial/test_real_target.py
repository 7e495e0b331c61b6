"""A real target end to end: the CLI drives the API emulator over HTTP on 127.0.0.1
and reads the state from MariaDB with a read-only account, exactly as it would a
real VICIdial (writes through non_agent_api.php, reads from its database).
"""
import logging
import secrets
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest

from aliassync.cli import main
from aliassync.vicidial.db_url import parse_db_url
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_mysql, open_store

PHONES = [{"login": login} for login in ("100a", "100b", "100c", "200a", "200b")]
API_PASS = "ApiPw" + secrets.token_hex(8)
DB_PASS = "DbPw" + secrets.token_hex(8)


@pytest.fixture
def dialer(mariadb_url, monkeypatch):
    """A MariaDB-backed emulator on a free 127.0.0.1 port, and a read-only DB account."""
    init_mysql(mariadb_url, PHONES, api_user="apiuser", api_pass=API_PASS)
    parts = parse_db_url(mariadb_url)
    reader_user = f"ro_{secrets.token_hex(4)}"
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{reader_user}'@'%' IDENTIFIED BY '{DB_PASS}'")
        cursor.execute(f"GRANT SELECT ON `{parts.database}`.* TO '{reader_user}'@'%'")
    ro_url = urlsplit(mariadb_url)._replace(
        netloc=f"{reader_user}:{DB_PASS}@{parts.host}:{parts.port}").geturl()
    with running_sandbox(mariadb_url) as base:
        monkeypatch.setenv("ALIASSYNC_API_URL", base + API_PATH)
        monkeypatch.setenv("ALIASSYNC_API_USER", "apiuser")
        monkeypatch.setenv("ALIASSYNC_API_PASS", API_PASS)
        monkeypatch.setenv("ALIASSYNC_DB_URL", ro_url)
        yield mariadb_url
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP USER '{reader_user}'@'%'")


def rows(url: str) -> dict[str, tuple[str, str]]:
    with closing(open_store(url)) as store:
        found = store._rows("SELECT alias_id, alias_name, logins_list FROM phones_alias", ())
    return {r[0]: (r[1], r[2]) for r in found}


def desired(tmp_path: Path, body: str, name: str = "aliases.yaml") -> str:
    path = tmp_path / name
    path.write_text("version: 1\n" + body, encoding="utf-8")
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_apply_plan_again_empty(dialer, tmp_path, capsys):
    path = desired(tmp_path, "aliases:\n  sales1: {alias_name: Sales floor 1, phone_logins: [100a, 100b]}\n"
                             "  retired7: {ensure: absent}\n")
    with closing(open_store(dialer)) as store:
        store.insert("phones_alias", {"alias_id": "retired7", "alias_name": "Old", "logins_list": "200a"})
    code, out, _ = run(capsys, "plan", path)
    assert code == 2
    assert "VICIdial 2.14-202 build 250720-1841" in out
    assert run(capsys, "apply", path, "--yes")[0] == 0
    assert rows(dialer) == {"sales1": ("Sales floor 1", "100a,100b")}
    code, out, _ = run(capsys, "plan", path)
    assert code == 0


def test_replacing_a_member_sends_the_whole_new_list(dialer, tmp_path, capsys):
    first = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n")
    assert run(capsys, "apply", first, "--yes")[0] == 0
    second = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100c, 100b]}\n", "b.yaml")
    assert run(capsys, "apply", second, "--yes")[0] == 0
    assert rows(dialer) == {"team1": ("Team one", "100c,100b")}


def test_a_missing_phone_refuses_everything(dialer, tmp_path, capsys):
    path = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 999z]}\n"
                             "  team2: {alias_name: Team two, phone_logins: [100a, 100b]}\n")
    code, _, err = run(capsys, "apply", path, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == ("error: apply refused, nothing written: 1 login(s) are not phones: "
                                    "999z (in team1)")
    assert rows(dialer) == {}


def test_a_bad_password_stops_after_one_login_and_never_shows(dialer, tmp_path, capsys, monkeypatch, caplog):
    wrong = "WrongPw" + secrets.token_hex(8)
    monkeypatch.setenv("ALIASSYNC_API_PASS", wrong)
    path = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n")
    caplog.set_level(logging.DEBUG)
    code, out, err = run(capsys, "apply", path, "--yes", "--debug")
    assert code == 1
    assert err.splitlines()[-1] == ("error: VICIdial refused the login for user apiuser: "
                                    "ERROR: Login incorrect, please try again: |apiuser|***|BAD|")
    for text in (out, err, caplog.text):
        assert wrong not in text and DB_PASS not in text and API_PASS not in text
    with closing(open_store(dialer)) as store:
        (failures,) = store._rows("SELECT failed_login_count FROM vicidial_users WHERE user='apiuser'", ())[0]
    assert failures == 1
    assert rows(dialer) == {}


def test_a_value_the_database_cut_is_a_failed_verification(dialer, tmp_path, capsys):
    with closing(open_store(dialer)) as store:
        store.execute_ddl("ALTER TABLE phones_alias MODIFY alias_name VARCHAR(10)")
    path = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one of floor two, phone_logins: [100a, 100b]}\n")
    code, out, _ = run(capsys, "apply", path, "--yes")
    assert code == 3
    assert ("  failed: create team1: VICIdial answered SUCCESS but the database holds team1 name 'Team one o' "
            "logins '100a,100b', not team1 name 'Team one of floor two' logins '100a,100b'\n") in out


def test_a_database_error_names_the_account_never_its_password(dialer, tmp_path, capsys, monkeypatch):
    parts = parse_db_url(dialer)
    monkeypatch.setenv("ALIASSYNC_DB_URL", f"mysql://nobody:{DB_PASS}@{parts.host}:{parts.port}/{parts.database}")
    path = desired(tmp_path, "aliases: {}\n")
    code, out, err = run(capsys, "plan", path)
    assert code == 1
    assert err.splitlines()[-1].startswith(
        f"error: cannot read the live state from database mysql://nobody@{parts.host}:{parts.port}/{parts.database}: ")
    assert DB_PASS not in out + err
