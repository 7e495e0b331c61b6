"""The file of `aliassync sandbox init` (schema/phones.schema.json): servers, templates, whole phone rows."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pymysql
import pytest

from aliassync.cli import main
from aliassync.core.model import LiveAlias
from aliassync.errors import LoadError
from aliassync.files import loader
from aliassync.sandbox import seed_file
from aliassync.sandbox.store import SandboxError, init_mysql, init_sandbox
from aliassync.vicidial.db_url import parse_db_url

ROOT = Path(__file__).parents[2]
DIALER = ROOT / "tests" / "fixtures" / "two-server-dialer.yaml"
PHONE_COLUMNS = ("extension, server_ip, login, pass, conf_secret, active, status, protocol, dialplan_number, "
                 "voicemail_id, local_gmt, outbound_cid, fullname, phone_type, user_group, template_id, "
                 "is_webphone, phone_ring_timeout, phone_context, webphone_auto_answer")


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "dialer.yaml"
    path.write_text(text)
    return str(path)


def problems(name: str) -> list[str]:
    with pytest.raises(LoadError) as refused:
        seed_file.load(name)
    return [str(problem) for problem in refused.value.problems]


def init(path: Path, seed: seed_file.SandboxSeed) -> None:
    init_sandbox(path, seed.phones, aliases=seed.aliases, users=seed.users, servers=seed.servers,
                 templates=seed.templates)


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


# The dialer of two-server-dialer.yaml as its tables hold it.
SERVERS = [("dial15", "Agents A", "10.10.10.15", "Y", "N", "Y", "Y"),
           ("dial16", "Agents B", "10.10.10.16", "Y", "N", "Y", "Y"),
           ("db17", "aliassync sandbox", "10.10.10.17", "Y", "N", "N", "N")]
SERVERS_SQL = ("SELECT server_id, server_description, server_ip, active, rebuild_conf_files, "
               "generate_vicidial_conf, active_agent_login_server FROM servers ORDER BY server_ip")
PHONES = [
    ("300", "10.10.10.15", "300a", "Pw300", "Reg300", "Y", "ACTIVE", "SIP", "300", "300", "-5.00", "0000000000",
     "ext 300", "CCagent", "AGENTS", "SIPbasic", "N", 60, "default", "Y"),
    ("300", "10.10.10.16", "300b", "Pw300", "Reg300", "N", "ACTIVE", "SIP", "1300", "300", "-5.00", "",
     "300b", None, "---ALL---", "", "Y_API_LAUNCH", 45, "default", "Y"),
    ("301", "10.10.10.16", "300B", "test", "test", "Y", "ACTIVE", "SIP", "301", "301", "-5", "",
     "300B", None, "---ALL---", "", "N", 60, "default", "Y"),
    ("400a", "10.10.10.15", "400a", "test", "test", "Y", "ACTIVE", "SIP", "400a", "400a", "-5.00", "",
     "400a", None, "---ALL---", "", "N", 60, "default", "Y"),
]
PHONES_SQL = f"SELECT {PHONE_COLUMNS} FROM phones ORDER BY extension, server_ip"


def test_servers_templates_and_whole_phone_rows_are_stored_as_given(tmp_path) -> None:
    seed = seed_file.load(str(DIALER))
    path = tmp_path / "sandbox.sqlite"

    init(path, seed)

    assert rows(path, SERVERS_SQL) == SERVERS
    assert rows(path, PHONES_SQL) == PHONES
    assert rows(path, "SELECT template_id FROM vicidial_conf_templates ORDER BY template_id") == [
        ("SIPbasic",), ("WebRTC",)]
    assert rows(path, "SELECT alias_id, logins_list FROM phones_alias") == [("300", "300a,300b")]
    assert rows(path, "SELECT phone_login FROM vicidial_users WHERE user = 'agent1'") == [("300",)]


def test_the_same_rows_on_mariadb(mariadb_url) -> None:
    seed = seed_file.load(str(DIALER))

    init_mysql(mariadb_url, seed.phones, aliases=seed.aliases, users=seed.users, servers=seed.servers,
               templates=seed.templates)

    parts = parse_db_url(mariadb_url)
    with pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                         database=parts.database) as connection, connection.cursor() as cursor:
        cursor.execute(SERVERS_SQL)
        assert list(cursor.fetchall()) == SERVERS
        cursor.execute(PHONES_SQL)
        assert list(cursor.fetchall()) == PHONES


@pytest.mark.parametrize("name", ["examples/phones.yaml", "tests/fixtures/fault-matrix-phones.yaml"])
def test_seed_files_without_servers_still_get_one_server_per_phone_server_ip(tmp_path, name) -> None:
    seed = seed_file.load(str(ROOT / name))
    path = tmp_path / "sandbox.sqlite"

    init(path, seed)

    assert seed.servers is None and seed.templates == ()
    assert rows(path, "SELECT server_id, server_ip FROM servers") == [("sandbox1", "10.0.0.1")]
    assert rows(path, "SELECT count(*) FROM phones WHERE server_ip = '10.0.0.1' AND extension = login "
                      "AND status = 'ACTIVE' AND pass = 'test' AND template_id = ''") == [(len(seed.phones),)]


def test_a_phone_without_server_ip_goes_to_the_first_server_listed(tmp_path) -> None:
    name = write(tmp_path, "servers: [{server_ip: 10.10.10.16}, {server_ip: 10.10.10.15}]\nphones: [{login: 100a}]\n")
    path = tmp_path / "sandbox.sqlite"

    init(path, seed_file.load(name))

    assert rows(path, "SELECT server_ip FROM phones") == [("10.10.10.16",)]
    assert rows(path, "SELECT server_id, server_ip FROM servers ORDER BY server_id") == [
        ("sandbox1", "10.10.10.16"), ("sandbox2", "10.10.10.15")]


@pytest.mark.parametrize("text, found", [
    ("servers: [{server_ip: 10.10.10.15, server_id: s1}, {server_ip: 10.10.10.16, server_id: S1}]\n"
     "phones: [{login: 100a}]\n",
     ["1:88: server_id S1 is listed twice (also server 1)"]),
    ("servers: [{server_ip: 10.10.10.15}, {server_ip: 10.10.10.15}]\nphones: [{login: 100a}]\n",
     ["1:49: server_ip 10.10.10.15 is listed twice (also server 1)"]),
    ("servers: [{server_ip: 10.10.10.15}]\nphones: [{login: 100a, server_ip: 10.10.10.99}]\n",
     ["2:35: phone 100a: server_ip 10.10.10.99 is not one of the servers listed under `servers`"]),
    ("servers: []\nphones: [{login: 100a}]\n",
     ["2:10: phone 100a names no server_ip and `servers` lists none"]),
    ("phones: [{login: 100a, protocol: sip, dialplan_number: '1!', phone_ring_timeout: soon}]\n",
     ["1:34: protocol 'sip' must be one of SIP, PJSIP, Zap, IAX2, EXTERNAL",
      "1:56: dialplan_number '1!' must be 1 to 20 characters of letters, digits, '*' and '#'",
      "1:82: phone_ring_timeout 'soon' must be 1 to 5 digits"]),
    ("templates: [SIP.basic]\nphones: [{login: 100a}]\n",
     ["1:13: template id 'SIP.basic' must be 1 to 15 characters of letters, digits, '-' and '_'"]),
])
def test_what_the_tables_cannot_hold_is_refused_at_its_place(tmp_path, text, found) -> None:
    name = write(tmp_path, text)

    assert problems(name) == [f"{name}:{line}" for line in found]


def test_a_key_that_is_no_column_is_refused_at_its_place(tmp_path) -> None:
    name = write(tmp_path, "phones: [{login: 100a, password: x}]\n")

    (problem,) = problems(name)

    # How the item is named, and where the list of keys is cut, belong to the loader (files/).
    assert problem.startswith(f"{name}:1:24: unknown key 'password' in "), problem
    assert "(expected one of: active, company, computer_ip, conf_secret, delete_vm_after_email, " in problem


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"servers": [{"server_ip": "10.0.0.1"}, {"server_ip": "10.0.0.1"}]},
     "server 2: server_ip 10.0.0.1 is listed twice (also server 1)"),
    ({"servers": [{"server_id": "s1"}]}, "server 1: server_ip is missing"),
    ({"servers": [{"server_ip": "10.0.0.1", "active": "yes"}]}, "server 1: active must be Y or N"),
    ({"servers": [{"server_ip": "10.0.0.2"}]}, "phone 100a: server_ip 10.0.0.1 is not one of the servers"),
    ({"templates": ["SIPbasic", "sipBASIC"]}, "template sipBASIC is listed twice"),
])
def test_init_refuses_what_the_tables_cannot_hold_and_leaves_no_file(tmp_path, kwargs, message) -> None:
    path = tmp_path / "sandbox.sqlite"

    with pytest.raises(SandboxError) as refused:
        init_sandbox(path, [{"login": "100a", "server_ip": "10.0.0.1"}], **kwargs)

    assert str(refused.value) == message
    assert not path.exists()


def test_a_phone_row_value_a_column_cannot_hold_is_refused(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"
    for phone, message in [
        ({"login": "100a", "is_webphone": "yes"}, "phone 1: is_webphone must be one of Y, N, Y_API_LAUNCH"),
        ({"login": "100a", "phone_ring_timeout": "soon"}, "phone 1: phone_ring_timeout must be a whole number"),
        ({"login": "100a", "fullname": 7}, "phone 1: fullname must be a string"),
    ]:
        with pytest.raises(SandboxError) as refused:
            init_sandbox(path, [phone])
        assert str(refused.value) == message
        assert not path.exists()


def test_every_pattern_of_the_schema_matches_the_whole_value() -> None:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(loader.load_schema("phones.schema.json"))
    assert len(found) > 20
    for pattern in found:
        assert pattern.startswith("^") and pattern.endswith("$(?!\\n)"), pattern
        for tail in ("\n", "\r\n", "\nab"):
            assert re.search(pattern, "12" + tail) is None, (pattern, tail)


def test_sandbox_init_takes_the_servers_and_templates_of_the_file(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"

    assert main(["sandbox", "init", str(path), "--phones", str(DIALER)]) == 0

    assert rows(path, SERVERS_SQL) == SERVERS
    assert rows(path, "SELECT count(*) FROM vicidial_conf_templates") == [(2,)]


def test_aliases_listed_as_given(tmp_path) -> None:
    seed = seed_file.load(str(DIALER))
    assert seed.aliases == (LiveAlias("300", "300", "300a,300b"),)
