"""The database behind the sandbox: VICIdial's own tables, in SQLite or MySQL/MariaDB.

One schema, declared once below with VICIdial's column names and types,
yields the DDL for both engines. The tables are the part of VICIdial's
schema the emulated functions touch: `phones`, `phones_alias`, `servers`,
`vicidial_users` (API permissions and the failed-login lockout) and
`vicidial_admin_log` (one row per write, as VICIdial logs them).

Both engines behave as a real VICIdial server does:

- text compares case-insensitively (MySQL: `utf8_general_ci`; SQLite:
  `COLLATE NOCASE` on every text column), so `ALIAS100` finds `alias100`;
- a value longer than its column is cut silently (MySQL: session
  `sql_mode=''`, as on a VICIdial server; SQLite does not cut, so the SQLite
  store cuts every written value to its column's width itself);
- every statement commits on its own: VICIdial's tables are MyISAM, with
  no transactions.

The `Store` interface is deliberately small and generic (count, fetch,
insert, update, delete with equality conditions): what VICIdial does with
these rows lives in `emulator.py`, not here.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from ..vicidial.db_url import parse_db_url
from ..errors import AliassyncError
from ..core.model import LiveAlias

SQLITE = "sqlite"
MYSQL = "mysql"

DEFAULT_SERVER_IP = "10.0.0.1"
DEFAULT_PHONE_PASS = "test"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SandboxError(AliassyncError):
    """The sandbox cannot be created or opened as asked."""


class DuplicateRow(SandboxError):
    """A bulk insert met a row that a unique key of the table refuses."""


# --------------------------------------------------------------------------
# The schema, declared once


@dataclass(frozen=True)
class Column:
    """One column; `width` is the VARCHAR length values are cut to."""

    name: str
    mysql_type: str
    sqlite_type: str
    width: int | None = None
    default: str | int | None = None
    not_null: bool = False
    primary_key: bool = False

    def definition(self, dialect: str) -> str:
        parts = [self.name, self.mysql_type if dialect == MYSQL else self.sqlite_type]
        if self.not_null:
            parts.append("NOT NULL")
        if self.primary_key:
            parts.append("PRIMARY KEY")
        if self.default is not None:
            parts.append(f"DEFAULT {_sql_literal(self.default)}")
        return " ".join(parts)


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise ValueError(f"table {self.name} has no column {name}")


def _sql_literal(value: str | int) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def _varchar(name: str, width: int, default: str | None = None, *,
             not_null: bool = False, primary_key: bool = False) -> Column:
    return Column(name, f"VARCHAR({width})", f"VARCHAR({width}) COLLATE NOCASE", width, default,
                  not_null, primary_key)


def _enum(name: str, *options: str, default: str | None = None) -> Column:
    listed = ",".join(_sql_literal(option) for option in options)
    return Column(name, f"ENUM({listed})", "TEXT COLLATE NOCASE", default=default)


def _integer(name: str, mysql_type: str, default: int | None = None) -> Column:
    return Column(name, mysql_type, "INTEGER", default=default)


def _row_id(name: str) -> Column:
    return Column(name, "INT(9) UNSIGNED AUTO_INCREMENT", "INTEGER", not_null=True, primary_key=True)


def _datetime(name: str, default: str | None = None, *, not_null: bool = False) -> Column:
    return Column(name, "DATETIME", "TEXT", default=default, not_null=not_null)


SCHEMA: Mapping[str, Table] = {table.name: table for table in (
    Table("phones", (
        _varchar("extension", 100),
        _varchar("dialplan_number", 20),
        _varchar("voicemail_id", 10),
        _varchar("server_ip", 15),
        _varchar("login", 15),
        _varchar("pass", 100),
        _varchar("status", 10),
        _enum("active", "Y", "N"),
        _varchar("fullname", 50),
        _enum("protocol", "SIP", "PJSIP", "Zap", "IAX2", "EXTERNAL", default="SIP"),
        _varchar("local_gmt", 6, "-5.00"),
        _varchar("outbound_cid", 20),
        _varchar("email", 100),
        _varchar("phone_context", 20, "default"),
        _varchar("conf_secret", 100, "test"),
        _varchar("user_group", 20, "---ALL---"),
    ), (
        Index("server_ip", ("server_ip",)),
        Index("extenserver", ("extension", "server_ip"), unique=True),
    )),
    Table("phones_alias", (
        _varchar("alias_id", 20, not_null=True, primary_key=True),
        _varchar("alias_name", 50),
        _varchar("logins_list", 255),
        _varchar("user_group", 20, "---ALL---"),
    )),
    Table("servers", (
        _varchar("server_id", 10, not_null=True),
        _varchar("server_description", 255),
        _varchar("server_ip", 15, not_null=True),
        _enum("active", "Y", "N"),
        _varchar("local_gmt", 6, "-5.00"),
        _enum("active_asterisk_server", "Y", "N", default="Y"),
        _enum("generate_vicidial_conf", "Y", "N", default="Y"),
        _enum("rebuild_conf_files", "Y", "N", default="Y"),
    ), (
        Index("server_id", ("server_id",), unique=True),
    )),
    Table("vicidial_users", (
        _row_id("user_id"),
        _varchar("user", 20, not_null=True),
        _varchar("pass", 100, not_null=True),
        _varchar("full_name", 50),
        _integer("user_level", "TINYINT(3) UNSIGNED", 1),
        _varchar("user_group", 20),
        _enum("ast_admin_access", "0", "1", default="0"),
        _enum("ast_delete_phones", "0", "1", default="0"),
        _enum("vdc_agent_api_access", "0", "1", default="0"),
        _enum("active", "Y", "N", default="Y"),
        _integer("failed_login_count", "TINYINT(3) UNSIGNED", 0),
        _datetime("last_login_date", "2001-01-01 00:00:01"),
        _varchar("api_allowed_functions", 1000, " ALL_FUNCTIONS "),
        _varchar("phone_login", 20, ""),
        _varchar("phone_pass", 100, ""),
    ), (
        Index("user", ("user",), unique=True),
    )),
    Table("vicidial_admin_log", (
        _row_id("admin_log_id"),
        _datetime("event_date", not_null=True),
        _varchar("user", 20, not_null=True),
        _varchar("ip_address", 15, not_null=True),
        _varchar("event_section", 30, not_null=True),
        _enum("event_type", "ADD", "COPY", "LOAD", "RESET", "MODIFY", "DELETE", "SEARCH", "LOGIN",
              "LOGOUT", "CLEAR", "OVERRIDE", "EXPORT", "OTHER", default="OTHER"),
        _varchar("record_id", 50, not_null=True),
        _varchar("event_code", 255, not_null=True),
        Column("event_notes", "TEXT", "TEXT COLLATE NOCASE"),
    ), (
        Index("user", ("user",)),
        Index("record_id", ("record_id",)),
    )),
)}


def ddl(dialect: str) -> tuple[str, ...]:
    """The CREATE statements for every sandbox table, for `sqlite` or `mysql`."""
    statements: list[str] = []
    for table in SCHEMA.values():
        lines = [column.definition(dialect) for column in table.columns]
        if dialect == MYSQL:
            lines += [f"{'UNIQUE KEY' if index.unique else 'KEY'} {index.name} ({', '.join(index.columns)})"
                      for index in table.indexes]
            body = ",\n  ".join(lines)
            statements.append(f"CREATE TABLE {table.name} (\n  {body}\n) "
                              "ENGINE=MyISAM DEFAULT CHARSET=utf8 COLLATE=utf8_general_ci")
        else:
            body = ",\n  ".join(lines)
            statements.append(f"CREATE TABLE {table.name} (\n  {body}\n)")
            statements += [f"CREATE {'UNIQUE INDEX' if index.unique else 'INDEX'} "
                           f"{table.name}_{index.name} ON {table.name} ({', '.join(index.columns)})"
                           for index in table.indexes]
    return tuple(statements)


# --------------------------------------------------------------------------
# The store interface and its two engines

Row = dict[str, Any]


class Store(Protocol):
    """Plain table access with equality conditions; VICIdial's logic lives above it."""

    dialect: str

    def execute_ddl(self, statement: str) -> None: ...

    def count(self, table: str, where: Mapping[str, Any],
              not_equal: Mapping[str, Any] | None = None) -> int: ...

    def fetch_one(self, table: str, columns: Sequence[str], where: Mapping[str, Any]) -> Row | None: ...

    def insert(self, table: str, values: Mapping[str, Any]) -> None: ...

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def update(self, table: str, values: Mapping[str, Any], where: Mapping[str, Any]) -> None: ...

    def delete(self, table: str, where: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class _SqlStore(ABC):
    """Builds the statements; an engine supplies the connection and its SQL dialect.

    One connection, used under a lock: the HTTP server answers from several
    threads, and neither engine's connection may be shared unguarded.
    """

    dialect: str
    placeholder: str
    quote: str

    def __init__(self, connection: Any):
        self._connection = connection
        self._lock = threading.Lock()

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        """Run one statement (it commits on its own) and return its rows."""

    @abstractmethod
    def _many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row, as few round trips and commits as the engine allows.

        Raises DuplicateRow when a unique key refuses a row; rows before it
        may then have been stored (MyISAM has no transactions).
        """

    def _written(self, table: Table, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """The values as the engine must be given them to store what MySQL stores."""
        return values

    def execute_ddl(self, statement: str) -> None:
        self._rows(statement, ())

    def count(self, table: str, where: Mapping[str, Any],
              not_equal: Mapping[str, Any] | None = None) -> int:
        condition, params = self._where(SCHEMA[table], where, not_equal or {})
        return self._rows(f"SELECT count(*) FROM {table}{condition}", params)[0][0]

    def fetch_one(self, table: str, columns: Sequence[str], where: Mapping[str, Any]) -> Row | None:
        names = self._names(SCHEMA[table], columns)
        condition, params = self._where(SCHEMA[table], where, {})
        rows = self._rows(f"SELECT {', '.join(names)} FROM {table}{condition} LIMIT 1", params)
        return dict(zip(columns, rows[0])) if rows else None

    def insert(self, table: str, values: Mapping[str, Any]) -> None:
        written = self._written(SCHEMA[table], values)
        names = self._names(SCHEMA[table], written)
        marks = ", ".join([self.placeholder] * len(written))
        self._rows(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", list(written.values()))

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that all name the same columns; for seeding large sandboxes."""
        if not rows:
            return
        written = [self._written(SCHEMA[table], row) for row in rows]
        names = self._names(SCHEMA[table], written[0])
        marks = ", ".join([self.placeholder] * len(names))
        self._many(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                   [list(row.values()) for row in written])

    def update(self, table: str, values: Mapping[str, Any], where: Mapping[str, Any]) -> None:
        written = self._written(SCHEMA[table], values)
        names = self._names(SCHEMA[table], written)
        assignments = ", ".join(f"{name} = {self.placeholder}" for name in names)
        condition, params = self._where(SCHEMA[table], where, {})
        self._rows(f"UPDATE {table} SET {assignments}{condition}", [*written.values(), *params])

    def delete(self, table: str, where: Mapping[str, Any]) -> None:
        condition, params = self._where(SCHEMA[table], where, {})
        self._rows(f"DELETE FROM {table}{condition}", params)

    def close(self) -> None:
        self._connection.close()

    def _names(self, table: Table, columns: Iterable[str]) -> list[str]:
        """Quoted column names, each checked against the schema (never user text)."""
        return [self.quote + table.column(name).name + self.quote for name in columns]

    def _where(self, table: Table, equal: Mapping[str, Any],
               not_equal: Mapping[str, Any]) -> tuple[str, list[Any]]:
        terms = [f"{name} = {self.placeholder}" for name in self._names(table, equal)]
        terms += [f"{name} != {self.placeholder}" for name in self._names(table, not_equal)]
        condition = " WHERE " + " AND ".join(terms) if terms else ""
        return condition, [*equal.values(), *not_equal.values()]


class SqliteStore(_SqlStore):
    """A sandbox file; the same file is readable with a plain `sqlite3.connect(path)`."""

    dialect = SQLITE
    placeholder = "?"
    quote = '"'

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(sqlite3.connect(os.fspath(path), isolation_level=None, check_same_thread=False))

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        with self._lock:
            return self._connection.execute(sql, params).fetchall()

    def _many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """One transaction: a commit per row would cost a disk sync per row."""
        with self._lock:
            try:
                self._connection.execute("BEGIN")
                self._connection.executemany(sql, params)
                self._connection.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                self._connection.execute("ROLLBACK")
                raise DuplicateRow(str(exc)) from None

    def _written(self, table: Table, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """Each text value cut to its column's width, as MySQL without strict mode stores it."""
        return {name: _cut(value, table.column(name).width) for name, value in values.items()}


def _cut(value: Any, width: int | None) -> Any:
    return value[:width] if isinstance(value, str) and width is not None else value


class MySqlStore(_SqlStore):
    """A MySQL/MariaDB database, in VICIdial's non-strict SQL mode."""

    dialect = MYSQL
    placeholder = "%s"
    quote = "`"

    def __init__(self, url: str):
        import pymysql

        parts = parse_db_url(url)
        if parts.database is None:
            raise SandboxError(f"{parts.public}: the URL names no database")
        self._errors = pymysql.MySQLError
        self._integrity_error = pymysql.IntegrityError
        self._connect = partial(pymysql.connect, host=parts.host, port=parts.port, user=parts.user,
                                password=parts.password, database=parts.database, charset="utf8mb4",
                                autocommit=True, sql_mode="", connect_timeout=10)
        super().__init__(self._connect())

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        with self._lock, self._live_connection().cursor() as cursor:
            cursor.execute(sql, params or None)
            return [tuple(_text_datetime(value) for value in row) for row in cursor.fetchall()]

    def _many(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """PyMySQL sends an INSERT's rows as multi-row statements of up to about 1 MB each."""
        with self._lock, self._live_connection().cursor() as cursor:
            try:
                cursor.executemany(sql, params)
            except self._integrity_error as exc:
                raise DuplicateRow(str(exc)) from None

    def _live_connection(self) -> Any:
        """The connection, replaced before a statement if the server dropped it (never after)."""
        try:
            self._connection.ping()
        except self._errors:
            self._connection = self._connect()
        return self._connection


def _text_datetime(value: Any) -> Any:
    """DATETIME values as the text SQLite keeps them in (`2001-01-01 00:00:01`)."""
    return value.strftime(DATETIME_FORMAT) if hasattr(value, "strftime") else value


def create_schema(store: Store) -> None:
    """Create the sandbox's VICIdial tables in an empty database."""
    for statement in ddl(store.dialect):
        store.execute_ddl(statement)


def open_store(location: str | os.PathLike[str]) -> Store:
    """An existing sandbox: a SQLite file path or a `mysql://` URL."""
    if isinstance(location, str) and location.startswith("mysql://"):
        return MySqlStore(location)
    if not Path(location).is_file():
        raise SandboxError(f"sandbox {os.fspath(location)} does not exist; "
                           f"create it with 'aliassync sandbox init {os.fspath(location)} --phones FILE'")
    return SqliteStore(location)


# --------------------------------------------------------------------------
# Seeding: one server per phone server_ip, the API user, the phones, the aliases

PHONE_KEYS = ("login", "active", "pass", "server_ip", "extension")


def init_sandbox(path: str | os.PathLike[str], phones: Sequence[Mapping[str, str]],
                 api_user: str = "6666", api_pass: str = "1234", aliases: Iterable[LiveAlias] = (),
                 users: Sequence[Mapping[str, str]] = ()) -> None:
    """Create a new SQLite sandbox holding `phones` (and `aliases`, stored as given, unchecked).

    An existing file is never overwritten.
    """
    rows = _phone_rows(phones)
    try:
        with open(path, "x"):
            pass
    except FileExistsError:
        raise SandboxError(f"sandbox {os.fspath(path)} already exists; "
                           "remove it or choose another path") from None
    try:
        with closing(SqliteStore(path)) as store:
            _create_and_seed(store, rows, api_user, api_pass, aliases, users)
    except BaseException:
        os.remove(path)
        raise


def init_mysql(url: str, phones: Sequence[Mapping[str, str]],
               api_user: str = "6666", api_pass: str = "1234", aliases: Iterable[LiveAlias] = (),
               users: Sequence[Mapping[str, str]] = ()) -> None:
    """Create the sandbox tables in the empty database at `url` and seed them as `init_sandbox` does."""
    rows = _phone_rows(phones)
    with closing(MySqlStore(url)) as store:
        _create_and_seed(store, rows, api_user, api_pass, aliases, users)


def _phone_rows(phones: Sequence[Mapping[str, str]]) -> list[Row]:
    """`phones` rows for the given phone entries; an entry with a problem is refused."""
    return [_phone_row(number, phone) for number, phone in enumerate(phones, start=1)]


def _phone_row(number: int, phone: Mapping[str, str]) -> Row:
    unknown = sorted(set(phone) - set(PHONE_KEYS))
    if unknown:
        raise SandboxError(f"phone {number}: unknown key {unknown[0]!r}; keys are {', '.join(PHONE_KEYS)}")
    for key, value in phone.items():
        if not isinstance(value, str):
            raise SandboxError(f"phone {number}: {key} must be a string")
    login = phone.get("login", "")
    if not login:
        raise SandboxError(f"phone {number}: login is missing")
    active = phone.get("active", "Y")
    if active not in ("Y", "N"):
        raise SandboxError(f"phone {number}: active must be Y or N")
    extension = phone.get("extension", login)
    return {
        "extension": extension, "dialplan_number": extension, "voicemail_id": extension,
        "server_ip": phone.get("server_ip", DEFAULT_SERVER_IP), "login": login,
        "pass": phone.get("pass", DEFAULT_PHONE_PASS), "status": "ACTIVE", "active": active,
        "fullname": login, "protocol": "SIP", "local_gmt": "-5.00", "outbound_cid": "",
    }


def _create_and_seed(store: Store, phones: Sequence[Row], api_user: str, api_pass: str,
                     aliases: Iterable[LiveAlias], users: Sequence[Mapping[str, str]] = ()) -> None:
    create_schema(store)
    server_ips = dict.fromkeys([DEFAULT_SERVER_IP, *(phone["server_ip"] for phone in phones)])
    for number, server_ip in enumerate(server_ips, start=1):
        store.insert("servers", {
            "server_id": f"sandbox{number}", "server_description": "aliassync sandbox",
            "server_ip": server_ip, "active": "Y", "local_gmt": "-5.00", "rebuild_conf_files": "N"})
    store.insert("vicidial_users", {
        "user": api_user, "pass": api_pass, "full_name": "aliassync sandbox API user", "user_level": 9,
        "user_group": "ADMIN", "ast_admin_access": "1", "ast_delete_phones": "1",
        "vdc_agent_api_access": "1", "active": "Y"})
    for agent in users:
        store.insert("vicidial_users", {
            "user": agent["user"], "pass": "", "full_name": f"agent {agent['user']}", "user_level": 1,
            "user_group": "AGENTS", "active": "Y", "phone_login": agent["phone_login"]})
    _seed(store, "phones", phones, _refuse_second_phone)
    alias_rows = [{"alias_id": alias.alias_id, "alias_name": alias.alias_name, "logins_list": alias.logins_list}
                  for alias in aliases]
    _seed(store, "phones_alias", alias_rows, _refuse_second_alias)


def _seed(store: Store, table: str, rows: Sequence[Row], refuse_repeat: Callable[[Store, Row], None]) -> None:
    """Insert `rows` in bulk; a row a unique key refuses is then found row by row.

    The table's unique keys compare with the column collation, as VICIdial's
    database does, so the bulk insert fails exactly when the row-by-row
    check below finds a repeat; that slow path only runs to name it.
    """
    try:
        store.insert_many(table, rows)
        return
    except DuplicateRow:
        store.delete(table, {})      # MyISAM keeps the rows before the refused one
    for row in rows:
        refuse_repeat(store, row)
        store.insert(table, row)


def _refuse_second_phone(store: Store, phone: Row) -> None:
    if store.count("phones", {"extension": phone["extension"], "server_ip": phone["server_ip"]}):
        raise SandboxError(f"phone {phone['login']}: extension {phone['extension']} is listed twice "
                           f"on server {phone['server_ip']}")


def _refuse_second_alias(store: Store, alias: Row) -> None:
    if store.count("phones_alias", {"alias_id": alias["alias_id"]}):
        raise SandboxError(f"alias {alias['alias_id']} is listed twice")
