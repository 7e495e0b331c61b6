"""Creating and opening sandboxes; the MySQL schema as VICIdial declares it."""
from __future__ import annotations

import sqlite3

import pymysql
import pytest

from aliassync.vicidial.db_url import parse_db_url
from aliassync.core.model import LiveAlias
from aliassync.sandbox.store import SandboxError, init_mysql, init_sandbox, open_store


def test_an_existing_file_is_never_overwritten(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"
    path.write_text("precious")

    with pytest.raises(SandboxError) as refused:
        init_sandbox(path, [{"login": "100a"}])

    assert str(refused.value) == f"sandbox {path} already exists; remove it or choose another path"
    assert path.read_text() == "precious"


@pytest.mark.parametrize(("phones", "message"), [
    ([{"login": "100a", "password": "x"}],
     "phone 1: unknown key 'password'; the keys are the columns of VICIdial's phones table (extension, "
     "dialplan_number, voicemail_id, phone_ip, computer_ip, server_ip, login, pass, status, active, phone_type, "
     "fullname, company, protocol, local_gmt, install_directory, outbound_cid, email, template_id, "
     "phone_context, phone_ring_timeout, conf_secret, delete_vm_after_email, is_webphone, "
     "use_external_server_ip, on_hook_agent, webphone_auto_answer, user_group, outbound_alt_cid)"),
    ([{"login": "100a"}, {"active": "Y"}], "phone 2: login is missing"),
    ([{"login": "100a", "active": "yes"}], "phone 1: active must be Y or N"),
    ([{"login": 100}], "phone 1: login must be a string"),
    ([{"login": "100a"}, {"login": "100b", "extension": "100A"}],
     "phone 100b: extension 100A is listed twice on server 10.0.0.1"),
])
def test_bad_phones_are_refused_and_leave_no_file(tmp_path, phones, message) -> None:
    path = tmp_path / "sandbox.sqlite"

    with pytest.raises(SandboxError) as refused:
        init_sandbox(path, phones)

    assert str(refused.value) == message
    assert not path.exists()


def test_phones_on_other_servers_get_their_server(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"

    init_sandbox(path, [{"login": "100a"}, {"login": "200a", "server_ip": "10.0.0.2"}, {"login": "200b"}])

    with sqlite3.connect(path) as connection:
        servers = connection.execute("SELECT server_id, server_ip FROM servers ORDER BY server_id").fetchall()
    assert servers == [("sandbox1", "10.0.0.1"), ("sandbox2", "10.0.0.2")]


def test_aliases_are_seeded_as_given_without_the_api_checks(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"
    by_hand = LiveAlias("legacy9", "Legacy, old", "100a, 999")

    init_sandbox(path, [{"login": "100a"}], aliases=[by_hand])

    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias").fetchall() == [
            ("legacy9", "Legacy, old", "100a, 999")]


def test_an_alias_seeded_twice_is_refused(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"

    with pytest.raises(SandboxError) as refused:
        init_sandbox(path, [{"login": "100a"}], aliases=[LiveAlias("sales1", "A", "100a"),
                                                         LiveAlias("SALES1", "B", "100a")])

    assert str(refused.value) == "alias SALES1 is listed twice"
    assert not path.exists()


def test_a_missing_sandbox_is_not_created_by_opening_it(tmp_path) -> None:
    path = tmp_path / "nowhere.sqlite"

    with pytest.raises(SandboxError) as refused:
        open_store(path)

    assert str(refused.value) == (f"sandbox {path} does not exist; "
                                  f"create it with 'aliassync sandbox init {path} --phones FILE'")
    assert not path.exists()


def test_a_mysql_url_must_name_a_database() -> None:
    with pytest.raises(SandboxError) as refused:
        open_store("mysql://root@127.0.0.1:3306/")

    assert str(refused.value) == "mysql://root@127.0.0.1:3306/: the URL names no database"


def test_mysql_tables_are_myisam_utf8_general_ci(mariadb_url) -> None:
    init_mysql(mariadb_url, [{"login": "100a"}])
    parts = parse_db_url(mariadb_url)

    with pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                         database=parts.database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT table_name, engine, table_collation FROM information_schema.tables "
                       "WHERE table_schema = DATABASE() ORDER BY table_name")
        tables = cursor.fetchall()

    # MariaDB 10.6 and later call VICIdial's utf8 by its full name, utf8mb3.
    assert sorted((name, engine, collation.replace("utf8mb3_", "utf8_")) for name, engine, collation in tables) == [
        (name, "MyISAM", "utf8_general_ci")
        for name in ("phones", "phones_alias", "servers", "vicidial_admin_log", "vicidial_conf_templates",
                     "vicidial_user_groups", "vicidial_users")]


def test_a_large_seed_is_stored_whole(tmp_path) -> None:
    path = tmp_path / "sandbox.sqlite"
    phones = [{"login": f"{8000000 + i}"} for i in range(20_000)]
    aliases = [LiveAlias(f"a{i}", "Team", f"{8000000 + i},{8000001 + i}") for i in range(5_000)]

    init_sandbox(path, phones, aliases=aliases)

    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM phones").fetchone() == (20_000,)
        assert connection.execute("SELECT count(*) FROM phones_alias").fetchone() == (5_000,)


def test_mysql_seeding_refuses_an_alias_twice_as_its_collation_compares(mariadb_url) -> None:
    # The bulk insert meets the primary key; the row-by-row check then names the alias.
    with pytest.raises(SandboxError) as refused:
        init_mysql(mariadb_url, [{"login": "100a"}], aliases=[LiveAlias("sales1", "A", "100a"),
                                                               LiveAlias("SALES1", "B", "100a")])

    assert str(refused.value) == "alias SALES1 is listed twice"


def test_mysql_seeding_refuses_a_phone_twice_on_one_server(mariadb_url) -> None:
    with pytest.raises(SandboxError) as refused:
        init_mysql(mariadb_url, [{"login": "100a"}, {"login": "100b", "extension": "100A"}])

    assert str(refused.value) == "phone 100b: extension 100A is listed twice on server 10.0.0.1"

