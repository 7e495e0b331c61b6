"""Secrets never leak: every command, through every failure mode, with and without --debug.

The target is a real one: MariaDB read through a read-only account whose password is recognisable,
and the API emulator over HTTP on 127.0.0.1, behind the fault middleware, whose API user's
password is recognisable too. For each failure mode, every command runs twice (with and without
--debug); its stdout, its stderr (the log), every log record as raw as it was made (not through
the CLI's redacting formatter), the saved plan, the result files and the export are searched for
each password in every form it may take (as is, URL-encoded, stripped to what VICIdial keeps).
The timeout, which over HTTP lasts the client's 30 s, is driven through the in-process sandbox.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import re
import secrets
import socket
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote, quote_plus, urlsplit

import pymysql
import pytest

from aliassync import redaction
from aliassync.cli import main
from aliassync.vicidial.db_url import parse_db_url
from aliassync.retry import Backoff
from aliassync.sandbox.faults import FaultSpec
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_mysql, init_sandbox, open_store

API_USER = "apiuser"
API_PASS = "ApiPw" + secrets.token_hex(6)           # VICIdial keeps only [-_0-9A-Za-z] in a password
WRONG_API_PASS = "WrongPw" + secrets.token_hex(6)
DB_PASS = "DbPw/" + secrets.token_hex(6) + "@%"     # must be URL-encoded in ALIASSYNC_DB_URL
WRONG_DB_PASS = "WrongDb:" + secrets.token_hex(6)
SECRETS = (API_PASS, WRONG_API_PASS, DB_PASS, WRONG_DB_PASS)
PHONES = [{"login": login} for login in ("100a", "100b", "100c")]
DESIRED = "version: 1\naliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n"
BROKEN = "version: 1\naliases:\n  team1: {alias_name: [Team one], phone_logins: 100a\n"


def forms(secret: str) -> set[str]:
    """Every way a secret may show: as is, URL-encoded, and stripped as VICIdial strips it before echoing."""
    return {secret, quote(secret, safe=""), quote_plus(secret), re.sub(r"[^-_0-9A-Za-z]", "", secret)}


class Run:
    """The files a run's commands read and write, in one directory."""

    def __init__(self, directory: Path, desired_text: str = DESIRED):
        self.desired = directory / "aliases.yaml"
        self.plan = directory / "saved-plan.json"
        self.result = directory / "result.json"
        self.plan_result = directory / "plan-result.json"
        self.exported = directory / "exported.yaml"
        self.desired.write_text(desired_text, encoding="utf-8")

    def written(self) -> list[Path]:
        return [p for p in (self.plan, self.result, self.plan_result, self.exported) if p.exists()]


COMMANDS: dict[str, Callable[[Run], list[str]]] = {
    "validate --check-target": lambda r: ["validate", str(r.desired), "--check-target"],
    "plan --out": lambda r: ["plan", str(r.desired), "--out", str(r.plan), "--format", "json"],
    "drift": lambda r: ["drift", str(r.desired)],
    "export --out": lambda r: ["export", "--out", str(r.exported), "--force"],
    "apply --result": lambda r: ["apply", str(r.desired), "--yes", "--result", str(r.result)],
    "apply PLAN --result": lambda r: ["apply", str(r.plan), "--yes", "--result", str(r.plan_result)],
}


class RawRecords(logging.Handler):
    """Every log record as it was made, before any redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def raw_records() -> Iterator[RawRecords]:
    handler = RawRecords()
    loggers = [logging.getLogger(name) for name in ("aliassync", "httpx", "httpcore")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def leaks_of_every_command(run: Run, capsys, before_each: Callable[[], None],
                           commands: dict[str, Callable[[Run], list[str]]] = COMMANDS) -> tuple[list[str], dict]:
    """Run every command with and without --debug.

    Returns where any secret showed (as `command [--debug]: place`) and each command's exit code.
    Each run starts with no secret registered for redaction, as a new process does.
    """
    leaks, codes = [], {}
    for name, argv in commands.items():
        for debug in ([], ["--debug"]):
            before_each()
            redaction.forget_all()
            with raw_records() as records:
                codes[name] = main(argv(run) + debug)
            out, err = capsys.readouterr()
            places = {"stdout": out, "stderr": err, "log records": "\n".join(records.lines)}
            places.update({path.name: path.read_text(encoding="utf-8") for path in run.written()})
            leaks += [f"{' '.join([name, *debug])}: {place}" for place, text in places.items()
                      if any(form in text for secret in SECRETS for form in forms(secret))]
    return leaks, codes


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """No waiting between retries: these tests are about what is shown, not when."""
    monkeypatch.setattr(Backoff, "delay", lambda self, attempt, rng=None: 0.0)
    redaction.forget_all()
    yield
    redaction.forget_all()


# ------------------------------------------------------------------ a real target

@dataclass(frozen=True)
class Failure:
    plan_exit: int           # proof that the failure happened: what `plan` exits with
    apply_exit: int          # ... and `apply`
    faults: FaultSpec | None = None
    api_pass: str = API_PASS
    db_pass: str = DB_PASS
    db_reachable: bool = True
    locked: bool = False
    broken_file: bool = False


FAILURES = {
    "no failure": Failure(2, 0),
    **{f"API fault {mode}": Failure(1, 1, faults=FaultSpec(mode=mode))
       for mode in ("500-before", "500-after", "html", "empty", "drop-before", "drop-after")},
    # with this seed a fault meets one of the access probes: apply stops before any write
    "API faults mixed at random": Failure(2, 1, faults=FaultSpec(mode="mixed", rate=0.5, seed=5, hang=0.05)),
    "slow API": Failure(2, 0, faults=FaultSpec(latency=0.01)),
    "wrong API password (echoed back)": Failure(2, 1, api_pass=WRONG_API_PASS),
    "API user locked out": Failure(2, 1, locked=True),
    "wrong database password": Failure(1, 1, db_pass=WRONG_DB_PASS),
    "database unreachable": Failure(1, 1, db_reachable=False),
    "broken desired-state file": Failure(1, 1, broken_file=True),
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_only_account(server_url: str, password: str) -> tuple[str, str]:
    """(user, url) of a new account that may only read the test database."""
    parts = parse_db_url(server_url)
    user = f"ro_{secrets.token_hex(4)}"
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cursor.execute(f"GRANT SELECT ON `{parts.database}`.* TO %s@'%%'", (user,))
    netloc = f"{user}:{quote(password, safe='')}@{parts.host}:{parts.port}"
    return user, urlsplit(server_url)._replace(netloc=netloc).geturl()


def drop_account(server_url: str, user: str) -> None:
    parts = parse_db_url(server_url)
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 autocommit=True)) as admin, admin.cursor() as cursor:
        cursor.execute("DROP USER %s@'%%'", (user,))


def lock_out(location: str) -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    with closing(open_store(location)) as store:
        store.update("vicidial_users", {"failed_login_count": 10, "last_login_date": now}, {"user": API_USER})


def as_the_failure_has_it(db_url: str, failure: Failure) -> str:
    """The read-only account's URL with the failure's password, or on a port nothing listens on."""
    if failure.db_pass != DB_PASS:
        db_url = db_url.replace(quote(DB_PASS, safe=""), quote(failure.db_pass, safe=""))
    if not failure.db_reachable:
        db_url = db_url.replace(f":{parse_db_url(db_url).port}/", f":{closed_port()}/")
    return db_url


def forget_aliases(location: str) -> None:
    """Every run starts with writes to make."""
    with closing(open_store(location)) as store:
        store.delete("phones_alias", {"alias_id": "team1"})


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_no_password_shows_anywhere_on_a_real_target(failure, mariadb_url, tmp_path, capsys, monkeypatch):
    init_mysql(mariadb_url, PHONES, api_user=API_USER, api_pass=API_PASS)
    user, db_url = read_only_account(mariadb_url, DB_PASS)
    if failure.locked:
        lock_out(mariadb_url)
    try:
        with running_sandbox(mariadb_url, faults=failure.faults) as base:
            monkeypatch.setenv("ALIASSYNC_API_URL", base + API_PATH)
            monkeypatch.setenv("ALIASSYNC_API_USER", API_USER)
            monkeypatch.setenv("ALIASSYNC_API_PASS", failure.api_pass)
            monkeypatch.setenv("ALIASSYNC_DB_URL", as_the_failure_has_it(db_url, failure))
            run = Run(tmp_path, BROKEN if failure.broken_file else DESIRED)
            leaks, codes = leaks_of_every_command(run, capsys, lambda: forget_aliases(mariadb_url))
    finally:
        drop_account(mariadb_url, user)
    assert leaks == []
    assert (codes["plan --out"], codes["apply --result"]) == (failure.plan_exit, failure.apply_exit)


def test_no_password_shows_anywhere_when_the_api_times_out(tmp_path, capsys, monkeypatch):
    sandbox = str(tmp_path / "sandbox.sqlite")
    init_sandbox(sandbox, PHONES, api_user=API_USER, api_pass=API_PASS)
    password_file = tmp_path / "api-pass"
    password_file.write_text(API_PASS + "\n", encoding="utf-8")
    login = ["--api-user", API_USER, "--api-pass-file", str(password_file)]   # the sandbox ignores ALIASSYNC_*
    monkeypatch.setenv("ALIASSYNC_SANDBOX_FAULTS", "mode=timeout")
    sandboxed = {name: (lambda r, argv=argv: argv(r) + ["--sandbox", sandbox, *login])
                 for name, argv in COMMANDS.items()}

    leaks, codes = leaks_of_every_command(Run(tmp_path), capsys, lambda: forget_aliases(sandbox), sandboxed)

    assert leaks == []
    assert (codes["plan --out"], codes["apply --result"]) == (1, 1)   # the version probe timed out


def test_the_search_finds_a_password_where_there_is_one(tmp_path, capsys):
    """The search itself works: a desired-state file holding the password is echoed by validate, and found."""
    leaky = Run(tmp_path, "version: 1\naliases:\n  " + API_PASS + ": 5\n")
    only_validate = {"validate": lambda r: ["validate", str(r.desired)]}

    leaks, _ = leaks_of_every_command(leaky, capsys, lambda: None, only_validate)

    assert leaks == ["validate: stderr", "validate --debug: stderr"]


# ------------------------------------------------------------------ data that looks like a secret

# VICIdial's default password is 1234, and 1234 is as likely a phone login: a secret is kept out of the
# output by never handing it to a renderer, so data equal to it is shown as it is, and the user is warned.
DEFAULT_PASS = "1234"
DATA_PHONES = [{"login": login} for login in ("100a", "100b", DEFAULT_PASS)]
DATA_DESIRED = ('version: 1\naliases:\n'
                '  "1234": {alias_name: Team 1234, phone_logins: ["1234", 100b]}\n'
                '  team0: {alias_name: Team zero, phone_logins: [100a, "1234"]}\n')
SECRET_IN_DATA = ("aliassync: warning: the database password equals a value in the data (an alias id or name, a "
                  "phone login or field); data is never masked, so output may show it; choose another password")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    redaction.forget_all()     # as a new process
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def warnings_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("aliassync: warning:")]


@pytest.fixture
def default_password_dialer(mariadb_url, monkeypatch):
    """A real target whose database password is 1234, with a phone 1234 and a live alias team0 = 1234,100a."""
    from aliassync.core.model import LiveAlias

    init_mysql(mariadb_url, DATA_PHONES, api_user=API_USER, api_pass=API_PASS,
               aliases=[LiveAlias("team0", "Team zero", "1234,100a")])
    user, db_url = read_only_account(mariadb_url, DEFAULT_PASS)
    try:
        with running_sandbox(mariadb_url) as base:
            monkeypatch.setenv("ALIASSYNC_API_URL", base + API_PATH)
            monkeypatch.setenv("ALIASSYNC_API_USER", API_USER)
            monkeypatch.setenv("ALIASSYNC_API_PASS", API_PASS)
            monkeypatch.setenv("ALIASSYNC_DB_URL", db_url)
            yield mariadb_url
    finally:
        drop_account(mariadb_url, user)


def test_a_login_equal_to_the_database_password_shows_unchanged_everywhere(default_password_dialer, tmp_path,
                                                                            capsys):
    desired = tmp_path / "aliases.yaml"
    desired.write_text(DATA_DESIRED, encoding="utf-8")
    saved, result, exported = tmp_path / "plan.json", tmp_path / "result.json", tmp_path / "exported.yaml"

    # the plan as text: the alias 1234, the member 1234, the reordered members
    code, out, err = cli(capsys, "plan", str(desired))
    assert code == 2
    assert "  + create 1234\n" in out
    assert "      phone_logins: 1234, 100b\n" in out
    assert "      phone_logins: 1234, 100a -> 100a, 1234\n" in out
    assert warnings_of(err) == [SECRET_IN_DATA]          # once, and it names no value

    # the plan as JSON, and saved
    code, out, err = cli(capsys, "plan", str(desired), "--format", "json", "--out", str(saved))
    assert code == 2
    actions = {a["alias_id"]: a for a in json.loads(out)["actions"]}
    assert actions["1234"]["after"]["phone_logins"] == ["1234", "100b"]
    assert actions["team0"]["before"]["phone_logins"] == ["1234", "100a"]
    assert '"1234"' in saved.read_text(encoding="utf-8")
    assert warnings_of(err) == [SECRET_IN_DATA]

    # apply: the progress on stderr and the --result file
    code, out, err = cli(capsys, "apply", str(desired), "--yes", "--result", str(result))
    assert code == 0
    assert "aliassync: apply: create 1234: done" in err.splitlines()
    assert warnings_of(err) == [SECRET_IN_DATA]
    messages = {r["alias_id"]: r["message"] for r in json.loads(result.read_text(encoding="utf-8"))["results"]}
    assert messages["1234"] == (f"SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - "
                                f"{API_USER}|1234|Team 1234|1234,100b")

    # export: the file declares 1234 as it is, validates, and plans nothing against the live state
    code, out, err = cli(capsys, "export", "--out", str(exported))
    assert code == 0
    text = exported.read_text(encoding="utf-8")
    assert '  "1234":\n    alias_name: "Team 1234"\n    phone_logins: ["1234", "100b"]\n' in text
    assert '    phone_logins: ["100a", "1234"]\n' in text
    assert warnings_of(err) == [SECRET_IN_DATA]
    assert cli(capsys, "validate", str(exported))[0] == 0
    code, out, err = cli(capsys, "plan", str(exported))
    assert code == 0

    # drift and validate --check-target warn once too
    for argv in (["drift", str(desired)], ["validate", str(desired), "--check-target"]):
        code, out, err = cli(capsys, *argv)
        assert code == 0 and warnings_of(err) == [SECRET_IN_DATA], argv


def test_a_login_equal_to_a_password_shows_on_the_progress_bar(capsys):
    from aliassync.core.graph import ActionResult
    from aliassync.core.plan import Action, AliasValues
    from aliassync.output.progress import Progress

    redaction.register(DEFAULT_PASS)
    action = Action("create:team1", "create", "team1", "declared", after=AliasValues("team1", "Team", ("1234",)))
    stream = io.StringIO()

    refused = f"ERROR: add_phone_alias PHONE DOES NOT EXIST: |{API_USER}|1234"

    Progress(1, stream, bar=True)(ActionResult(action, "failed", refused))

    assert f"failed: create team1: {refused}\n" in stream.getvalue()


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["", "--debug"])
def test_a_bad_login_echo_is_masked_while_data_equal_to_a_password_is_not(default_password_dialer, tmp_path,
                                                                         capsys, monkeypatch, debug):
    """The wrong and the right API password show nowhere; the login 1234 (= the database password) does."""
    monkeypatch.setenv("ALIASSYNC_API_PASS", WRONG_API_PASS)
    desired = tmp_path / "aliases.yaml"
    desired.write_text(DATA_DESIRED, encoding="utf-8")
    result = tmp_path / "result.json"

    with raw_records() as records:
        code, out, err = cli(capsys, "apply", str(desired), "--yes", "--result", str(result), *debug)

    assert code == 1
    assert err.splitlines()[-1] == (f"error: VICIdial refused the login for user {API_USER}: "
                                    f"ERROR: Login incorrect, please try again: |{API_USER}|***|BAD|")
    written = result.read_text(encoding="utf-8")
    for text in (out, err, written, "\n".join(records.lines)):
        assert not any(form in text for secret in (API_PASS, WRONG_API_PASS) for form in forms(secret))
    assert "  + create 1234\n" in out and "      phone_logins: 1234, 100b\n" in out


# ------------------------------------------------------------------ a password in the API URL

WEB_USER, WEB_PASS = "webuser", "WebPw" + secrets.token_hex(6)     # the web server's, in front of VICIdial
WEB_AUTH = "Basic " + base64.b64encode(f"{WEB_USER}:{WEB_PASS}".encode()).decode()


def basic_auth_gate(seen: list[str | None]):
    """make_app behind a web server's basic auth, as VICIdial often is: 401 without WEB_USER's password."""
    from aliassync.sandbox import emulator

    def make_app(store, *args, **kwargs):
        app = emulator.make_app(store, *args, **kwargs)

        def gate(environ, start_response):
            seen.append(environ.get("HTTP_AUTHORIZATION"))
            if environ.get("HTTP_AUTHORIZATION") != WEB_AUTH:
                start_response("401 Unauthorized", [("Content-Type", "text/html"),
                                                    ("WWW-Authenticate", 'Basic realm="vicidial"')])
                return [b"<html><body>401 Unauthorized</body></html>\n"]
            return app(environ, start_response)

        return gate

    return make_app


@pytest.fixture
def httpx_debug_lines():
    """httpx and httpcore log at every level, whatever an earlier run in this process left them at."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
    yield
    for logger, level in zip(loggers, levels):
        logger.setLevel(level)


def test_a_password_in_the_api_url_is_sent_as_basic_auth_and_never_shown(mariadb_url, tmp_path, capsys,
                                                                         monkeypatch, httpx_debug_lines):
    from aliassync.sandbox import server

    seen: list[str | None] = []
    monkeypatch.setattr(server, "make_app", basic_auth_gate(seen))
    init_mysql(mariadb_url, PHONES, api_user=API_USER, api_pass=API_PASS)
    user, db_url = read_only_account(mariadb_url, DB_PASS)
    try:
        with running_sandbox(mariadb_url) as base:
            api_url = base + API_PATH
            monkeypatch.setenv("ALIASSYNC_API_URL", api_url.replace("http://", f"http://{WEB_USER}:{WEB_PASS}@"))
            monkeypatch.setenv("ALIASSYNC_API_USER", API_USER)
            monkeypatch.setenv("ALIASSYNC_API_PASS", API_PASS)
            monkeypatch.setenv("ALIASSYNC_DB_URL", db_url)
            run = Run(tmp_path)
            runs = {"plan": ["plan", str(run.desired), "--out", str(run.plan)],
                    "apply": ["apply", str(run.desired), "--yes", "--result", str(run.result)]}
            shown, codes = [], {}
            for name, argv in runs.items():
                with raw_records() as records:
                    codes[name], out, err = cli(capsys, *argv, "--debug")
                shown.append("\n".join([out, err, *records.lines, *(p.read_text() for p in run.written())]))
    finally:
        drop_account(mariadb_url, user)

    assert not [text for text in shown if any(form in text for form in forms(WEB_PASS))]
    assert f"HTTP Request: POST {api_url} " in shown[1]       # httpx's own line, its URL without credentials
    assert codes == {"plan": 2, "apply": 0}          # the gate let every call through: basic auth was sent
    assert seen and set(seen) == {WEB_AUTH}


# ------------------------------------------------------------------ the sandbox ignores ALIASSYNC_*

def test_the_sandbox_never_receives_the_credentials_of_the_environment(tmp_path, capsys, monkeypatch):
    """Production settings exported in the shell must not reach the emulator: it gets its own 6666/1234."""
    from urllib.parse import parse_qsl

    from aliassync.sandbox import emulator

    received: list[dict[str, str]] = []
    make_app = emulator.make_app

    def recording(store, *args, **kwargs):
        app = make_app(store, *args, **kwargs)

        def recorded(environ, start_response):
            body = environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(body)
            received.append(dict(parse_qsl(body.decode()) + parse_qsl(environ.get("QUERY_STRING", ""))))
            return app(environ, start_response)

        return recorded

    monkeypatch.setattr(emulator, "make_app", recording)
    sandbox = str(tmp_path / "sandbox.sqlite")
    init_sandbox(sandbox, PHONES)
    monkeypatch.setenv("ALIASSYNC_API_USER", "produser")
    monkeypatch.setenv("ALIASSYNC_API_PASS", "prodsecret")
    monkeypatch.setenv("ALIASSYNC_API_URL", "http://produser:prodsecret@vicidial.example.com" + API_PATH)
    monkeypatch.setenv("ALIASSYNC_DB_URL", f"mysql://reader:prodsecret@127.0.0.1:{closed_port()}/asterisk")
    run = Run(tmp_path)

    codes = {name: cli(capsys, *argv(run), "--sandbox", sandbox)[0] for name, argv in COMMANDS.items()
             if name != "apply PLAN --result"}

    assert not [fields for fields in received if "prodsecret" in repr(fields) or "produser" in repr(fields)]
    logged_in = [fields for fields in received if fields.get("function") != "version"]
    assert logged_in and {(f["user"], f["pass"]) for f in logged_in} == {("6666", "1234")}
    assert codes == {"validate --check-target": 0, "plan --out": 2, "drift": 2, "export --out": 0,
                     "apply --result": 0}
