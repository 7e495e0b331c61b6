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
import time
from typing import Any, Callable, Iterable

from .. import redaction
from ..bulk import collector_paused
from ..errors import TargetError
from ..core.model import Current, LiveAlias, Phone, fold
from ..retry import READS, Backoff, retrying

log = logging.getLogger("aliassync.state")

ALIASES_SQL = "SELECT alias_id, alias_name, logins_list FROM phones_alias"
PHONES_SQL = "SELECT login, active, DENSE_RANK() OVER (ORDER BY pass) FROM phones"
# Agents whose default phone login may name an alias (deleting that alias strands them).
AGENTS_SQL = "SELECT user, phone_login FROM vicidial_users WHERE phone_login <> ''"
DELETE_RIGHT_SQL = "SELECT ast_delete_phones FROM vicidial_users WHERE user = {mark}"
CHUNK = 500   # ids per `IN (...)` when a few aliases are read back
# MySQL client errors of the connection, not of the query: can't connect (2003),
# server has gone away (2006), lost connection during the query (2013, 2055).
CONNECTION_LOST = frozenset({2003, 2006, 2013, 2055})


def connection_lost(exc: BaseException) -> bool:
    """Whether a driver error is the connection failing (worth a new connection), not the query."""
    code = exc.args[0] if exc.args else None
    return isinstance(code, int) and code in CONNECTION_LOST


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _phones(rows: Iterable[tuple]) -> list[Phone]:
    return [Phone(_text(login), _text(active).upper() == "Y", int(group)) for login, active, group in rows]


class SqlStateReader:
    """A StateReader over a DB-API connection (sqlite3 or PyMySQL).

    `connect` opens the connection on first use; `placeholder` is the
    driver's parameter marker. `queries` counts the statements run, so
    tests and benchmarks can prove the cost does not grow with the state.
    """

    def __init__(self, connect: Callable[[], Any], placeholder: str, description: str,
                 errors: tuple[type[BaseException], ...] = (), retry: Backoff = READS,
                 sleep: Callable[[float], None] = time.sleep):
        self._connect = connect
        self._placeholder = placeholder
        self._errors = errors
        self._retry = retry
        self._sleep = sleep
        self.description = description
        self._connection = None
        self._lock = threading.Lock()   # apply's workers share the one connection
        self.queries = 0

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """The rows of one query; a lost connection is opened again, within the retry budget."""
        params = tuple(params)
        try:
            return retrying(lambda: self._query(sql, params), self._lost, self._retry, sleep=self._sleep,
                            on_retry=self._log_retry)
        except self._errors as exc:   # a driver's text may quote anything it was given: masked here
            raise TargetError(f"cannot read the live state from {self.description}: "
                              f"{redaction.redact(str(exc))}") from None

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._connect()
                cursor = self._connection.cursor()
                try:
                    self.queries += 1
                    cursor.execute(sql, params)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
            except self._errors as exc:
                if connection_lost(exc):
                    self._drop_connection()
                raise

    def _lost(self, exc: Exception) -> bool:
        return isinstance(exc, self._errors) and connection_lost(exc)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except self._errors:
                pass   # it is already broken; a new one is opened on the next query

    def _log_retry(self, failure: Exception, retry: int, delay: float) -> None:
        log.warning("state: connection to %s lost (%s); connecting again in %.1fs (retry %d of at most %d)",
                    self.description, redaction.redact(str(failure)), delay, retry, self._retry.retries)

    @staticmethod
    def _alias(row: tuple) -> LiveAlias:
        return LiveAlias(_text(row[0]), _text(row[1]), _text(row[2]))

    @collector_paused()
    def read(self) -> Current:
        # Phones first: PyMySQL keeps a connection's last result set until its next query, and
        # the phones' rows are the large one (five per alias).
        phones = _phones(self._rows(PHONES_SQL))
        aliases = [self._alias(row) for row in self._rows(ALIASES_SQL)]
        agents = self._optional_rows(AGENTS_SQL, (), "vicidial_users.phone_login")
        log.info("state: %d aliases, %d phones read from %s", len(aliases), len(phones), self.description)
        return Current.build(aliases, phones,
                             None if agents is None else [(_text(user), _text(login)) for user, login in agents])

    def _optional_rows(self, sql: str, params: tuple, what: str) -> list[tuple] | None:
        """Rows of a query the read-only account may not be granted: None when it is refused.

        A lost connection is still an error (it is tried again first, as for
        every query); a refusal of the query itself (no grant, no such table
        or column) means the fact cannot be known.
        """
        try:
            return retrying(lambda: self._query(sql, params), self._lost, self._retry, sleep=self._sleep,
                            on_retry=self._log_retry)
        except self._errors as exc:
            if connection_lost(exc):
                raise TargetError(f"cannot read the live state from {self.description}: "
                                  f"{redaction.redact(str(exc))}") from None
            log.info("state: cannot read %s from %s (%s)", what, self.description, redaction.redact(str(exc)))
            return None

    def delete_right(self, user: str) -> bool | None:
        """`vicidial_users.ast_delete_phones` of the API user: the right no API probe can show."""
        rows = self._optional_rows(DELETE_RIGHT_SQL.format(mark=self._placeholder), (user,),
                                   "vicidial_users.ast_delete_phones")
        if rows is None:
            return None
        return bool(rows) and _text(rows[0][0]) == "1"

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
