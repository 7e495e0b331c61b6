"""The database behind the sandbox: VICIdial's own tables, in SQLite or MySQL/MariaDB.

One schema, declared once below with VICIdial's column names and types,
yields the DDL for both engines. The tables are the part of VICIdial's
schema the emulated functions touch: `phones` (every column add_phone and
update_phone write, with VICIdial's types and defaults), `phones_alias`,
`servers`, `vicidial_conf_templates` (the templates a phone may name),
`vicidial_users` (API permissions and the failed-login lockout),
`vicidial_user_groups` (which phones a user's group may see) and
`vicidial_admin_log` (one row per write, as VICIdial logs them).

Both engines behave as a real VICIdial server does:

- text compares case-insensitively (MySQL: `utf8_general_ci`; SQLite:
  `COLLATE NOCASE` on every text column), so `ALIAS100` finds `alias100`;
- a value longer than its column is cut silently (MySQL: session
  `sql_mode=''`, as on a VICIdial server; SQLite does not cut, so the SQLite
  store cuts every written value to its column's width itself);
- an ENUM stores the spelling of its definition (`y` is stored `Y`) and a
  value it does not list as `''`; a NOT NULL column without a default that
  an INSERT leaves out gets `''` (MySQL without strict mode does both; the
  SQLite store does them itself);
- a row a unique key refuses raises `DuplicateRow`;
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
DUPLICATE_ENTRY = 1062    # MySQL's ER_DUP_ENTRY


class SandboxError(AliassyncError):
    """The sandbox cannot be created or opened as asked."""


class DuplicateRow(SandboxError):
    """An insert met a row that a unique key of the table refuses."""


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
    options: tuple[str, ...] = ()    # an ENUM's values, as declared

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
    return Column(name, f"ENUM({listed})", "TEXT COLLATE NOCASE", default=default, options=options)


def _integer(name: str, mysql_type: str, default: int | None = None) -> Column:
    return Column(name, mysql_type, "INTEGER", default=default)


def _text(name: str, *, not_null: bool = False) -> Column:
    return Column(name, "TEXT", "TEXT COLLATE NOCASE", not_null=not_null)


def _row_id(name: str) -> Column:
    return Column(name, "INT(9) UNSIGNED AUTO_INCREMENT", "INTEGER", not_null=True, primary_key=True)


def _datetime(name: str, default: str | None = None, *, not_null: bool = False) -> Column:
    return Column(name, "DATETIME", "TEXT", default=default, not_null=not_null)


SCHEMA: Mapping[str, Table] = {table.name: table for table in (
    # VICIdial's phones (vicidial-api.md, "The phones table"): the columns add_phone and
    # update_phone read or write, in VICIdial's order, with its types and defaults.
    Table("phones", (
        _varchar("extension", 100),
        _varchar("dialplan_number", 20),
        _varchar("voicemail_id", 10),
        _varchar("phone_ip", 15),
        _varchar("computer_ip", 15),
        _varchar("server_ip", 15),
        _varchar("login", 15),
        _varchar("pass", 100),
        _varchar("status", 10),
        _enum("active", "Y", "N"),
        _varchar("phone_type", 50),
        _varchar("fullname", 50),
        _varchar("company", 10),
        _enum("protocol", "SIP", "PJSIP", "Zap", "IAX2", "EXTERNAL", default="SIP"),
        _varchar("local_gmt", 6, "-5.00"),
        _varchar("install_directory", 100, "/usr/local/perl_TK"),
        _varchar("outbound_cid", 20),
        _varchar("email", 100),
        _varchar("template_id", 15, not_null=True),
        _varchar("phone_context", 20, "default"),
        _integer("phone_ring_timeout", "SMALLINT(3)", 60),
        _varchar("conf_secret", 100, "test"),
        _enum("delete_vm_after_email", "N", "Y", default="N"),
        _enum("is_webphone", "Y", "N", "Y_API_LAUNCH", default="N"),
        _enum("use_external_server_ip", "Y", "N", default="N"),
        _enum("on_hook_agent", "Y", "N", default="N"),
        _enum("webphone_auto_answer", "Y", "N", default="Y"),
        _varchar("user_group", 20, "---ALL---"),
        _varchar("outbound_alt_cid", 20, ""),
    ), (
        Index("server_ip", ("server_ip",)),
        Index("voicemail_id", ("voicemail_id",)),
        Index("dialplan_number", ("dialplan_number",)),
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
        _enum("active_agent_login_server", "Y", "N", default="Y"),
    ), (
        Index("server_id", ("server_id",), unique=True),
    )),
    Table("vicidial_conf_templates", (
        _varchar("template_id", 15, not_null=True),
        _varchar("template_name", 50, not_null=True),
        _text("template_contents", not_null=True),
        _varchar("user_group", 20, "---ALL---"),
    ), (
        Index("template_id", ("template_id",), unique=True),
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
        _enum("modify_phones", "0", "1", default="0"),
        _enum("modify_users", "0", "1", default="0"),
        _enum("vdc_agent_api_access", "0", "1", default="0"),
        _enum("api_only_user", "0", "1", default="0"),
        _enum("active", "Y", "N", default="Y"),
        _integer("failed_login_count", "TINYINT(3) UNSIGNED", 0),
        _datetime("last_login_date", "2001-01-01 00:00:01"),
        _varchar("api_allowed_functions", 1000, " ALL_FUNCTIONS "),
        _varchar("phone_login", 20, ""),
        _varchar("phone_pass", 100, ""),
    ), (
        Index("user", ("user",), unique=True),
    )),
    Table("vicidial_user_groups", (
        _varchar("user_group", 20, not_null=True),
        _varchar("group_name", 40, not_null=True),
        _text("admin_viewable_groups"),   # space-separated groups, or ---ALL---
    ), (
        Index("user_group", ("user_group",), unique=True),
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
        _text("event_sql"),      # the statement that made the change, passwords in clear
        _text("event_notes"),
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

    def fetch_all(self, table: str, columns: Sequence[str], order_by: Sequence[str] = ()) -> list[Row]: ...

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

    def _inserted(self, table: Table, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """A new row's values as the engine must be given them to store what MySQL stores."""
        return self._written(table, values)

    @abstractmethod
    def _duplicate(self, error: BaseException) -> bool:
        """Whether `error` is the engine refusing a row that a unique key already holds."""

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

    def fetch_all(self, table: str, columns: Sequence[str], order_by: Sequence[str] = ()) -> list[Row]:
        """Every row of `table` (the admin screens' list pages), ordered by `order_by`."""
        names = self._names(SCHEMA[table], columns)
        order = f" ORDER BY {', '.join(self._names(SCHEMA[table], order_by))}" if order_by else ""
        return [dict(zip(columns, row)) for row in self._rows(f"SELECT {', '.join(names)} FROM {table}{order}", ())]

    def insert(self, table: str, values: Mapping[str, Any]) -> None:
        """One row; DuplicateRow when a unique key refuses it (nothing is then written)."""
        written = self._inserted(SCHEMA[table], values)
        names = self._names(SCHEMA[table], written)
        marks = ", ".join([self.placeholder] * len(written))
        try:
            self._rows(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", list(written.values()))
        except Exception as exc:
            if self._duplicate(exc):
                raise DuplicateRow(str(exc)) from None
            raise

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows that all name the same columns; for seeding large sandboxes."""
        if not rows:
            return
        written = [self._inserted(SCHEMA[table], row) for row in rows]
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

    def _duplicate(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

    def _written(self, table: Table, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """Each value as MySQL without strict mode stores it: text cut to its column's width, an
        ENUM value in its declared spelling (or '' when the ENUM does not list it)."""
        return {name: _as_mysql_stores(value, table.column(name)) for name, value in values.items()}

    def _inserted(self, table: Table, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """As `_written`, plus the implicit '' MySQL gives a NOT NULL column without a default
        that the INSERT leaves out (SQLite would refuse the row)."""
        implicit = {column.name: "" for column in table.columns
                    if column.not_null and column.default is None and not column.primary_key
                    and column.name not in values}
        return self._written(table, {**values, **implicit})


def _as_mysql_stores(value: Any, column: Column) -> Any:
    if not isinstance(value, str):
        return value
    if column.options:
        return next((option for option in column.options if option.lower() == value.lower()), "")
    return _cut(value, column.width)


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

    def _duplicate(self, error: BaseException) -> bool:
        return isinstance(error, self._integrity_error) and error.args[0] == DUPLICATE_ENTRY

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
# Seeding: the servers, the API user, the templates, the phones, the aliases

PHONE_KEYS = tuple(column.name for column in SCHEMA["phones"].columns)
SERVER_KEYS = tuple(column.name for column in SCHEMA["servers"].columns)


def init_sandbox(path: str | os.PathLike[str], phones: Sequence[Mapping[str, Any]],
                 api_user: str = "6666", api_pass: str = "1234", aliases: Iterable[LiveAlias] = (),
                 users: Sequence[Mapping[str, str]] = (), servers: Sequence[Mapping[str, str]] | None = None,
                 templates: Sequence[str] = ()) -> None:
    """Create a new SQLite sandbox holding `phones` (and `aliases`, stored as given, unchecked).

    `servers` is the whole `servers` table; without it, there is one server
    for 10.0.0.1 and one for each other server_ip a phone names. `templates`
    are the template ids of `vicidial_conf_templates`. An existing file is
    never overwritten.
    """
    seed = _Seed.of(phones, servers, templates)
    try:
        with open(path, "x"):
            pass
    except FileExistsError:
        raise SandboxError(f"sandbox {os.fspath(path)} already exists; "
                           "remove it or choose another path") from None
    try:
        with closing(SqliteStore(path)) as store:
            _create_and_seed(store, seed, api_user, api_pass, aliases, users)
    except BaseException:
        os.remove(path)
        raise


def init_mysql(url: str, phones: Sequence[Mapping[str, Any]],
               api_user: str = "6666", api_pass: str = "1234", aliases: Iterable[LiveAlias] = (),
               users: Sequence[Mapping[str, str]] = (), servers: Sequence[Mapping[str, str]] | None = None,
               templates: Sequence[str] = ()) -> None:
    """Create the sandbox tables in the empty database at `url` and seed them as `init_sandbox` does."""
    seed = _Seed.of(phones, servers, templates)
    with closing(MySqlStore(url)) as store:
        _create_and_seed(store, seed, api_user, api_pass, aliases, users)


@dataclass(frozen=True)
class _Seed:
    """The rows of `servers`, `phones` and `vicidial_conf_templates`, checked before anything is created."""

    servers: tuple[Row, ...]
    phones: tuple[Row, ...]
    templates: tuple[Row, ...]

    @classmethod
    def of(cls, phones: Sequence[Mapping[str, Any]], servers: Sequence[Mapping[str, str]] | None,
           templates: Sequence[str]) -> "_Seed":
        if servers is None:
            ips = dict.fromkeys([DEFAULT_SERVER_IP, *(str(phone.get("server_ip") or DEFAULT_SERVER_IP)
                                                      for phone in phones)])
            servers = [{"server_ip": ip} for ip in ips]
            default_ip: str | None = DEFAULT_SERVER_IP
        else:
            default_ip = servers[0].get("server_ip") if servers else None
        server_rows = _server_rows(servers)
        known = {_fold(row["server_ip"]) for row in server_rows}
        phone_rows = [_phone_row(number, phone, default_ip, known) for number, phone in enumerate(phones, start=1)]
        return cls(tuple(server_rows), tuple(phone_rows), tuple(_template_rows(templates)))


def _fold(text: str) -> str:
    """Text as the tables' case-insensitive collation compares it."""
    return text.casefold()


def _check_columns(what: str, entry: Mapping[str, Any], keys: Sequence[str], table: str) -> None:
    """Each key a column of `table`, each value one the column can hold as given."""
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        raise SandboxError(f"{what}: unknown key {unknown[0]!r}; the keys are the columns of VICIdial's "
                           f"{table} table ({', '.join(keys)})")
    for key, value in entry.items():
        column = SCHEMA[table].column(key)
        if column.sqlite_type == "INTEGER":
            if not (isinstance(value, int) or isinstance(value, str) and value.isdigit()):
                raise SandboxError(f"{what}: {key} must be a whole number")
        elif not isinstance(value, str):
            raise SandboxError(f"{what}: {key} must be a string")
        elif column.options and value not in column.options:
            raise SandboxError(f"{what}: {key} must be {_one_of(column.options)}")


def _one_of(options: Sequence[str]) -> str:
    return " or ".join(options) if len(options) == 2 else "one of " + ", ".join(options)


def _server_rows(servers: Sequence[Mapping[str, str]]) -> list[Row]:
    """One `servers` row each; a server_id or a server_ip listed twice is refused."""
    rows: list[Row] = []
    ids: dict[str, int] = {}
    ips: dict[str, int] = {}
    for number, server in enumerate(servers, start=1):
        what = f"server {number}"
        _check_columns(what, server, SERVER_KEYS, "servers")
        if not server.get("server_ip"):
            raise SandboxError(f"{what}: server_ip is missing")
        row = {"server_id": f"sandbox{number}", "server_description": "aliassync sandbox", "active": "Y",
               "local_gmt": "-5.00", "rebuild_conf_files": "N", **server}
        for key, seen in (("server_id", ids), ("server_ip", ips)):
            first = seen.setdefault(_fold(row[key]), number)
            if first != number:
                raise SandboxError(f"{what}: {key} {row[key]} is listed twice (also server {first})")
        rows.append(row)
    return rows


def _phone_row(number: int, phone: Mapping[str, Any], default_ip: str | None, servers: set[str]) -> Row:
    """A whole `phones` row: the columns given, the sandbox's choices, then the table's defaults."""
    what = f"phone {number}"
    _check_columns(what, phone, PHONE_KEYS, "phones")
    login = phone.get("login", "")
    if not login:
        raise SandboxError(f"{what}: login is missing")
    server_ip = phone.get("server_ip") or default_ip
    if server_ip is None:
        raise SandboxError(f"phone {login} names no server_ip and there is no server")
    if _fold(server_ip) not in servers:
        raise SandboxError(f"phone {login}: server_ip {server_ip} is not one of the servers")
    extension = phone.get("extension", login)
    return {
        **{column.name: _default(column) for column in SCHEMA["phones"].columns},
        "extension": extension, "dialplan_number": extension, "voicemail_id": extension, "server_ip": server_ip,
        "login": login, "pass": DEFAULT_PHONE_PASS, "status": "ACTIVE", "active": "Y", "fullname": login,
        "protocol": "SIP", "local_gmt": "-5.00", "outbound_cid": "",
        **phone,
    }


def _default(column: Column) -> Any:
    """What MySQL stores in a column an INSERT leaves out."""
    if column.default is not None:
        return column.default
    return "" if column.not_null else None


def _template_rows(templates: Sequence[str]) -> list[Row]:
    seen: set[str] = set()
    rows: list[Row] = []
    for template_id in templates:
        if not isinstance(template_id, str) or not template_id:
            raise SandboxError(f"template {template_id!r}: a template id is a non-empty string")
        if _fold(template_id) in seen:
            raise SandboxError(f"template {template_id} is listed twice")
        seen.add(_fold(template_id))
        rows.append({"template_id": template_id, "template_name": template_id, "template_contents": ""})
    return rows


def _create_and_seed(store: Store, seed: _Seed, api_user: str, api_pass: str,
                     aliases: Iterable[LiveAlias], users: Sequence[Mapping[str, str]] = ()) -> None:
    create_schema(store)
    for server in seed.servers:
        store.insert("servers", server)
    for template in seed.templates:
        store.insert("vicidial_conf_templates", template)
    store.insert("vicidial_user_groups", {"user_group": "ADMIN", "group_name": "aliassync sandbox administrators",
                                          "admin_viewable_groups": " ---ALL---"})
    store.insert("vicidial_users", {
        "user": api_user, "pass": api_pass, "full_name": "aliassync sandbox API user", "user_level": 9,
        "user_group": "ADMIN", "ast_admin_access": "1", "ast_delete_phones": "1", "modify_phones": "1",
        "modify_users": "1",
        "vdc_agent_api_access": "1", "active": "Y"})
    for agent in users:
        store.insert("vicidial_users", {
            "user": agent["user"], "pass": "", "full_name": f"agent {agent['user']}", "user_level": 1,
            "user_group": "AGENTS", "active": "Y", "phone_login": agent["phone_login"]})
    _seed(store, "phones", seed.phones, _refuse_second_phone)
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
