"""Scratch MariaDB databases for the benchmarks, and the queries aliassync sends them.

A benchmark database is created on the server named by a `mysql://` URL
without a database (default: root on 127.0.0.1:3306, as the tests use),
with a read-only account for aliassync (as docs/security.md asks of a real
VICIdial), and dropped afterwards.

Queries are counted by the server, not by aliassync: MariaDB's user
statistics (`userstat`) count the SELECTs each account ran, and the
read-only account is aliassync's alone.
"""
from __future__ import annotations

import secrets
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

import pymysql

from aliassync.vicidial.db_url import parse_db_url

DEFAULT_SERVER_URL = "mysql://root@127.0.0.1:3306/"


def _connect(url: str, database: str | None = None) -> pymysql.connections.Connection:
    parts = parse_db_url(url)
    return pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                           database=database, autocommit=True, connect_timeout=5)


def _execute(url: str, *statements: str) -> list[tuple]:
    """Run statements as the server's admin account; the rows of the last one."""
    with closing(_connect(url)) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        return list(cursor.fetchall())


def server_version(server_url: str = DEFAULT_SERVER_URL) -> str:
    return str(_execute(server_url, "SELECT VERSION()")[0][0])


@dataclass(frozen=True)
class ScratchDatabase:
    url: str              # admin URL of the database (the sandbox store uses it)
    reader_url: str       # aliassync's read-only account on it (ALIASSYNC_DB_URL)
    reader_user: str
    server_url: str

    def selects_by_reader(self) -> int:
        """SELECT statements the read-only account has run since it was created."""
        rows = _execute(self.server_url, "SELECT SELECT_COMMANDS FROM information_schema.USER_STATISTICS "
                                         f"WHERE USER = '{self.reader_user}'")
        return int(rows[0][0]) if rows else 0

    def execute(self, *statements: str) -> list[tuple]:
        with closing(_connect(self.server_url, parse_db_url(self.url).database)) as connection, \
                connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return list(cursor.fetchall())


@contextmanager
def scratch_database(server_url: str = DEFAULT_SERVER_URL) -> Iterator[ScratchDatabase]:
    """A new empty database and a read-only account on it; both dropped on exit."""
    token = secrets.token_hex(4)
    name, reader = f"aliassync_bench_{token}", f"bench_ro_{token}"
    password = secrets.token_hex(12)
    parts = parse_db_url(server_url)
    _execute(server_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8 COLLATE utf8_general_ci",
             f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{password}'",
             f"GRANT SELECT ON `{name}`.* TO '{reader}'@'%'")
    admin_url = urlsplit(server_url)._replace(path=f"/{name}").geturl()
    reader_url = urlsplit(server_url)._replace(
        netloc=f"{reader}:{password}@{parts.host}:{parts.port}", path=f"/{name}").geturl()
    try:
        yield ScratchDatabase(admin_url, reader_url, reader, server_url)
    finally:
        _execute(server_url, f"DROP USER '{reader}'@'%'", f"DROP DATABASE `{name}`")


@contextmanager
def user_statistics(server_url: str = DEFAULT_SERVER_URL) -> Iterator[None]:
    """MariaDB's per-account statement counters on for the duration, as they were after."""
    (was,) = _execute(server_url, "SELECT @@GLOBAL.userstat")[0]
    _execute(server_url, "SET GLOBAL userstat = 1")
    try:
        yield
    finally:
        _execute(server_url, f"SET GLOBAL userstat = {int(was)}")
