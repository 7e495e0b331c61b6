"""The state reader on the real MariaDB and on SQLite: what it reads and what it costs."""
import socket
import sqlite3
from contextlib import closing

import pymysql
import pytest

from aliassync.vicidial.db_url import parse_db_url
from aliassync.errors import TargetError
from aliassync.core.model import LiveAlias, Phone
from aliassync.sandbox.store import init_mysql, init_sandbox, open_store
from aliassync.retry import READS
from aliassync.vicidial.state_reader import SqlStateReader

PHONES = [
    {"login": "100a", "pass": "alpha"},
    {"login": "100B", "pass": "ALPHA"},            # the collation compares passwords case-insensitively
    {"login": "100c", "pass": "beta", "active": "N", "server_ip": "10.0.0.2"},
]


def mysql_reader(url: str) -> SqlStateReader:
    parts = parse_db_url(url)
    return SqlStateReader(lambda: pymysql.connect(host=parts.host, port=parts.port, user=parts.user,
                                                  password=parts.password, database=parts.database,
                                                  autocommit=True),
                          "%s", "test database", errors=(pymysql.MySQLError,))


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request, tmp_path):
    """(store location, reader) for a sandbox holding PHONES, on each backend."""
    if request.param == "sqlite":
        path = str(tmp_path / "s.sqlite")
        init_sandbox(path, PHONES)
        reader = SqlStateReader(lambda: sqlite3.connect(path), "?", "sandbox", errors=(sqlite3.Error,))
        yield path, reader
    else:
        url = request.getfixturevalue("mariadb_url")
        init_mysql(url, PHONES)
        reader = mysql_reader(url)
        yield url, reader
    reader.close()


def add_aliases(location: str, rows) -> None:
    with closing(open_store(location)) as store:
        for alias_id, name, logins in rows:
            store.insert("phones_alias", {"alias_id": alias_id, "alias_name": name, "logins_list": logins})


def test_reads_aliases_verbatim_and_phones_without_passwords(backend):
    location, reader = backend
    add_aliases(location, [("sales1", "Sales", "100a,100B"), ("odd", "Odd one", "100a,,100a , 100c")])
    current = reader.read()
    assert current.aliases == {
        "sales1": LiveAlias("sales1", "Sales", "100a,100B"),
        "odd": LiveAlias("odd", "Odd one", "100a,,100a , 100c"),
    }
    assert current.aliases["odd"].phone_logins == ("100a", "", "100a ", " 100c")   # reported, not hidden
    assert current.phones["100a"] == (Phone("100a", True, 1),)
    assert current.phones["100b"] == (Phone("100B", True, 1),)    # same password group
    assert current.phones["100c"] == (Phone("100c", False, 2),)
    assert current.has_phone("100A") and not current.has_phone("100d")


def test_reads_back_chosen_aliases_case_insensitively(backend):
    location, reader = backend
    add_aliases(location, [("Sales1", "Sales", "100a"), ("other", "Other", "100a")])
    assert reader.read_aliases(["SALES1", "missing"]) == {"sales1": LiveAlias("Sales1", "Sales", "100a")}


def test_the_number_of_queries_does_not_grow_with_the_state(backend):
    location, reader = backend
    add_aliases(location, [(f"a{i}", "Alias", "100a,100B") for i in range(10)])
    reader.read()
    small = reader.queries
    add_aliases(location, [(f"b{i}", "Alias", "100a,100B") for i in range(4990)])
    reader.queries = 0
    current = reader.read()
    assert len(current.aliases) == 5000
    assert reader.queries == small == 3     # phones, aliases, agents' default phone logins


# --- a lost connection ----------------------------------------------------------------------

def kill_connections_to(url: str) -> int:
    """Kill every connection to the test database but this one; how many were killed."""
    parts = parse_db_url(url)
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
                       (parts.database,))
        ids = [row[0] for row in cursor.fetchall()]
        for connection_id in ids:
            cursor.execute(f"KILL {int(connection_id)}")
    return len(ids)


def counting_reader(url: str, sleeps: list, password: str | None = None, port: int | None = None):
    """A MariaDB reader that sleeps into `sleeps`, and the list of its connection attempts."""
    parts = parse_db_url(url)
    attempts = []

    def connect():
        attempts.append(1)
        return pymysql.connect(host=parts.host, port=port or parts.port, user=parts.user,
                               password=parts.password if password is None else password,
                               database=parts.database, autocommit=True, connect_timeout=2)

    reader = SqlStateReader(connect, "%s", "test database", errors=(pymysql.MySQLError,), sleep=sleeps.append)
    return reader, attempts


def test_a_connection_the_server_dropped_is_opened_again(mariadb_url, caplog):
    init_mysql(mariadb_url, PHONES)
    add_aliases(mariadb_url, [("sales1", "Sales", "100a,100B")])
    sleeps = []
    reader, attempts = counting_reader(mariadb_url, sleeps)
    reader.read()
    assert kill_connections_to(mariadb_url) == 1

    current = reader.read()
    reader.close()

    assert current.aliases == {"sales1": LiveAlias("sales1", "Sales", "100a,100B")}
    assert (len(attempts), len(sleeps)) == (2, 1)
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("state: connection to test database lost (")


def test_an_unreachable_server_is_tried_again_within_bounds_then_named(mariadb_url):
    sleeps = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    reader, attempts = counting_reader(mariadb_url, sleeps, port=closed)

    with pytest.raises(TargetError) as failed:
        reader.read()

    assert str(failed.value).startswith("cannot read the live state from test database: (2003, ")
    assert (len(attempts), len(sleeps)) == (READS.retries + 1, READS.retries)


def test_a_refused_account_is_not_tried_again(mariadb_url):
    sleeps = []
    reader, attempts = counting_reader(mariadb_url, sleeps, password="not-the-password")

    with pytest.raises(TargetError) as failed:
        reader.read()

    assert str(failed.value).startswith("cannot read the live state from test database: (1045, ")
    assert (len(attempts), sleeps) == (1, [])
