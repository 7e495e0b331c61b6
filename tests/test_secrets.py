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
from aliassync.db_url import parse_db_url
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
    "API faults mixed at random": Failure(2, 0, faults=FaultSpec(mode="mixed", rate=0.5, seed=5, hang=0.05)),
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
    monkeypatch.setenv("ALIASSYNC_API_USER", API_USER)
    monkeypatch.setenv("ALIASSYNC_API_PASS", API_PASS)
    monkeypatch.setenv("ALIASSYNC_SANDBOX_FAULTS", "mode=timeout")
    sandboxed = {name: (lambda r, argv=argv: argv(r) + ["--sandbox", sandbox]) for name, argv in COMMANDS.items()}

    leaks, codes = leaks_of_every_command(Run(tmp_path), capsys, lambda: forget_aliases(sandbox), sandboxed)

    assert leaks == []
    assert (codes["plan --out"], codes["apply --result"]) == (1, 1)   # the version probe timed out


def test_the_search_finds_a_password_where_there_is_one(tmp_path, capsys):
    """The search itself works: a desired-state file holding the password is echoed by validate, and found."""
    leaky = Run(tmp_path, "version: 1\naliases:\n  " + API_PASS + ": 5\n")
    only_validate = {"validate": lambda r: ["validate", str(r.desired)]}

    leaks, _ = leaks_of_every_command(leaky, capsys, lambda: None, only_validate)

    assert leaks == ["validate: stderr", "validate --debug: stderr"]
