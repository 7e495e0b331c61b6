"""`export --phones`: the live phones as declarations whose plan against the same sandbox is empty,
their passwords as references (one per distinct password), never values."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from aliassync.cli import main
from aliassync.core.model import LiveAlias
from aliassync.sandbox.store import init_sandbox

SERVERS = [{"server_ip": "10.10.10.15", "server_id": "dial15"}, {"server_ip": "10.10.10.16", "server_id": "dial16"}]
PASSWORDS = {"Pw300x": "shared phone password", "pw300x": "the same in other case: another password",
             "Reg300x": "shared registration password", "RegSolo9": "one phone's registration password"}


def row(login, extension, server_ip, password, secret, **columns):
    """A full `phones` row, by column name."""
    return {"login": login, "extension": extension, "server_ip": server_ip, "pass": password,
            "conf_secret": secret, "dialplan_number": extension.rjust(3, "9"), "voicemail_id": extension,
            "fullname": f"ext {extension}", "protocol": "SIP", "local_gmt": "-5.00", "outbound_cid": "3125550100",
            "status": "ACTIVE", "active": "Y", **columns}


PHONES = [
    row("300a", "300", "10.10.10.15", "Pw300x", "Reg300x", template_id="SIPbasic", user_group="AGENTS",
        email="ops@example.test", phone_context="agents"),
    row("300b", "300", "10.10.10.16", "Pw300x", "Reg300x", active="N", is_webphone="Y_API_LAUNCH",
        webphone_auto_answer="N", use_external_server_ip="Y", on_hook_agent="Y", local_gmt="5.50"),
    row("301a", "301", "10.10.10.15", "pw300x", "RegSolo9", outbound_cid=""),   # empty: not declared
    # Not declarable as stored: each is listed with its reason and ignored.
    row("dup1", "410", "10.10.10.15", "Pw300x", "Reg300x"),
    row("DUP1", "411", "10.10.10.16", "Pw300x", "Reg300x"),                  # one login, two phones
    row("gmt5", "412", "10.10.10.15", "Pw300x", "Reg300x", local_gmt="-5"),  # not one of the 33 values
    row("far9", "413", "10.10.10.16", "Pw300x", "Reg300x"),   # moved off VICIdial's servers below
    row("shortpw", "414", "10.10.10.15", "x", "Reg300x"),                    # a password outside the rules
    row("bad login", "415", "10.10.10.15", "Pw300x", "Reg300x"),
]
IGNORED = ["bad login", "dup1", "far9", "gmt5", "shortpw"]   # by folded login


@pytest.fixture
def sandbox(tmp_path):
    path = str(tmp_path / "dialer.sqlite")
    init_sandbox(path, PHONES, servers=SERVERS, templates=["SIPbasic"],
                 aliases=[LiveAlias("team3", "Team three", "300a,300b,301a")])
    with sqlite3.connect(path) as connection:   # a server the sandbox would not seed: not one of VICIdial's
        connection.execute("UPDATE phones SET server_ip = '10.10.10.99' WHERE login = 'far9'")
    return path


def export(tmp_path: Path, sandbox: str, *extra: str) -> str:
    out = tmp_path / "exported.yaml"
    assert main(["export", "--sandbox", sandbox, "--out", str(out), "--force", *extra]) == 0
    return out.read_text(encoding="utf-8")


def variables(text: str) -> dict[str, list[str]]:
    """Each referenced variable -> the phones (login: field) that reference it."""
    used: dict[str, list[str]] = {}
    login = None
    for line in text.splitlines():
        if m := re.fullmatch(r'  "([^"]+)":', line):
            login = m[1]
        if m := re.fullmatch(r"    (phone_pass|registration_password): \{env: (\w+)\}", line):
            used.setdefault(m[2], []).append(f"{login}: {m[1]}")
    return used


def test_the_export_validates_and_plans_no_phone_change_with_the_real_passwords(tmp_path, sandbox, monkeypatch,
                                                                                   capsys):
    text = export(tmp_path, sandbox, "--phones")
    path = str(tmp_path / "exported.yaml")
    used = variables(text)
    assert used == {"ALIASSYNC_PHONE_PASS_1": ["300a: phone_pass", "300b: phone_pass"],
                    "ALIASSYNC_SIP_SECRET_1": ["300a: registration_password", "300b: registration_password"],
                    "ALIASSYNC_PHONE_PASS_2": ["301a: phone_pass"],
                    "ALIASSYNC_SIP_SECRET_2": ["301a: registration_password"]}
    for name in used:   # the header names every variable to set
        assert f"#   {name}: the " in text.split("version: 1")[0]

    # any valid values: the file validates
    for name in used:
        monkeypatch.setenv(name, "any-valid_1")
    assert main(["validate", path]) == 0

    # the real passwords: the plan changes nothing, phones or aliases
    real = {"ALIASSYNC_PHONE_PASS_1": "Pw300x", "ALIASSYNC_PHONE_PASS_2": "pw300x",
            "ALIASSYNC_SIP_SECRET_1": "Reg300x", "ALIASSYNC_SIP_SECRET_2": "RegSolo9"}
    for name, value in real.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["plan", path, "--sandbox", sandbox, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["actions"] == []

    # a wrong password is seen as a change of that field only (the references are really compared)
    monkeypatch.setenv("ALIASSYNC_PHONE_PASS_2", "pw300X")
    assert main(["plan", path, "--sandbox", sandbox]) == 2
    assert "301a" in capsys.readouterr().out


def test_the_fields_are_declared_as_the_schema_wants_them(tmp_path, sandbox):
    text = export(tmp_path, sandbox, "--phones")
    block = text[text.index('  "300b":'):text.index('  "301a":')]
    assert '    local_gmt: "5.50"\n' in block
    assert "    active: false\n" in block
    assert '    is_webphone: "Y_API_LAUNCH"\n' in block
    assert "    webphone_auto_answer: false\n    use_external_server_ip: true\n    on_hook_agent: true\n" in block
    first = text[text.index('  "300a":'):text.index('  "300b":')]
    assert "    active: true\n" in first and '    template_id: "SIPbasic"\n' in first
    assert '    admin_user_group: "AGENTS"\n' in first
    third = text[text.index('  "301a":'):]
    assert "outbound_cid" not in third.split("\n  \"")[0]   # stored empty: left as it is


def test_phones_that_cannot_be_declared_are_listed_and_ignored(tmp_path, sandbox):
    text = export(tmp_path, sandbox, "--phones")
    declared = re.findall(r'^  "([^"]+)":$', text.split("\nphones:\n")[1], re.M)
    assert declared == ["300a", "300b", "301a"]
    ignore = re.search(r"^    ignore: \[(.*)\]$", text, re.M)[1]
    assert ignore == ", ".join(f'"{login}"' for login in IGNORED)
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#   '"))
    assert "2 phones hold this login" in comments
    assert "'gmt5': local_gmt '-5' is outside the rule" in comments
    assert "'far9': server_ip '10.10.10.99' is not one of VICIdial's servers" in comments
    assert "'shortpw': its phone_pass is empty or outside the rule" in comments
    assert "'bad login': login 'bad login' is outside the rule" in comments


def test_no_password_appears_and_a_shared_password_shares_one_variable(tmp_path, sandbox):
    text = export(tmp_path, sandbox, "--phones")
    for password in PASSWORDS:
        assert password not in text
    assert "'x'" not in text   # the short password of shortpw either
    used = variables(text)
    assert len(used["ALIASSYNC_PHONE_PASS_1"]) == 2 and len(used["ALIASSYNC_SIP_SECRET_1"]) == 2
    # equal but for case is another password: another variable
    assert used["ALIASSYNC_PHONE_PASS_2"] == ["301a: phone_pass"]


def test_without_the_flag_the_export_is_as_before(tmp_path, sandbox):
    text = export(tmp_path, sandbox)
    assert "phones" not in text and "ALIASSYNC_" not in text
    assert text.endswith('aliases:\n  "team3":\n    alias_name: "Team three"\n    phone_logins: ["300a", "300b", "301a"]\n')


@pytest.mark.parametrize("engine", ["sqlite", "mariadb"])
def test_the_reader_groups_passwords_byte_exactly_on_both_engines(request, tmp_path, engine):
    """One query; equal numbers for byte-equal passwords only (case counts), and whether each fits the rule."""
    from aliassync.sandbox.store import init_mysql
    from aliassync.vicidial.db_url import parse_db_url
    from aliassync.vicidial.state_reader import SqlStateReader

    rows = [row("a1", "501", "10.10.10.15", "Same1", "s"), row("a2", "502", "10.10.10.15", "Same1", "ok_2"),
            row("a3", "503", "10.10.10.15", "same1", "has space"), row("a4", "504", "10.10.10.15", "Same1\n", "")]
    if engine == "sqlite":
        location = str(tmp_path / "s.sqlite")
        init_sandbox(location, rows, servers=SERVERS)
        reader = SqlStateReader(lambda: sqlite3.connect(location), "?", "sandbox", errors=(sqlite3.Error,))
    else:
        import pymysql
        location = request.getfixturevalue("mariadb_url")
        init_mysql(location, rows, servers=SERVERS)
        parts = parse_db_url(location)
        reader = SqlStateReader(lambda: pymysql.connect(host=parts.host, port=parts.port, user=parts.user,
                                                        password=parts.password, database=parts.database,
                                                        charset="utf8mb4", autocommit=True),
                                "%s", "test database", errors=(pymysql.MySQLError,))
    try:
        groups = reader.read_password_groups()
        assert reader.queries == 1
    finally:
        reader.close()
    by_login = {key[0]: value for key, value in groups.items()}
    passes = {login: value["phone_pass"] for login, value in by_login.items()}
    assert passes["a1"][0] == passes["a2"][0]
    assert len({passes[login][0] for login in ("a1", "a3", "a4")}) == 3
    assert [passes[login][1] for login in ("a1", "a2", "a3", "a4")] == [True, True, True, False]
    assert [by_login[login]["registration_password"][1] for login in ("a1", "a2", "a3", "a4")] == [
        False, True, False, False]
