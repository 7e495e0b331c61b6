"""An interrupted apply: real signals to a real `aliassync apply` process, and a database that goes away.

The contract ("Commands and exit codes"): an apply that is interrupted
(Ctrl-C, SIGTERM, the database or the API lost mid-run) starts nothing
new, settles what is in flight, prints its summary, writes --result, and
exits 3 if anything was written (1 if nothing was). What an operator
would lose if it broke: a run killed halfway with no record of what it
did (no summary, no --result, or one that says "nothing written" when
something was), an action left half-done, or a pipeline that reads exit 1
("nothing written, safe to retry as is") for a run that wrote.

Each run is a child process: `python -m aliassync apply FILE --sandbox S
--yes --result R --concurrency 1` on a SQLite sandbox whose API answers
slowly (ALIASSYNC_SANDBOX_FAULTS=latency=0.2: every call takes 0.2 s), so
a test can watch the writes land (the rows of phones_alias) and signal it
at a chosen moment. The database case serves the API emulator over HTTP
on 127.0.0.1 on MariaDB and has the child read the state with a read-only
account that loses its SELECT mid-run.
"""
from __future__ import annotations

import io
import json
import os
import pty
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pymysql
import pytest

from aliassync.cli import main
from aliassync.vicidial.db_url import parse_db_url
from aliassync.core.graph import ActionResult
from aliassync.core.plan import Action
from aliassync.output.progress import Progress
from aliassync.sandbox.faults import FaultSpec
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_mysql, init_sandbox

REPO = Path(__file__).resolve().parents[2]
ALIASES = [f"t{n:02d}" for n in range(1, 31)]        # 30 creates, applied one at a time in this order
SANDBOX_USER = "6666"
STARTED = "aliassync: {name}: starting nothing new; finishing the calls in flight " \
          "(interrupt again to stop waiting for lost answers)"
INTERRUPTED = "not run: the apply was interrupted"
WAIT = 30.0     # seconds any one step may take before the test gives up on the child


def added(alias_id: str, user: str = SANDBOX_USER) -> str:
    return f"SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - {user}|{alias_id}|Team {alias_id}|100a"


# ---------------------------------------------------------------- the desired state and the sandbox

@pytest.fixture
def files(tmp_path) -> dict[str, str]:
    """The desired state (30 new aliases), a sandbox with its phones, and where --result goes."""
    desired = tmp_path / "aliases.yaml"
    desired.write_text("version: 1\naliases:\n" + "".join(
        f"  {alias_id}: {{alias_name: Team {alias_id}, phone_logins: [100a]}}\n" for alias_id in ALIASES),
        encoding="utf-8")
    sandbox = tmp_path / "dialer.sqlite"
    init_sandbox(str(sandbox), [{"login": "100a"}, {"login": "100b"}])
    return {"desired": str(desired), "sandbox": str(sandbox), "result": str(tmp_path / "result.json")}


def sandbox_rows(path: str) -> dict[str, tuple[str, str]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return {row[0]: (row[1], row[2]) for row in
                db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias")}


def sandbox_audit(path: str) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute("SELECT event_type, record_id FROM vicidial_admin_log "
                          "WHERE event_section = 'PHONEALIASES' ORDER BY admin_log_id").fetchall()


# ---------------------------------------------------------------- the child process

class Child:
    """`aliassync apply` in a process of its own; stdout and stderr are read as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], stderr: int | None = None):
        self.process = subprocess.Popen([sys.executable, "-m", "aliassync", *argv], cwd=REPO, env=env,
                                        stdout=subprocess.PIPE, stderr=stderr or subprocess.PIPE)
        self._out: list[bytes] = []
        self._err: list[bytes] = []
        self._readers = [self._drain(self.process.stdout, self._out)]
        if stderr is None:
            self._readers.append(self._drain(self.process.stderr, self._err))

    @staticmethod
    def _drain(stream, into: list[bytes]) -> threading.Thread:
        def read() -> None:
            for line in iter(stream.readline, b""):
                into.append(line)
        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        return thread

    @property
    def err(self) -> str:
        return b"".join(self._err).decode()

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the apply ended (exit {self.process.returncode}) before {what}:\n{self.err}")
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"no {what} after {WAIT:g}s:\n{self.err}")
            time.sleep(0.02)

    def finish(self) -> tuple[int, str, str]:
        """Wait for the child's end: its exit code, stdout and stderr."""
        try:
            code = self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the apply did not end within {WAIT:g}s of the signal:\n{self.err}")
        for reader in self._readers:
            reader.join(5)
        return code, b"".join(self._out).decode(), self.err


def environment(**variables: str) -> dict[str, str]:
    """The child's environment: this one without any ALIASSYNC_* setting, plus `variables`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ALIASSYNC_")}
    env.update(variables)
    return env


def start_apply(files: dict[str, str], faults: str, stderr: int | None = None, *options: str) -> Child:
    return Child(["apply", files["desired"], "--sandbox", files["sandbox"], "--yes", "--result", files["result"],
                  "--concurrency", "1", *options], environment(ALIASSYNC_SANDBOX_FAULTS=faults), stderr)


def read_result(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def outcomes(document: dict) -> list[tuple[str, str, str, int]]:
    return [(r["key"], r["status"], r["message"], r["attempts"]) for r in document["results"]]


SUMMARY = re.compile(r"Apply interrupted \((?P<name>SIG[A-Z]+)\): (?P<done>\d+) done, 0 failed, "
                     r"(?P<skipped>\d+) skipped, 0 conflict\.")


# ---------------------------------------------------------------- a signal while the writes run

@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_mid_apply_finishes_the_write_in_flight_and_accounts_for_every_action(files, name):
    # 30 creates, 0.2 s each. Once three have landed, the process gets `name` (SIGTERM: a deploy tool or
    # systemd stopping it; SIGINT: Ctrl-C). Step by step: it says so on stderr, on a line of its own;
    # starts nothing new; the create in flight finishes and is done; every other action is skipped,
    # saying the apply was interrupted. The summary names the signal and counts exactly the rows the
    # database holds; --result lists all 30; exit 3, because something was written.
    child = start_apply(files, "latency=0.2")
    child.wait_until(lambda: len(sandbox_rows(files["sandbox"])) >= 3, "third alias in the database")
    child.process.send_signal(getattr(signal, name))
    code, out, err = child.finish()

    rows = sandbox_rows(files["sandbox"])
    summary = SUMMARY.fullmatch(out.splitlines()[-1])
    assert code == 3
    assert summary, out.splitlines()[-1]
    done, skipped = int(summary["done"]), int(summary["skipped"])
    assert (summary["name"], done, done + skipped) == (name, len(rows), 30)
    assert 3 <= done < 30
    # nothing half-done: the aliases done are exactly the rows, as asked, each written once
    assert rows == {alias_id: (f"Team {alias_id}", "100a") for alias_id in ALIASES[:done]}
    assert sandbox_audit(files["sandbox"]) == [("ADD", alias_id) for alias_id in ALIASES[:done]]
    result = read_result(files["result"])
    assert outcomes(result) == [(f"create:{alias_id}", "done", added(alias_id), 1) for alias_id in ALIASES[:done]] + [
        (f"create:{alias_id}", "skipped", INTERRUPTED, 0) for alias_id in ALIASES[done:]]
    assert (result["exit_code"], result["interrupted"], result["error"], result["verified"]) == (3, name, None, True)
    assert result["summary"] == {"done": done, "failed": 0, "skipped": skipped, "conflict": 0, "unknown": 0}
    first_skipped = ", ".join(f"create {alias_id}" for alias_id in ALIASES[done:done + 3])
    assert out.endswith(f"  skipped: {skipped} actions ({first_skipped} and {skipped - 3} more): {INTERRUPTED}\n"
                        f"{summary.group(0)}\n")
    assert STARTED.format(name=name) in err.splitlines()


def test_a_second_signal_stops_waiting_for_a_lost_answer_and_leaves_it_unknown(files):
    # Every write's connection drops before the emulator sees it (nothing lands), and --settle gives a
    # lost answer 60 s to show. The first SIGTERM starts nothing new but still waits for the answer in
    # flight; the second stops waiting: that create is `unknown` (sent, outcome not settled), every other
    # action skipped; exit 3, since a write may have landed.
    dropped = "connection dropped by http://sandbox/vicidial/non_agent_api.php: " \
              "Server disconnected without sending a response."
    child = start_apply(files, "mode=drop-before,calls=writes", None, "--settle", "60", "--debug")
    child.wait_until(lambda: f"aliassync: api add_phone_alias: {dropped}\n" in child.err, "lost answer")
    child.process.send_signal(signal.SIGTERM)       # t01 is reading its alias back, for up to 60 s
    child.wait_until(lambda: STARTED.format(name="SIGTERM") in child.err, "note of the first signal")
    time.sleep(0.5)
    assert child.process.poll() is None, "the first signal must not end the wait for the answer in flight"
    child.process.send_signal(signal.SIGTERM)
    code, out, err = child.finish()

    result = read_result(files["result"])
    assert code == 3
    assert outcomes(result) == [
        ("create:t01", "unknown", f"outcome unknown ({dropped}); the apply was stopped before the write showed; "
                                  "read back: no such alias", 1)] + [
        (f"create:{alias_id}", "skipped", INTERRUPTED, 0) for alias_id in ALIASES[1:]]
    assert out.splitlines()[-1] == ("Apply interrupted (SIGTERM): 0 done, 0 failed, 29 skipped, 0 conflict, "
                                    "1 unknown (written or not: run plan to see).")
    assert "aliassync: SIGTERM again: no longer waiting for lost answers" in err.splitlines()
    assert (result["exit_code"], result["interrupted"]) == (3, "SIGTERM")
    assert sandbox_rows(files["sandbox"]) == {}


# ---------------------------------------------------------------- a signal before any write

def test_a_signal_before_any_write_exits_1_saying_nothing_was_written(files):
    # Every API call takes 5 s. The process is signalled while it waits for the version check that
    # comes before the plan is shown: nothing has been written. It stops at once (not after the 5 s),
    # says "nothing written", exits 1, and still writes --result saying why.
    child = start_apply(files, "latency=5")
    child.wait_until(lambda: "aliassync: plan: 30 to create, 0 to update, 0 to delete\n" in child.err,
                     "plan before the version check")
    signalled = time.monotonic()
    child.process.send_signal(signal.SIGTERM)
    code, out, err = child.finish()

    assert time.monotonic() - signalled < 4, "it waited out the slow call instead of stopping"
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == "interrupted (SIGTERM); nothing written"
    result = read_result(files["result"])
    assert (result["exit_code"], result["error"], result["results"], result["interrupted"]) == (
        1, "interrupted (SIGTERM) before any write; nothing written", [], None)
    assert result["target"] == f"sandbox {files['sandbox']}"
    assert (sandbox_rows(files["sandbox"]), sandbox_audit(files["sandbox"])) == ({}, [])


def test_a_signal_as_the_summary_is_printed_never_turns_a_finished_apply_into_nothing_written(
        files, capsys, monkeypatch):
    # Ctrl-C pressed just as a run that wrote everything prints its summary. The writes are over: the
    # signal must not be taken for one "before any write". Were it, the run would exit 1 and --result
    # would say "nothing written" for 30 aliases that are in the database: a pipeline would trust that.
    # The signal is a real one, sent to this process at that moment (the test runs in the main thread,
    # where aliassync takes SIGINT and SIGTERM).
    import aliassync.cli as cli

    summary = cli._report_text

    def summary_then_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return summary(*args, **kwargs)

    monkeypatch.setattr(cli, "_report_text", summary_then_ctrl_c)
    code = main(["apply", files["desired"], "--sandbox", files["sandbox"], "--yes", "--result", files["result"],
                 "--concurrency", "4"])
    out, err = capsys.readouterr()

    result = read_result(files["result"])
    assert len(sandbox_rows(files["sandbox"])) == 30
    assert (code, result["exit_code"], result["error"]) == (0, 0, None)
    assert [status for _, status, _, _ in outcomes(result)] == ["done"] * 30
    assert out.endswith("Apply: 30 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert "nothing written" not in err


# ---------------------------------------------------------------- the database account loses SELECT

STATE_TABLES = ("phones_alias", "phones", "vicidial_users")     # all the state reader reads


@pytest.fixture
def dialer(mariadb_url):
    """The API emulator on MariaDB, and a read-only account granted SELECT table by table.

    Table by table as a careful DBA grants it, and because MariaDB applies a changed table privilege to
    open sessions at their next statement (a database-wide one only at their next USE).
    """
    init_mysql(mariadb_url, [{"login": "100a"}, {"login": "100b"}], api_user="apiuser", api_pass="ApiPw1234")
    parts = parse_db_url(mariadb_url)
    reader = f"ro_{secrets.token_hex(4)}"
    password = "DbPw" + secrets.token_hex(8)

    def admin(*statements: str) -> None:
        with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                     autocommit=True)) as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    admin(f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{password}'",
          *(f"GRANT SELECT ON `{parts.database}`.`{table}` TO '{reader}'@'%'" for table in STATE_TABLES))
    ro_url = urlsplit(mariadb_url)._replace(netloc=f"{reader}:{password}@{parts.host}:{parts.port}").geturl()
    try:
        yield {"url": mariadb_url, "ro_url": ro_url, "reader": reader, "database": parts.database, "admin": admin}
    finally:
        admin(f"DROP USER '{reader}'@'%'")


def mysql_rows(url: str, sql: str) -> list[tuple]:
    parts = parse_db_url(url)
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 database=parts.database, autocommit=True)) as connection:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]


def test_the_read_only_account_losing_select_mid_apply_stops_the_run_and_loses_nothing(dialer, files):
    # 30 creates through the API over HTTP, 0.2 s each; the state is read with the read-only account.
    # Once three have landed, the DBA revokes its SELECT on phones_alias. Step by step: the next create
    # cannot check the alias is still as planned, so it is not sent: failed, and the run stops; the rest
    # are skipped, naming why; the read-back of what was written cannot be done either, and the summary
    # says so. Exit 3 (something was written); --result lists every action; every alias done is in the
    # database, as asked, and nothing else is.
    database, reader = dialer["database"], dialer["reader"]
    with running_sandbox(dialer["url"], faults=FaultSpec(latency=0.2, calls="writes")) as base:
        env = environment(ALIASSYNC_API_URL=base + API_PATH, ALIASSYNC_API_USER="apiuser",
                          ALIASSYNC_API_PASS="ApiPw1234", ALIASSYNC_DB_URL=dialer["ro_url"])
        child = Child(["apply", files["desired"], "--yes", "--result", files["result"], "--concurrency", "1"], env)
        child.wait_until(lambda: len(mysql_rows(dialer["url"], "SELECT alias_id FROM phones_alias")) >= 3,
                         "third alias in the database")
        dialer["admin"](f"REVOKE SELECT ON `{database}`.`phones_alias` FROM '{reader}'@'%'")
        code, out, err = child.finish()

    denied = (f"cannot read the live state from database {parse_db_url(dialer['ro_url']).public}: "
              f"(1142, \"SELECT command denied to user '{reader}'@'127.0.0.1' for table "
              f"`{database}`.`phones_alias`\")")
    rows = dict((row[0], row[1:]) for row in
                mysql_rows(dialer["url"], "SELECT alias_id, alias_name, logins_list FROM phones_alias"))
    done = len(rows)
    stopped_at = ALIASES[done]
    failed = f"not sent: the live state could not be read: {denied}"
    result = read_result(files["result"])
    assert code == 3
    assert outcomes(result) == [
        (f"create:{alias_id}", "done", added(alias_id, "apiuser"), 1) for alias_id in ALIASES[:done]] + [
        (f"create:{stopped_at}", "failed", failed, 0)] + [
        (f"create:{alias_id}", "skipped", f"not run: the run stopped after create:{stopped_at} ({failed})", 0)
        for alias_id in ALIASES[done + 1:]]
    assert rows == {alias_id: (f"Team {alias_id}", "100a") for alias_id in ALIASES[:done]}
    assert mysql_rows(dialer["url"], "SELECT event_type, record_id FROM vicidial_admin_log WHERE event_section = "
                                     "'PHONEALIASES' ORDER BY admin_log_id") == [
        ("ADD", alias_id) for alias_id in ALIASES[:done]]
    skipped = 30 - done - 1
    assert (result["exit_code"], result["verified"], result["interrupted"]) == (3, False, None)
    assert out.endswith(f"  failed: create {stopped_at}: {failed}\n"
                        f"  skipped: {skipped} actions ("
                        + ", ".join(f"create {alias_id}" for alias_id in ALIASES[done + 1:done + 4])
                        + f" and {skipped - 3} more): not run: the run stopped after create:{stopped_at} ({failed})\n"
                        f"Apply: {done} done, 1 failed, {skipped} skipped, 0 conflict.\n"
                        f"Not verified: the read-back after the writes failed ({denied}); run plan to check.\n")


# ---------------------------------------------------------------- the interrupt note and the progress bar

def _result(alias_id: str) -> ActionResult:
    return ActionResult(Action(f"create:{alias_id}", "create", alias_id, "declared"), "done")


def test_the_interrupt_note_goes_on_a_line_of_its_own_above_the_bar():
    # On a terminal the bar is redrawn in place on one line. The note clears that line, takes it, ends
    # it, and the bar is drawn again below: the note is never glued to the bar's text.
    stream = io.StringIO()
    progress = Progress(4, stream, bar=True)
    progress(_result("t01"))
    progress.note("aliassync: SIGINT: starting nothing new")
    progress(_result("t02"))
    assert stream.getvalue() == (
        "\r[#######-----------------------] 1/4  done 1\x1b[K"
        "\r\x1b[Kaliassync: SIGINT: starting nothing new\n"
        "\r[#######-----------------------] 1/4  done 1\x1b[K"
        "\r[###############---------------] 2/4  done 2\x1b[K")
    assert terminal_lines(stream.getvalue()) == [
        "aliassync: SIGINT: starting nothing new", "[###############---------------] 2/4  done 2"]


def test_without_a_terminal_the_note_is_a_plain_line():
    stream = io.StringIO()
    Progress(4, stream, bar=False).note("aliassync: SIGTERM: starting nothing new")
    assert stream.getvalue() == "aliassync: SIGTERM: starting nothing new\n"


def terminal_lines(text: str) -> list[str]:
    """What a terminal shows for `text`: \\r returns to the line's start, ESC[K clears to its end, \\n ends it."""
    lines, line, column = [], [], 0
    for token in re.findall(r"\x1b\[K|\r|\n|[^\r\n\x1b]", text):
        if token == "\r":
            column = 0
        elif token == "\x1b[K":
            del line[column:]
        elif token == "\n":
            lines.append("".join(line))
            line, column = [], 0
        else:
            line[column:column + 1] = [token]
            column += 1
    return lines + (["".join(line)] if line else [])


def test_on_a_real_terminal_the_interrupt_note_never_lands_on_the_bars_line(files):
    # stderr is a pseudo-terminal, so the apply draws its progress bar. Ctrl-C (SIGINT) mid-run: the
    # terminal shows the note as a line of its own, the bar on other lines, never the two on one.
    controller, terminal = pty.openpty()
    try:
        child = start_apply(files, "latency=0.2", terminal)
    finally:
        os.close(terminal)
    shown: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:     # the child closed the terminal
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        child.wait_until(lambda: len(sandbox_rows(files["sandbox"])) >= 3, "third alias in the database")
        child.process.send_signal(signal.SIGINT)
        code, out, _ = child.finish()
        reader.join(5)
    finally:
        os.close(controller)

    screen = terminal_lines(b"".join(shown).decode().replace("\r\n", "\n"))   # the terminal's \n is \r\n
    note = STARTED.format(name="SIGINT")
    bars = [line for line in screen if line.startswith("[")]
    assert code == 3
    assert note in screen
    assert bars and all(re.fullmatch(r"\[[#-]{30}\] \d+/30  done \d+(  skipped \d+)?", bar) for bar in bars)
    assert not [line for line in screen if "aliassync:" in line and "[" in line]
    assert out.splitlines()[-1].startswith("Apply interrupted (SIGINT): ")
