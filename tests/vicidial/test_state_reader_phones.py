"""The state reader's phones on the real MariaDB and on SQLite: every managed field, the servers,
passwords compared inside the database (never read out, never sent), and what it costs."""
import hashlib
import logging
import sqlite3
from contextlib import closing

import pymysql
import pytest

from aliassync.core.phone import COLUMNS, SECRET_COLUMNS, LivePhone
from aliassync.errors import TargetError
from aliassync.sandbox.store import SCHEMA, init_mysql, init_sandbox, open_store
from aliassync.vicidial import state_reader
from aliassync.vicidial.db_url import parse_db_url
from aliassync.vicidial.state_reader import PHONE_FIELDS, SECRETS_CHUNK, SqlStateReader

# One phone with a distinct value in every managed column (API field -> value).
FULL = {
    "local_gmt": "5.50", "email": "ops@example.test", "phone_context": "agents", "phone_full_name": "Desk 7",
    "protocol": "IAX2", "voicemail_id": "7007", "dialplan_number": "87007", "active": "N",
    "outbound_cid": "3125550100", "admin_user_group": "SALES", "is_webphone": "Y_API_LAUNCH",
    "webphone_auto_answer": "N", "use_external_server_ip": "Y", "on_hook_agent": "Y", "template_id": "tmpl7",
}


def phone_row(login, extension, server_ip="10.0.0.1", **fields):
    """A `phones` row by column name: the key, a plain phone, then `fields` (by API name or column)."""
    row = {"login": login, "extension": extension, "server_ip": server_ip, "pass": "test",
           "conf_secret": "test", "dialplan_number": extension, "voicemail_id": extension,
           "fullname": login, "protocol": "SIP", "active": "Y", "status": "ACTIVE"}
    for name, value in fields.items():
        row[COLUMNS.get(name, name)] = value
    return row


# --- the two backends, and a connection that records what crosses it ------------------------

class RecordingSqliteCursor(sqlite3.Cursor):
    def execute(self, sql, params=()):
        self.connection.sent.append((sql, tuple(params)))
        try:
            return super().execute(sql, params)
        except sqlite3.Error as exc:
            self.connection.driver_errors.append(str(exc))
            raise


class RecordingSqliteConnection(sqlite3.Connection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent, self.driver_errors = [], []

    def cursor(self, factory=RecordingSqliteCursor):
        return super().cursor(factory)


class RecordingMysqlCursor(pymysql.cursors.Cursor):
    def execute(self, query, args=None):
        self.connection.sent.append((query, tuple(args or ())))
        for hook in self.connection.before_execute:
            hook(query)
        try:
            return super().execute(query, args)
        except pymysql.MySQLError as exc:
            self.connection.driver_errors.append(str(exc))
            raise


class Backend:
    """A sandbox on one engine: its location, and readers whose connections record what they send."""

    def __init__(self, kind, location):
        self.kind, self.location = kind, location
        self.connections = []
        self.before_execute = []
        self._readers = []

    def store(self):
        return closing(open_store(self.location))

    def insert_phones(self, rows):
        with self.store() as store:
            for row in rows:
                store.insert("phones", row)

    def reader(self):
        if self.kind == "sqlite":
            def connect():
                connection = sqlite3.connect(self.location, factory=RecordingSqliteConnection)
                self.connections.append(connection)
                return connection
            reader = SqlStateReader(connect, "?", "sandbox", errors=(sqlite3.Error,))
        else:
            parts = parse_db_url(self.location)

            def connect():
                connection = pymysql.connect(host=parts.host, port=parts.port, user=parts.user,
                                             password=parts.password, database=parts.database,
                                             charset="utf8mb4", autocommit=True, cursorclass=RecordingMysqlCursor)
                connection.sent, connection.driver_errors = [], []
                connection.before_execute = self.before_execute
                self.connections.append(connection)
                return connection
            reader = SqlStateReader(connect, "%s", "test database", errors=(pymysql.MySQLError,),
                                    sleep=lambda seconds: None)
        self._readers.append(reader)
        return reader

    def sent(self):
        return [item for connection in self.connections for item in connection.sent]

    def driver_errors(self):
        return [text for connection in self.connections for text in connection.driver_errors]

    def close(self):
        for reader in self._readers:
            reader.close()


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request, tmp_path):
    """A sandbox with no phones (servers: 10.0.0.1 only), on each backend."""
    if request.param == "sqlite":
        location = str(tmp_path / "s.sqlite")
        init_sandbox(location, [])
    else:
        location = request.getfixturevalue("mariadb_url")
        init_mysql(location, [])
    sandbox = Backend(request.param, location)
    yield sandbox
    sandbox.close()


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


# --- what is read ---------------------------------------------------------------------------

def test_the_reader_reads_every_managed_column_and_the_sandbox_has_them_all():
    assert list(PHONE_FIELDS) == ["login", "extension", "server_ip", *COLUMNS]
    table = {column.name for column in SCHEMA["phones"].columns}
    missing = [column for column in (*PHONE_FIELDS.values(), *SECRET_COLUMNS.values()) if column not in table]
    assert missing == []


def test_every_field_is_read_back_by_its_api_name(backend):
    backend.insert_phones([phone_row("7007", "7007", **FULL)])

    phones, _ = backend.reader().read_phones({})

    assert phones == {"7007": (LivePhone("7007", "7007", "10.0.0.1", FULL),)}


def test_null_is_read_as_an_empty_string(backend):
    nullable = [name for name, column in COLUMNS.items() if not SCHEMA["phones"].column(column).not_null]
    assert "template_id" not in nullable        # NOT NULL in VICIdial's schema: '' stands for none
    backend.insert_phones([phone_row("100a", "100", **{name: None for name in nullable})])

    phones, _ = backend.reader().read_phones({})

    [phone] = phones["100a"]
    assert phone.fields == {name: "" for name in COLUMNS}


def test_phones_sharing_a_login_are_all_kept_and_servers_are_read(backend):
    with backend.store() as store:
        store.insert("servers", {"server_id": "two", "server_ip": "10.0.0.2", "active": "N"})
    backend.insert_phones([phone_row("200A", "200", "10.0.0.2"), phone_row("200a", "200", "10.0.0.1"),
                           phone_row("300a", "300")])

    phones, servers = backend.reader().read_phones({})

    assert servers == frozenset({"10.0.0.1", "10.0.0.2"})     # an inactive server is one too
    assert sorted(phones) == ["200a", "300a"]
    assert [(p.login, p.server_ip) for p in phones["200a"]] == [("200a", "10.0.0.1"), ("200A", "10.0.0.2")]


# --- passwords: compared inside the database ------------------------------------------------

def test_each_declared_password_is_compared_exactly_including_its_case(backend):
    backend.insert_phones([
        phone_row("100a", "100", **{"pass": "test", "conf_secret": "Secret1"}),
        phone_row("100b", "101", **{"pass": "Test"}),                   # rotated from test to Test
        phone_row("100c", "102", **{"pass": "test ", "conf_secret": None}),   # a trailing space; NULL
        phone_row("100d", "103"),                                        # declares nothing
        phone_row("100e", "105", **{"pass": "MiXed9", "conf_secret": "MiXed9"}),
        phone_row("DUP", "104", "10.0.0.1", **{"pass": "one"}),
        phone_row("dup", "104", "10.0.0.2", **{"pass": "two"}),
    ])

    phones, _ = backend.reader().read_phones({
        "100a": {"phone_pass": "test", "registration_password": "secret1"},
        "100b": {"phone_pass": "test"},
        "100c": {"phone_pass": "test", "registration_password": ""},
        "dup": {"phone_pass": "two"},
        "100E": {"phone_pass": "MiXed9", "registration_password": "mixed9"},   # any case of the login
        "100z": {"phone_pass": "test"},                                   # no such phone: no query row
    })

    assert phones["100a"][0].secrets_match == {"phone_pass": True, "registration_password": False}
    assert phones["100b"][0].secrets_match == {"phone_pass": False}
    assert phones["100c"][0].secrets_match == {"phone_pass": False, "registration_password": True}
    assert phones["100d"][0].secrets_match == {}
    assert phones["100e"][0].secrets_match == {"phone_pass": True, "registration_password": False}
    assert [(p.server_ip, p.secrets_match) for p in phones["dup"]] == [
        ("10.0.0.1", {"phone_pass": False}), ("10.0.0.2", {"phone_pass": True})]


def test_a_field_that_is_not_a_password_is_refused_without_its_value(backend):
    with pytest.raises(ValueError) as refused:
        backend.reader().read_phones({"100a": {"pass": "hunter22"}})
    assert str(refused.value) == "phone 100a: pass is not a password field (phone_pass, registration_password)"


def test_no_password_nor_hash_is_sent_logged_or_returned(backend, caplog):
    caplog.set_level(logging.DEBUG)
    backend.insert_phones([phone_row("100a", "100", **{"pass": "Swordfish7", "conf_secret": "Marlin42"}),
                           phone_row("100b", "101", **{"pass": "Swordfish7"})])
    declared = {"100a": {"phone_pass": "Swordfish7", "registration_password": "Marlin42"},
                "100b": {"phone_pass": "swordfish7"}}

    phones, servers = backend.reader().read_phones(declared)

    assert phones["100a"][0].secrets_match == {"phone_pass": True, "registration_password": True}
    assert phones["100b"][0].secrets_match == {"phone_pass": False}
    [params] = [params for sql, params in backend.sent() if sql.startswith("WITH declared")]
    # What crossed the connection: per login its hex, then per password a fresh salt and a salted hash.
    rows = {params[n]: params[n + 1:n + 5] for n in range(0, len(params), 5)}
    assert sorted(rows) == ["31303061", "31303062"]      # 100a, 100b
    (salt_a, hash_a, salt_r, hash_r), (salt_b, hash_b, none, nothing) = rows["31303061"], rows["31303062"]
    assert (hash_a, hash_r, hash_b) == (sha256(salt_a + "Swordfish7"), sha256(salt_r + "Marlin42"),
                                        sha256(salt_b + "swordfish7"))
    assert len({salt_a, salt_r, salt_b}) == 3 and (none, nothing) == (None, None)
    salts, hashes = [salt_a, salt_r, salt_b], [hash_a, hash_r, hash_b]
    assert not any(word in str(item) for item in backend.sent() for word in ("Swordfish7", "Marlin42", "wordfish"))
    # ... and none of it, nor an unsalted hash, comes back out.
    shown = caplog.text + repr(phones) + repr(servers)
    for secret in ["Swordfish7", "swordfish7", "Marlin42", sha256("Swordfish7"), sha256("Marlin42"), *salts, *hashes]:
        assert secret not in shown
    assert "state: comparing the declared passwords of 2 logins inside" in caplog.text


def test_a_failed_comparison_names_its_error_code_never_the_statement(backend, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    backend.insert_phones([phone_row("100a", "100", **{"pass": "Swordfish7"})])
    broken = state_reader.SECRETS_SQL.replace("(VALUES {rows})", "(VALUES VALUES {rows})")
    monkeypatch.setattr(state_reader, "SECRETS_SQL", broken)

    with pytest.raises(TargetError) as failed:
        backend.reader().read_phones({"100a": {"phone_pass": "Swordfish7"}})

    [(_, params)] = [(sql, params) for sql, params in backend.sent() if sql.startswith("WITH declared")]
    salt, digest = params[1], params[2]
    [driver_error] = backend.driver_errors()
    if backend.kind == "mariadb":     # MariaDB quotes the statement near the error: salt and hash included
        assert salt in driver_error and str(failed.value) == (
            "cannot read the live state from test database: comparing phone passwords failed (ProgrammingError "
            "1064; the database's message is not shown: it may quote password hashes)")
    else:
        assert str(failed.value) == (
            "cannot read the live state from sandbox: comparing phone passwords failed (OperationalError "
            "SQLITE_ERROR; the database's message is not shown: it may quote password hashes)")
    assert failed.value.__context__ is None and failed.value.__cause__ is None
    for secret in ("Swordfish7", salt, digest, driver_error):
        assert secret not in str(failed.value) and secret not in caplog.text


def test_a_connection_lost_during_the_comparison_is_retried_and_logged_by_code_only(mariadb_url, caplog):
    init_mysql(mariadb_url, [])
    sandbox = Backend("mariadb", mariadb_url)
    sandbox.insert_phones([phone_row("100a", "100", **{"pass": "Swordfish7"})])
    parts = parse_db_url(mariadb_url)
    killed = []

    def kill_before_the_comparison(sql):
        if sql.startswith("WITH declared") and not killed:
            killed.append(sql)
            with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user,
                                         password=parts.password, autocommit=True)) as admin:
                with admin.cursor() as cursor:
                    cursor.execute(f"KILL {sandbox.connections[-1].thread_id()}")

    sandbox.before_execute.append(kill_before_the_comparison)
    try:
        phones, _ = sandbox.reader().read_phones({"100a": {"phone_pass": "Swordfish7"}})
    finally:
        sandbox.close()

    assert phones["100a"][0].secrets_match == {"phone_pass": True}
    assert len(sandbox.connections) == 2
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("state: connection to test database lost (OperationalError 20")
    sent = [params for sql, params in sandbox.sent() if sql.startswith("WITH declared")]
    assert len(sent) == 2 and sent[0] == sent[1]     # the same statement, sent again on a new connection
    for params in sent:
        assert params[1] not in caplog.text and params[2] not in caplog.text


# --- what it costs --------------------------------------------------------------------------

def phones_for(count):
    return [phone_row(f"p{n:05d}", f"{n:05d}", **{"pass": "test" if n % 3 else "Test"}) for n in range(count)]


def test_the_number_of_queries_does_not_grow_with_the_phones(backend):
    """Phones and servers: 2 queries for 6 phones as for 6,000; the passwords: one query per
    SECRETS_CHUNK logins that declare one."""
    with backend.store() as store:
        store.insert_many("phones", phones_for(6))
    small = backend.reader()
    small.read_phones({})
    assert small.queries == 2
    small.queries = 0
    small.read_phones({f"p{n:05d}": {"phone_pass": "test"} for n in range(6)})
    assert small.queries == 2 + 1

    with backend.store() as store:
        store.delete("phones", {})
        store.insert_many("phones", phones_for(6000))
    large = backend.reader()
    phones, _ = large.read_phones({})
    assert (len(phones), large.queries) == (6000, 2)

    large.queries = 0
    declared = {f"p{n:05d}": {"phone_pass": "test", "registration_password": "test"} for n in range(6000)}
    phones, _ = large.read_phones(declared)
    assert large.queries == 2 + 6000 // SECRETS_CHUNK == 5
    assert sum(p.secrets_match["phone_pass"] for (p,) in phones.values()) == 4000     # every third is Test
    assert all(p.secrets_match["registration_password"] for (p,) in phones.values())


def test_chosen_phones_are_read_back_in_full_without_comparing_passwords(backend):
    backend.insert_phones([phone_row("100a", "100", **FULL), phone_row("100A", "100", "10.0.0.2"),
                           phone_row("100b", "101")])
    reader = backend.reader()

    rows = reader.read_phone_rows(["100A", "100a", "missing"])

    assert list(rows) == ["100a"]
    assert rows["100a"] == (LivePhone("100a", "100", "10.0.0.1", FULL),
                            LivePhone("100A", "100", "10.0.0.2", rows["100a"][1].fields))
    assert (reader.queries, reader.read_phone_rows([]), reader.queries) == (1, {}, 1)
    reader.read_phone_rows(f"x{n}" for n in range(1001))
    assert reader.queries == 1 + 3          # 500 logins a query


def test_the_conf_templates_are_one_query_folded_as_vicidial_compares_them(backend):
    with backend.store() as store:
        for template_id in ("SIP_generic", "iax7"):
            store.insert("vicidial_conf_templates", {"template_id": template_id, "template_name": template_id,
                                                     "template_contents": ""})
    reader = backend.reader()
    assert reader.read_templates() == frozenset({"sip_generic", "iax7"})
    assert [sql for sql, _ in backend.sent()] == ["SELECT template_id FROM vicidial_conf_templates"]


def test_conf_templates_that_cannot_be_read_are_unknown_not_an_error(backend):
    """No grant on vicidial_conf_templates (here: no such table): unknown, and VICIdial's own check stands."""
    with backend.store() as store:
        store.execute_ddl("DROP TABLE vicidial_conf_templates")
    assert backend.reader().read_templates() is None
