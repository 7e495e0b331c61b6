"""The state reader on the real MariaDB and on SQLite: what it reads and what it costs."""
import sqlite3
from contextlib import closing

import pymysql
import pytest

from aliassync.db_url import parse_db_url
from aliassync.model import LiveAlias, Phone
from aliassync.sandbox.store import init_mysql, init_sandbox, open_store
from aliassync.state_reader import SqlStateReader

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
    assert current.phones["100a"] == (Phone("100a", True, "10.0.0.1", "100a", 1),)
    assert current.phones["100b"] == (Phone("100B", True, "10.0.0.1", "100B", 1),)    # same password group
    assert current.phones["100c"] == (Phone("100c", False, "10.0.0.2", "100c", 2),)
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
    assert reader.queries == small == 2
