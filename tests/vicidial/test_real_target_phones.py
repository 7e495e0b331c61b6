"""Phones and stations on a real target: the onboarding job of
tests/test_phones_end_to_end.py, but the CLI writes through the API emulator
over HTTP on 127.0.0.1, the emulator stores in MariaDB, and the CLI reads the
state with a read-only database account holding exactly the grants docs/security.md
lists for files that declare phones (so a missing grant in the docs fails
here, as it would on a real VICIdial).
"""
from __future__ import annotations

import json
import secrets
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest

from aliassync.cli import main
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_mysql, open_store
from aliassync.vicidial.db_url import parse_db_url

SECURITY = Path(__file__).parents[2] / "docs" / "security.md"
SERVERS = [{"server_ip": "10.10.10.15", "server_id": "agent1"},
           {"server_ip": "10.10.10.16", "server_id": "agent2"},
           {"server_ip": "10.10.10.17", "server_id": "agent3"}]
HAND_MADE = [{"login": "300a", "extension": "300", "server_ip": "10.10.10.15"}]
API_PASS = "ApiPw" + secrets.token_hex(8)
DB_PASS = "DbPw" + secrets.token_hex(8)
PHONE_PASS = "Agent" + secrets.token_hex(6)
ROTATED = "Rotated" + secrets.token_hex(6)
SIP_SECRET = "Sip" + secrets.token_hex(6)

DEFAULTS = """\
version: 1
phone_defaults:
  protocol: SIP
  local_gmt: "-5.00"
  outbound_cid: "3125550100"
  phone_pass: {env: AGENT_PHONE_PASS}
  registration_password: {file: sip-secret}
"""
TWO = "  10.10.10.15: a\n  10.10.10.16: b\n"
STATIONS = '  "200": {alias_name: Desk 200, servers: all}\n  "201": {alias_name: Desk 201, servers: all}\n'


def cluster(servers: str) -> str:
    return DEFAULTS + f"servers:\n{servers}stations:\n{STATIONS}"


def documented_grants() -> list[str]:
    """The read-only account's grants for files that declare phones, as docs/security.md lists them.

    The first block's `phones` line is replaced by the second block's (the page says so).
    """
    text = SECURITY.read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]
    grants = [[line for line in block.splitlines() if line.startswith("GRANT ")] for block in blocks]
    aliases_only, with_phones = grants[0], grants[1]
    assert any(" ON asterisk.phones " in line for line in with_phones), with_phones
    return [line for line in aliases_only if " ON asterisk.phones " not in line] + with_phones


@pytest.fixture
def dialer(mariadb_url, monkeypatch, tmp_path):
    """MariaDB holding three agent servers and a hand-made phone, the emulator on it, a reader granted as docs/security.md says."""
    init_mysql(mariadb_url, HAND_MADE, api_user="apiuser", api_pass=API_PASS, servers=SERVERS)
    parts = parse_db_url(mariadb_url)
    reader = f"ro_{secrets.token_hex(4)}"
    grants = documented_grants()
    admin = pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                            autocommit=True)
    with closing(admin), admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{DB_PASS}'")
        try:
            for grant in grants:
                cursor.execute(grant.rstrip(";").replace("asterisk.", f"`{parts.database}`.")
                               .replace("'aliassync'@'%'", f"'{reader}'@'%'"))
            ro_url = urlsplit(mariadb_url)._replace(netloc=f"{reader}:{DB_PASS}@{parts.host}:{parts.port}").geturl()
            monkeypatch.setenv("AGENT_PHONE_PASS", PHONE_PASS)
            (tmp_path / "sip-secret").write_text(SIP_SECRET + "\n", encoding="utf-8")
            with running_sandbox(mariadb_url) as base:
                monkeypatch.setenv("ALIASSYNC_API_URL", base + API_PATH)
                monkeypatch.setenv("ALIASSYNC_API_USER", "apiuser")
                monkeypatch.setenv("ALIASSYNC_API_PASS", API_PASS)
                monkeypatch.setenv("ALIASSYNC_DB_URL", ro_url)
                yield mariadb_url
        finally:
            cursor.execute(f"DROP USER '{reader}'@'%'")


@pytest.fixture
def run(dialer, tmp_path, capsys):
    files = tmp_path / "cluster.yaml"

    def command(*argv: str, body: str | None = None) -> tuple[int, str, str]:
        if body is not None:
            files.write_text(body, encoding="utf-8")
        code = main([argv[0], str(files), *argv[1:]])
        out, err = capsys.readouterr()
        return code, out, err

    command.url = dialer
    command.tmp = tmp_path
    return command


def table(url: str, sql: str) -> list[tuple]:
    with closing(open_store(url)) as store:
        return [tuple(row) for row in store._rows(sql, ())]


def test_two_stations_on_two_servers_create_phones_then_aliases_and_a_second_plan_is_empty(run):
    code, out, err = run("plan", body=cluster(TWO))
    assert code == 2, err
    assert [line for line in out.splitlines() if line.startswith("  + ")] == [
        "  + create phone 200a", "  + create phone 200b", "  + create phone 201a", "  + create phone 201b",
        "  + create 200", "  + create 201"], out
    assert "Plan: 6 to create, 0 to update, 0 to delete." in out
    code, out, err = run("plan", "--format", "json")
    assert code == 2, err
    assert [(a["key"], a["depends_on"]) for a in json.loads(out)["actions"]] == [
        ("create:phone:200a", []), ("create:phone:200b", []), ("create:phone:201a", []), ("create:phone:201b", []),
        ("create:200", ["create:phone:200a", "create:phone:200b"]),
        ("create:201", ["create:phone:201a", "create:phone:201b"])]
    assert PHONE_PASS not in out and SIP_SECRET not in out

    code, out, err = run("apply", "--yes", "--concurrency", "4")
    assert code == 0, err
    assert out.endswith("Apply: 6 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert table(run.url, "SELECT login, extension, server_ip, dialplan_number, voicemail_id, fullname, pass, "
                          "conf_secret FROM phones WHERE login LIKE '20%' ORDER BY login") == [
        ("200a", "200", "10.10.10.15", "200", "200", "ext 200", PHONE_PASS, SIP_SECRET),
        ("200b", "200", "10.10.10.16", "1200", "200", "ext 200", PHONE_PASS, SIP_SECRET),
        ("201a", "201", "10.10.10.15", "201", "201", "ext 201", PHONE_PASS, SIP_SECRET),
        ("201b", "201", "10.10.10.16", "1201", "201", "ext 201", PHONE_PASS, SIP_SECRET)]
    assert table(run.url, "SELECT alias_id, logins_list FROM phones_alias ORDER BY alias_id") == [
        ("200", "200a,200b"), ("201", "201a,201b")]
    log = table(run.url, "SELECT event_section, event_type, record_id FROM vicidial_admin_log ORDER BY admin_log_id")
    for station in ("200", "201"):
        phones_written = [i for i, w in enumerate(log) if w == ("PHONES", "ADD", station)]
        assert len(phones_written) == 2 and log.index(("PHONEALIASES", "ADD", station)) > max(phones_written)

    code, out, err = run("plan")
    assert code == 0, err
    assert out.endswith("No changes. The live aliases and phones match the files. Left alone: 2 in sync, "
                        "0 unmanaged, 0 ignored. Phones left alone: 4 in sync, 1 unmanaged, 0 ignored.\n")


def test_a_rotated_password_updates_that_field_alone_and_is_shown_nowhere(run, monkeypatch):
    assert run("apply", "--yes", body=cluster(TWO))[0] == 0
    monkeypatch.setenv("AGENT_PHONE_PASS", ROTATED)
    code, out, err = run("plan")
    assert code == 2, err
    assert "  ~ update phone 200a\n      extension 200 on 10.10.10.15\n" \
           "      phone_pass: changes (from {env: AGENT_PHONE_PASS})\n" in out
    assert [line for line in out.splitlines() if line.startswith("      ") and ":" in line
            and not line.startswith("      extension")] == ["      phone_pass: changes (from {env: AGENT_PHONE_PASS})"] * 4
    result = run.tmp / "result.json"
    code, out, err = run("apply", "--yes", "--result", str(result))
    assert code == 0, err
    assert out.endswith("Apply: 4 done, 0 failed, 0 skipped, 0 conflict.\n")
    for text in (out, err, result.read_text(encoding="utf-8")):
        for secret in (ROTATED, PHONE_PASS, SIP_SECRET, API_PASS, DB_PASS):
            assert secret not in text
    assert table(run.url, "SELECT login, pass, conf_secret FROM phones WHERE login LIKE '20%' ORDER BY login") == [
        (login, ROTATED, SIP_SECRET) for login in ("200a", "200b", "201a", "201b")]
    assert table(run.url, "SELECT alias_id, logins_list FROM phones_alias ORDER BY alias_id") == [
        ("200", "200a,200b"), ("201", "201a,201b")]
    assert run("plan")[0] == 0


def test_a_third_server_plans_only_its_phones_and_the_alias_updates_after_them(run):
    assert run("apply", "--yes", body=cluster(TWO))[0] == 0
    code, out, err = run("plan", "--format", "json", body=cluster(TWO + "  10.10.10.17: c\n"))
    assert code == 2, err
    assert [(a["key"], a["depends_on"]) for a in json.loads(out)["actions"]] == [
        ("create:phone:200c", []), ("create:phone:201c", []),
        ("update:200", ["create:phone:200c"]), ("update:201", ["create:phone:201c"])]
    assert run("apply", "--yes")[0] == 0
    assert table(run.url, "SELECT login, server_ip, dialplan_number FROM phones WHERE login LIKE '20%c' "
                          "ORDER BY login") == [("200c", "10.10.10.17", "2200"), ("201c", "10.10.10.17", "2201")]
    assert table(run.url, "SELECT alias_id, logins_list FROM phones_alias ORDER BY alias_id") == [
        ("200", "200a,200b,200c"), ("201", "201a,201b,201c")]
    assert run("plan")[0] == 0


def admin_log(url: str) -> list[tuple]:
    return table(url, "SELECT event_section, event_type, record_id FROM vicidial_admin_log ORDER BY admin_log_id")


def test_a_server_removed_with_phones_prune_updates_the_aliases_then_deletes_the_phones(run):
    prune = "settings:\n  phones: {prune: true, ignore: [\"300*\"]}\n"
    assert run("apply", "--yes", body=prune + cluster(TWO))[0] == 0
    before = len(admin_log(run.url))
    code, out, err = run("plan", "--format", "json", body=prune + cluster("  10.10.10.15: a\n"))
    assert code == 2, err
    assert [(a["key"], a["depends_on"]) for a in json.loads(out)["actions"]] == [
        ("update:200", []), ("update:201", []),
        ("delete:phone:200b", ["update:200"]), ("delete:phone:201b", ["update:201"])]
    code, out, err = run("apply", "--yes", "--concurrency", "4")
    assert code == 0, err
    written = admin_log(run.url)[before:]
    for station in ("200", "201"):   # each alias stops listing its phone before the phone goes
        assert written.index(("PHONEALIASES", "MODIFY", station)) < written.index(("PHONES", "DELETE", station))
    assert table(run.url, "SELECT login FROM phones ORDER BY login") == [("200a",), ("201a",), ("300a",)]
    assert table(run.url, "SELECT alias_id, logins_list FROM phones_alias ORDER BY alias_id") == [
        ("200", "200a"), ("201", "201a")]
    assert run("plan")[0] == 0


@pytest.mark.parametrize("body, message", [
    (cluster("  10.10.10.99: a\n"), "phone 200a: server_ip 10.10.10.99 is not one of VICIdial's servers"),
    (cluster(TWO).replace("{env: AGENT_PHONE_PASS}", "Agent1234"),
     "cluster.yaml:6:15: phone_defaults.phone_pass must be a reference, {env: NAME} or {file: PATH}, never the "
     "password itself"),
    (cluster(TWO).replace('"-5.00"', "-5"),
     'cluster.yaml:4:14: phone_defaults.local_gmt \'-5\' must be written exactly as VICIdial lists it, in quotes: '
     '"-5.00"'),
    (cluster(TWO) + "phones:\n  300A: {extension: \"301\", server_ip: 10.10.10.16}\n",
     "phone 300A: the dialer has phone 300a on extension 300 on 10.10.10.15 (logins compare case-insensitively)"),
], ids=["unknown server", "literal password", "local_gmt -5", "login of another phone in other case"])
def test_refusals_write_nothing(run, body, message):
    code, out, err = run("apply", "--yes", body=body)
    assert code == 1, out
    assert message in err
    assert "Agent1234" not in out + err
    assert admin_log(run.url) == []


def test_a_login_clashing_with_a_live_alias_is_refused_and_nothing_is_written(run):
    with closing(open_store(run.url)) as store:
        store.insert("phones_alias", {"alias_id": "200A", "alias_name": "Hand", "logins_list": "300a"})
    code, _, err = run("apply", "--yes", body=cluster(TWO))
    assert code == 1
    assert "phone 200a: the dialer has an alias 200A; agents typing 200a would reach the alias" in err
    assert admin_log(run.url) == []


def test_deleting_a_phone_an_alias_or_an_agent_uses_is_refused_and_nothing_is_written(run):
    assert run("apply", "--yes", body=cluster(TWO))[0] == 0
    before = admin_log(run.url)
    # 300a is the hand-made phone: an alias made by hand lists it, and the files now say it must go
    with closing(open_store(run.url)) as store:
        store.insert("phones_alias", {"alias_id": "hand1", "alias_name": "Hand", "logins_list": "300a"})
    gone = cluster(TWO) + "phones:\n  300a: {ensure: absent}\n"
    code, _, err = run("apply", "--yes", body=gone)
    assert code == 1
    assert ("phone 300a: deleting it would leave alias(es) hand1 listing it; drop it from them first (in the "
            "files)") in err
    assert admin_log(run.url) == before

    # the alias is gone; now an agent's default phone login names the phone
    with closing(open_store(run.url)) as store:
        store.delete("phones_alias", {"alias_id": "hand1"})
        store.insert("vicidial_users", {"user": "agent7", "pass": "x", "phone_login": "300a"})
    code, _, err = run("apply", "--yes", body=gone)
    assert code == 1
    assert ("error: apply refused, nothing written: agents log in with 1 phone(s) it deletes: phone 300a (users "
            "agent7); deleting them leaves those agents without their default phone login; to delete them anyway, "
            "run with --allow-in-use-deletes") in err
    assert admin_log(run.url) == before
    assert table(run.url, "SELECT login FROM phones WHERE login = '300a'") == [("300a",)]
