"""Reads VICIdial's live state from its database, read-only.

The same two queries serve a real VICIdial (MySQL/MariaDB) and the
sandbox (SQLite): the whole state costs two queries whatever its size,
never one per alias. Passwords never leave the database: the phones query
returns a DENSE_RANK over `pass` (compared with the column's own
case-insensitive collation, as VICIdial's login check compares), so equal
numbers mean equal passwords.

Phones in full (`read_phones`) cost two more queries whatever their number,
plus one per SECRETS_CHUNK logins whose passwords the files declare. A
declared password is never sent either: the database hashes each stored
password with a fresh random salt (SHA-256, `SHA2()` in MariaDB, a `sha2`
function registered on the sandbox's SQLite connection) and says only
whether that equals the salted hash of the declared one computed here.
The comparison is exact (bytes, not the column's case-insensitive
collation), and neither a hash nor a salt is returned, logged or kept.
"""
from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from secrets import token_hex
from typing import Any, Callable, Iterable, Mapping

from .. import redaction
from ..bulk import collector_paused
from ..errors import TargetError
from ..core.model import Current, LiveAlias, Phone, fold
from ..core.phone import COLUMNS, SECRET_COLUMNS, LivePhone, at_key, by_login
from ..retry import READS, Backoff, retrying

log = logging.getLogger("aliassync.state")

ALIASES_SQL = "SELECT alias_id, alias_name, logins_list FROM phones_alias"
PHONES_SQL = "SELECT login, active, DENSE_RANK() OVER (ORDER BY pass) FROM phones"
# Agents whose default phone login may name an alias (deleting that alias strands them).
AGENTS_SQL = "SELECT user, phone_login FROM vicidial_users WHERE phone_login <> ''"
DELETE_RIGHT_SQL = "SELECT ast_delete_phones FROM vicidial_users WHERE user = {mark}"
CHUNK = 500   # ids per `IN (...)` when a few aliases or phones are read back

# Phones in full: the columns read, by API field name (the login and the key, then every managed
# column of core/phone.COLUMNS). The read-only account needs SELECT on each, and on pass and conf_secret.
PHONE_FIELDS: Mapping[str, str] = {"login": "login", "extension": "extension", "server_ip": "server_ip", **COLUMNS}
PHONE_ROWS_SQL = f"SELECT {', '.join(PHONE_FIELDS.values())} FROM phones"
SERVERS_SQL = "SELECT server_ip FROM servers"
TEMPLATES_SQL = "SELECT template_id FROM vicidial_conf_templates"
# Whether each stored password (SECRET_COLUMNS) equals the declared one, for up to SECRETS_CHUNK logins
# a query. `declared` holds one row per login: the login's bytes in hex (HEX() gives the same text
# whatever the column's character set, so the join can use a key on `declared`; `p.login = d.login`
# mixes utf8 with the connection's utf8mb4 and makes MariaDB compare every pair), then for each
# password a random salt and the SHA-256 hex of salt + declared value (NULL when not declared).
SECRETS_CHUNK = 2000
SECRETS_SQL = (
    "WITH declared (login_hex, "
    + ", ".join(f"{field}_salt, {field}_sha" for field in SECRET_COLUMNS)
    + ") AS (VALUES {rows}) SELECT p.login, p.extension, p.server_ip, "
    + ", ".join(f"SHA2(CONCAT(d.{field}_salt, COALESCE(p.{column}, '')), 256) = d.{field}_sha"
                for field, column in SECRET_COLUMNS.items())
    + " FROM phones p JOIN declared d ON d.login_hex = HEX(p.login)")
# Which phones share a password, for export, without reading one: per phone its key, then per password
# (SECRET_COLUMNS) a group number (DENSE_RANK over the stored bytes, so equal numbers mean byte-equal
# passwords: HEX() compares bytes on both engines, whatever the column's collation) and whether it fits
# the files' rule (2 to 30 of [-_0-9A-Za-z]). The numbers' order is the passwords' byte order: callers
# number the groups afresh before showing them. `{fits}` is the engine's own test (FITS_SQL).
PASSWORD_GROUPS_SQL = (
    "SELECT login, extension, server_ip, "
    + ", ".join(f"DENSE_RANK() OVER (ORDER BY HEX(COALESCE({column}, ''))), {{fits_{field}}}"
                for field, column in SECRET_COLUMNS.items())
    + " FROM phones")
FITS_SQL = {   # by placeholder: sqlite3's qmark, PyMySQL's format
    "?": "CASE WHEN LENGTH(COALESCE({column}, '')) BETWEEN 2 AND 30 "
         "AND COALESCE({column}, '') NOT GLOB '*[^-_0-9A-Za-z]*' THEN 1 ELSE 0 END",
    "%s": "CASE WHEN LENGTH(COALESCE({column}, '')) BETWEEN 2 AND 30 "
          "AND CAST(COALESCE({column}, '') AS BINARY) NOT REGEXP '[^-_0-9A-Za-z]' THEN 1 ELSE 0 END",
}
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


def _sha2(value: Any, bits: Any) -> str | None:
    """MariaDB's SHA2(str, bits), for the sandbox's SQLite connection."""
    if value is None or bits is None:
        return None
    digest = {0: hashlib.sha256, 224: hashlib.sha224, 256: hashlib.sha256, 384: hashlib.sha384,
              512: hashlib.sha512}.get(int(bits))
    if digest is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return digest(data).hexdigest()


def _concat(*values: Any) -> str | None:
    """MariaDB's CONCAT() (NULL when any argument is), for the sandbox's SQLite connection."""
    if any(value is None for value in values):
        return None
    return "".join(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                   for value in values)


def _prepared(connection: Any) -> Any:
    """The connection, with the MariaDB functions the phone queries use when it is SQLite's."""
    if isinstance(connection, sqlite3.Connection):
        connection.create_function("sha2", 2, _sha2, deterministic=True)
        connection.create_function("concat", -1, _concat, deterministic=True)
    return connection


def _salted_sha256(salt: str, value: str) -> str:
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()


def _error_code(exc: BaseException) -> str:
    """A driver error named without its text (which may quote the statement it was given)."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else getattr(exc, "sqlite_errorname", None)
    return f"{type(exc).__name__} {code}" if code is not None else type(exc).__name__


def _live_phone(row: tuple, secrets_match: Mapping[str, bool] | None = None) -> LivePhone:
    """A PHONE_ROWS_SQL row (already text) as a LivePhone."""
    return LivePhone(row[0], row[1], row[2], dict(zip(COLUMNS, row[3:])), secrets_match or {})




def _phones(rows: Iterable[tuple]) -> list[Phone]:
    return [Phone(_text(login), _text(active).upper() == "Y", int(group)) for login, active, group in rows]


class SqlStateReader:
    """A StateReader over a DB-API connection (sqlite3 or PyMySQL).

    `connect` opens the connection on first use; `placeholder` is the
    driver's parameter marker. `queries` counts the statements run, so
    tests and benchmarks can prove the cost does not grow with the state.
    """

    delete_right_remedy = "grant SELECT on that column to the read-only account"

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

    def _rows(self, sql: str, params: Iterable[Any] = (), *, carries_secrets: bool = False) -> list[tuple]:
        """The rows of one query; a lost connection is opened again, within the retry budget.

        `carries_secrets`: the parameters hold password hashes, which a driver's error text may
        quote (MariaDB's "near '...'" does): such an error is named by its code only, and raised
        apart from the driver's exception, so that no traceback chains it.
        """
        params = tuple(params)
        on_retry = self._log_retry_by_code if carries_secrets else self._log_retry
        try:
            return retrying(lambda: self._query(sql, params), self._lost, self._retry, sleep=self._sleep,
                            on_retry=on_retry)
        except self._errors as exc:   # a driver's text may quote anything it was given: masked here
            if not carries_secrets:
                raise TargetError(f"cannot read the live state from {self.description}: "
                                  f"{redaction.redact(str(exc))}") from None
            code = _error_code(exc)
        raise TargetError(f"cannot read the live state from {self.description}: comparing phone passwords "
                          f"failed ({code}; the database's message is not shown: it may quote password hashes)")

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = _prepared(self._connect())
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

    def _log_retry_by_code(self, failure: Exception, retry: int, delay: float) -> None:
        log.warning("state: connection to %s lost (%s); connecting again in %.1fs (retry %d of at most %d)",
                    self.description, _error_code(failure), delay, retry, self._retry.retries)

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

    @collector_paused()
    def read_phones(self, secrets: Mapping[str, Mapping[str, str]]
                    ) -> tuple[dict[str, tuple[LivePhone, ...]], frozenset[str]]:
        """Every phone in full, by folded login, and VICIdial's server IPs.

        `secrets` maps a folded login to {password field (SECRET_COLUMNS): the declared value}; each
        phone holding such a login gets `secrets_match[field]`, True only when the database says
        its stored password equals the declared one exactly. The passwords stay where they are:
        see the module doc. Costs 2 queries, plus one per SECRETS_CHUNK distinct logins that hold
        a declared password.
        """
        declared = _declared(secrets)
        rows = [tuple(_text(value) for value in row) for row in self._rows(PHONE_ROWS_SQL)]
        servers = frozenset(_text(row[0]) for row in self._rows(SERVERS_SQL))
        spellings = list(dict.fromkeys(row[0] for row in rows if fold(row[0]) in declared))
        matches = self._compare_secrets(spellings, declared)
        phones = []
        for row in rows:
            wanted = declared.get(fold(row[0]))
            if wanted is None:
                phones.append(_live_phone(row))
            else:
                found = matches.get(row[:3], {})
                phones.append(_live_phone(row, {field: found.get(field, False) for field in wanted}))
        grouped = by_login(phones)
        log.info("state: %d phones (%d logins) and %d servers read from %s; %d declared passwords compared "
                 "inside the database", len(phones), len(grouped), len(servers), self.description,
                 sum(len(phone.secrets_match) for phone in phones))
        return grouped, servers

    def read_templates(self) -> frozenset[str] | None:
        """The conf template ids a phone may name (folded, as VICIdial compares them); None when the
        read-only account may not read them."""
        rows = self._optional_rows(TEMPLATES_SQL, (), "vicidial_conf_templates.template_id")
        return None if rows is None else frozenset(fold(_text(row[0])) for row in rows)

    def _compare_secrets(self, logins: list[str], declared: Mapping[str, Mapping[str, str]]
                         ) -> dict[tuple[str, str, str], dict[str, bool]]:
        """{(login, extension, server_ip): {field: equal}} for the phones holding `logins` (stored spellings)."""
        found: dict[tuple[str, str, str], dict[str, bool]] = {}
        marks = "(" + ", ".join([self._placeholder] * (1 + 2 * len(SECRET_COLUMNS))) + ")"
        for number, start in enumerate(range(0, len(logins), SECRETS_CHUNK), start=1):
            chunk = logins[start:start + SECRETS_CHUNK]
            log.debug("state: comparing the declared passwords of %d logins inside %s (query %d)",
                      len(chunk), self.description, number)
            sql = SECRETS_SQL.format(rows=", ".join([marks] * len(chunk)))
            for row in self._rows(sql, _compared(chunk, declared), carries_secrets=True):
                key = (_text(row[0]), _text(row[1]), _text(row[2]))
                found[key] = {field: equal == 1 for field, equal in zip(SECRET_COLUMNS, row[3:])}
        return found

    @collector_paused()
    def read_password_groups(self) -> dict[tuple[str, str, str], dict[str, tuple[int, bool]]]:
        """{(login, extension, server_ip): {password field: (group, fits)}} for every phone, in one query.

        Phones whose `group` is equal hold byte-equal passwords; `fits` says whether the password
        is 2 to 30 of [-_0-9A-Za-z] (what the files can declare). No password, hash or length leaves
        the database; the group numbers follow the passwords' order, so show them renumbered.
        """
        fits = FITS_SQL.get(self._placeholder, FITS_SQL["%s"])
        sql = PASSWORD_GROUPS_SQL.format(**{f"fits_{field}": fits.format(column=column)
                                            for field, column in SECRET_COLUMNS.items()})
        groups: dict[tuple[str, str, str], dict[str, tuple[int, bool]]] = {}
        for row in self._rows(sql):
            values = row[3:]
            groups[(_text(row[0]), _text(row[1]), _text(row[2]))] = {
                field: (int(values[2 * n]), int(values[2 * n + 1]) == 1) for n, field in enumerate(SECRET_COLUMNS)}
        log.info("state: password groups of %d phones read from %s (compared inside the database)",
                 len(groups), self.description)
        return groups

    def read_phone_rows(self, logins: Iterable[str]) -> dict[str, tuple[LivePhone, ...]]:
        """These phones in full, by folded login (no `secrets_match`): one query per CHUNK logins."""
        wanted = list(dict.fromkeys(fold(login) for login in logins))
        phones: list[LivePhone] = []
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            marks = ", ".join([self._placeholder] * len(chunk))
            for row in self._rows(f"{PHONE_ROWS_SQL} WHERE login IN ({marks})", chunk):
                phone = _live_phone(tuple(_text(value) for value in row))
                if fold(phone.login) in wanted:   # not a login the collation pads or folds further
                    phones.append(phone)
        return by_login(phones)

    def read_phone_at(self, login: str, extension: str, server_ip: str) -> LivePhone | None:
        """The phone of `login` at (extension, server_ip), or None (one query, by login)."""
        return at_key(self.read_phone_rows([login]).get(fold(login), ()), extension, server_ip)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def _declared(secrets: Mapping[str, Mapping[str, str]]) -> dict[str, Mapping[str, str]]:
    """The declared passwords by folded login; a field that is not a password is a caller's mistake."""
    declared: dict[str, Mapping[str, str]] = {}
    for login, fields in secrets.items():
        unknown = sorted(set(fields) - set(SECRET_COLUMNS))
        if unknown:
            raise ValueError(f"phone {login}: {unknown[0]} is not a password field "
                             f"({', '.join(SECRET_COLUMNS)})")
        if fields:
            declared[fold(login)] = fields
    return declared


def _compared(logins: list[str], declared: Mapping[str, Mapping[str, str]]) -> list[str | None]:
    """SECRETS_SQL's parameters: per login its hex, then per password a fresh salt and the salted hash."""
    params: list[str | None] = []
    for login in logins:
        wanted = declared[fold(login)]
        params.append(login.encode("utf-8").hex().upper())
        for field in SECRET_COLUMNS:
            if field in wanted:
                salt = token_hex(16)
                params += [salt, _salted_sha256(salt, wanted[field])]
            else:
                params += [None, None]
    return params
