"""Reads VICIdial's live state from its database, read-only.

The same two queries serve a real VICIdial (MySQL/MariaDB) and the
sandbox (SQLite): the whole state costs two queries whatever its size,
never one per alias. Passwords never leave the database: the phones query
returns a DENSE_RANK over `pass` (compared with the column's own
case-insensitive collation, as VICIdial's login check compares), so equal
numbers mean equal passwords.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterable

from .errors import TargetError
from .model import Current, LiveAlias, Phone, fold

log = logging.getLogger("aliassync.state")

ALIASES_SQL = "SELECT alias_id, alias_name, logins_list FROM phones_alias"
PHONES_SQL = ("SELECT login, active, server_ip, extension, DENSE_RANK() OVER (ORDER BY pass) "
              "FROM phones")
CHUNK = 500   # ids per `IN (...)` when a few aliases are read back


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


class SqlStateReader:
    """A StateReader over a DB-API connection (sqlite3 or PyMySQL).

    `connect` opens the connection on first use; `placeholder` is the
    driver's parameter marker. `queries` counts the statements run, so
    tests and benchmarks can prove the cost does not grow with the state.
    """

    def __init__(self, connect: Callable[[], Any], placeholder: str, description: str,
                 errors: tuple[type[BaseException], ...] = ()):
        self._connect = connect
        self._placeholder = placeholder
        self._errors = errors
        self.description = description
        self._connection = None
        self._lock = threading.Lock()   # apply's workers share the one connection
        self.queries = 0

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        try:
            with self._lock:
                if self._connection is None:
                    self._connection = self._connect()
                cursor = self._connection.cursor()
                try:
                    self.queries += 1
                    cursor.execute(sql, tuple(params))
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
        except self._errors as exc:
            raise TargetError(f"cannot read the live state from {self.description}: {exc}") from None

    @staticmethod
    def _alias(row: tuple) -> LiveAlias:
        return LiveAlias(_text(row[0]), _text(row[1]), _text(row[2]))

    def read(self) -> Current:
        aliases = [self._alias(row) for row in self._rows(ALIASES_SQL)]
        phones = [Phone(_text(login), _text(active).upper() == "Y", _text(server_ip), _text(extension),
                        int(group))
                  for login, active, server_ip, extension, group in self._rows(PHONES_SQL)]
        log.info("state: %d aliases, %d phones read from %s", len(aliases), len(phones), self.description)
        return Current.build(aliases, phones)

    def read_aliases(self, alias_ids: Iterable[str]) -> dict[str, LiveAlias]:
        ids = list(dict.fromkeys(alias_ids))
        found: dict[str, LiveAlias] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            marks = ", ".join([self._placeholder] * len(chunk))
            for row in self._rows(f"{ALIASES_SQL} WHERE alias_id IN ({marks})", chunk):
                alias = self._alias(row)
                found[fold(alias.alias_id)] = alias
        return found

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
