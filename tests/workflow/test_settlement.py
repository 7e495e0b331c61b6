"""A lost answer is settled by the state, never by a second write.

The way issue reports saw it: VICIdial (here the sandbox's API emulator,
served over real HTTP on 127.0.0.1 and storing in MariaDB) carries a
write out, and the network between it and aliassync loses the answer. The
fault proxy (fault_proxy.py) sits on that network and drops the client's
connection at the request a test chooses. aliassync then knows only that
it sent something. What an operator would lose if this broke:

- a second write: the same update sent twice (twice in VICIdial's audit
  trail; and had someone changed the alias in between, their change
  overwritten), or a delete sent again and reported "failed ... DOES NOT
  EXIST" although the alias is gone as asked;
- the truth of the report: an alias that is in the database reported
  failed "(alias untouched)", so the next run, or the person on call,
  acts on a state that is not there;
- the exit code a pipeline branches on.

Each case counts what reached the server twice over: the proxy's count of
requests it forwarded, per API function, and VICIdial's audit trail (one
vicidial_admin_log row per write that landed, event_section PHONEALIASES,
event_type ADD / MODIFY / DELETE). Then it reads phones_alias.

The proxy also forwards what is not a write: `version` twice (the plan's
probe, then the writer's) and one access probe per API function the plan
needs (the function called with no fields, which VICIdial refuses without
writing). `sent_writes` lists only the calls that carry an alias.
"""
from __future__ import annotations

import errno
import json
import os
import random
import secrets
import threading
import time
from collections import Counter
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pymysql
import pytest

from aliassync.files import loader
from aliassync.workflow.applier import Applier, ApplyOptions
from aliassync.cli import main
from aliassync.vicidial.db_url import parse_db_url
from aliassync.core.model import LiveAlias
from aliassync.core.planner import plan as make_plan
from aliassync.retry import Backoff
from aliassync.sandbox.faults import FaultSpec
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_mysql
from aliassync.workflow.targets import TargetOptions, resolve
from fault_proxy import Die, DropAfterResponse, DropBeforeForward, DropWhileWorking, FaultProxy, Rule

PHONES = [{"login": login} for login in ("100a", "100b", "100c", "200a", "200b")]
API_USER = "apiuser"
API_PASS = "ApiPw" + secrets.token_hex(8)
DB_PASS = "DbPw" + secrets.token_hex(8)
DROPPED = "connection dropped by {url}: Server disconnected without sending a response."
REFUSED = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"
NO_VERSION_YET = Counter(version=2)    # the plan's version probe and the writer's, through the proxy too


def settle(seconds: float) -> list[str]:
    """`--settle SECONDS`: how long a lost answer is given to show in the database."""
    return ["--settle", f"{seconds:g}"]


# ---------------------------------------------------------------- the dialer: MariaDB, the emulator, the proxy

@dataclass(frozen=True)
class Dialer:
    url: str        # root's URL of the test database (the emulator writes with it; the test reads with it)
    ro_url: str     # the read-only account aliassync reads the state with


@pytest.fixture
def dialer(mariadb_url) -> Iterator[Dialer]:
    """A fresh VICIdial database and a read-only account on it, as a real dialer gives aliassync."""
    parts = parse_db_url(mariadb_url)
    reader = f"ro_{secrets.token_hex(4)}"
    with _admin(mariadb_url) as cursor:
        cursor.execute(f"CREATE USER '{reader}'@'%' IDENTIFIED BY '{DB_PASS}'")
        cursor.execute(f"GRANT SELECT ON `{parts.database}`.* TO '{reader}'@'%'")
    try:
        yield Dialer(mariadb_url, urlsplit(mariadb_url)._replace(
            netloc=f"{reader}:{DB_PASS}@{parts.host}:{parts.port}").geturl())
    finally:
        with _admin(mariadb_url) as cursor:
            cursor.execute(f"DROP USER '{reader}'@'%'")


@contextmanager
def _admin(url: str) -> Iterator[pymysql.cursors.Cursor]:
    parts = parse_db_url(url)
    with closing(pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                 database=parts.database, autocommit=True)) as connection:
        with connection.cursor() as cursor:
            yield cursor


def seed(dialer: Dialer, *aliases: LiveAlias) -> None:
    init_mysql(dialer.url, PHONES, api_user=API_USER, api_pass=API_PASS, aliases=aliases)


@contextmanager
def served(dialer: Dialer, rules: list[Rule], monkeypatch, faults: FaultSpec | None = None) -> Iterator[FaultProxy]:
    """The emulator on MariaDB over HTTP, the proxy in front, and the CLI's environment pointing at the proxy."""
    with running_sandbox(dialer.url, faults=faults) as base, FaultProxy(base + API_PATH, rules) as proxy:
        for name, value in _environment(dialer, proxy).items():
            monkeypatch.setenv(name, value)
        yield proxy


def _environment(dialer: Dialer, proxy: FaultProxy) -> dict[str, str]:
    return {"ALIASSYNC_API_URL": proxy.url, "ALIASSYNC_API_USER": API_USER, "ALIASSYNC_API_PASS": API_PASS,
            "ALIASSYNC_DB_URL": dialer.ro_url}


def write_of(alias_id: str | None = None):
    """A rule's `match`: a write (a call that names an alias), to `alias_id` if given; never a probe."""
    def match(request) -> bool:
        return "alias_id" in request.fields and alias_id in (None, request.fields["alias_id"])
    return match


# ---------------------------------------------------------------- what reached the server

def audit(dialer: Dialer) -> list[tuple[str, str]]:
    """(event_type, alias_id) of every alias write VICIdial logged, in order."""
    with _admin(dialer.url) as cursor:
        cursor.execute("SELECT event_type, record_id FROM vicidial_admin_log "
                       "WHERE event_section = 'PHONEALIASES' ORDER BY admin_log_id")
        return [tuple(row) for row in cursor.fetchall()]


def aliases(dialer: Dialer) -> dict[str, tuple[str, str]]:
    with _admin(dialer.url) as cursor:
        cursor.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias")
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def sent_writes(proxy: FaultProxy) -> list[tuple[str, str]]:
    """(function, alias_id) of every write that reached the proxy, in order (probes and version left out)."""
    return [(event.request.function, event.request.fields["alias_id"]) for event in proxy.events
            if "alias_id" in event.request.fields]


# ---------------------------------------------------------------- running apply

def desired(tmp_path: Path, body: str) -> str:
    path = tmp_path / "aliases.yaml"
    path.write_text("version: 1\naliases:\n" + body, encoding="utf-8")
    return str(path)


def apply(capsys, path: str, tmp_path: Path, *options: str) -> tuple[int, str, dict]:
    """`aliassync apply PATH --yes --result FILE OPTIONS`: exit code, stdout, and the --result document."""
    result = tmp_path / "result.json"
    code = main(["apply", path, "--yes", "--result", str(result), *options])
    out = capsys.readouterr().out
    return code, out, json.loads(result.read_text(encoding="utf-8"))


def outcomes(document: dict) -> list[tuple[str, str, str, int]]:
    """(key, status, message, attempts) of every action in a --result document, in plan order."""
    return [(r["key"], r["status"], r["message"], r["attempts"]) for r in document["results"]]


def lost(proxy: FaultProxy) -> str:
    return f"outcome unknown ({DROPPED.format(url=proxy.url)})"


# How the answer of one write is lost:
#   after the write committed: the emulator wrote and answered; the proxy threw the answer away;
#   while the server was still writing: the proxy closed the client's connection 0.1 s after forwarding
#     the call to a server that takes 0.8 s, so the write lands 0.7 s after aliassync lost the connection.
# Either way the write lands once, well within --settle 5; the first can be read back at once, the second
# only by waiting for it: a single read-back at once finds the alias as the plan saw it and sends the write
# again (an update twice in the audit trail; a delete refused as DOES NOT EXIST and reported failed).
LOST_ANSWERS = {
    "after the write committed": (DropAfterResponse(), None),
    "while the server was still writing": (DropWhileWorking(delay=0.1), FaultSpec(latency=0.8, calls="writes")),
}


# ---------------------------------------------------------------- a. an update

@pytest.mark.parametrize("how", LOST_ANSWERS)
def test_an_update_whose_answer_is_lost_is_read_back_and_never_sent_twice(dialer, tmp_path, capsys, monkeypatch,
                                                                         how):
    # s1 is live as "Sales one"; the files rename it. The update's answer never comes back.
    seed(dialer, LiveAlias("s1", "Sales one", "100a,100b"))
    path = desired(tmp_path, "  s1: {alias_name: Sales renamed, phone_logins: [100a, 100b]}\n")
    fault, slow = LOST_ANSWERS[how]
    with served(dialer, [Rule(fault, match=write_of("s1"))], monkeypatch, faults=slow) as proxy:
        code, out, result = apply(capsys, path, tmp_path, *settle(5))

    # aliassync read s1 back, found the new name, and reported the update done, exit 0;
    # VICIdial's audit trail shows the one write; it was sent once.
    assert (code, outcomes(result), audit(dialer)) == (
        0, [("update:s1", "done", f"{lost(proxy)}; read back: as asked", 1)], [("MODIFY", "s1")])
    assert sent_writes(proxy) == [("update_phone_alias", "s1")]
    assert proxy.forwarded == NO_VERSION_YET + Counter(update_phone_alias=2)    # the access probe, the write
    assert aliases(dialer) == {"s1": ("Sales renamed", "100a,100b")}
    assert out.endswith("Apply: 1 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert (result["exit_code"], result["verified"], result["summary"]["done"]) == (0, True, 1)


# ---------------------------------------------------------------- b. a delete

@pytest.mark.parametrize("how", LOST_ANSWERS)
def test_a_delete_whose_answer_is_lost_is_done_not_failed_as_missing(dialer, tmp_path, capsys, monkeypatch, how):
    # retired7 is live; the files want it gone. The delete lands; its answer does not come back.
    # Sent again, VICIdial would answer PHONE ALIAS DOES NOT EXIST, and a run that believed that
    # answer would report "failed" for the one alias that is exactly as asked.
    seed(dialer, LiveAlias("retired7", "Old desk", "200a"))
    path = desired(tmp_path, "  retired7: {ensure: absent}\n")
    fault, slow = LOST_ANSWERS[how]
    with served(dialer, [Rule(fault, match=write_of("retired7"))], monkeypatch, faults=slow) as proxy:
        code, out, result = apply(capsys, path, tmp_path, *settle(5))

    assert (code, outcomes(result), audit(dialer)) == (
        0, [("delete:retired7", "done", f"{lost(proxy)}; read back: as asked", 1)], [("DELETE", "retired7")])
    assert sent_writes(proxy) == [("update_phone_alias", "retired7")]
    assert proxy.forwarded == NO_VERSION_YET + Counter(update_phone_alias=2)
    assert aliases(dialer) == {}
    assert out.endswith("Apply: 1 done, 0 failed, 0 skipped, 0 conflict.\n")


# ---------------------------------------------------------------- c. a create that lands within --settle

SLOW_CREATES = {
    # the server takes 0.6 s; the proxy gives up on the client 0.1 s after forwarding
    "dropped while the server works": (DropWhileWorking(delay=0.1), FaultSpec(latency=0.6, calls="writes")),
    # the proxy gives up on the client at once and forwards the call 0.6 s later
    "dropped before the call is forwarded": (DropBeforeForward(delay=0.6), None),
}


@pytest.mark.parametrize("how", SLOW_CREATES)
def test_a_create_that_lands_after_its_connection_dropped_is_waited_for_not_resent(dialer, tmp_path, capsys,
                                                                                   monkeypatch, how):
    # s1 is new. Its connection drops; the create lands 0.5-0.6 s later, well within --settle 5.
    # aliassync reads s1 back until it shows, and sends nothing again.
    seed(dialer)
    path = desired(tmp_path, "  s1: {alias_name: Sales one, phone_logins: [100a, 100b]}\n")
    fault, slow = SLOW_CREATES[how]
    with served(dialer, [Rule(fault, match=write_of("s1"))], monkeypatch, faults=slow) as proxy:
        code, out, result = apply(capsys, path, tmp_path, *settle(5))

    assert (code, outcomes(result), audit(dialer)) == (
        0, [("create:s1", "done", f"{lost(proxy)}; read back: as asked", 1)], [("ADD", "s1")])
    assert sent_writes(proxy) == [("add_phone_alias", "s1")]
    assert proxy.forwarded == NO_VERSION_YET + Counter(add_phone_alias=2)       # the access probe, the write
    assert aliases(dialer) == {"s1": ("Sales one", "100a,100b")}
    assert out.endswith("Apply: 1 done, 0 failed, 0 skipped, 0 conflict.\n")


# ---------------------------------------------------------------- d. a create that lands after --settle

def test_a_create_that_lands_after_the_settle_time_is_settled_by_the_state_when_the_resend_is_refused(
        dialer, tmp_path, capsys, monkeypatch):
    # The server takes 1 s; the proxy gives up on the client 0.05 s after forwarding; --settle is 0.2 s.
    # Step by step: aliassync reads s1 back for 0.2 s, finds nothing, and sends the create again (after
    # a backoff of at most 0.5 s). The first create lands at 1 s; the resend, slow as every write, reaches
    # VICIdial after it and is refused: PHONE ALIAS ALREADY EXISTS. That refusal is not believed as it is
    # (a failure) but settled by the state: s1 is exactly as asked, so it is done, and the message says the
    # first write landed. One ADD in the audit trail; exit 0.
    seed(dialer)
    path = desired(tmp_path, "  s1: {alias_name: Sales one, phone_logins: [100a, 100b]}\n")
    rules = [Rule(DropWhileWorking(delay=0.05), match=write_of("s1"))]
    with served(dialer, rules, monkeypatch, faults=FaultSpec(latency=1.0, calls="writes")) as proxy:
        code, out, result = apply(capsys, path, tmp_path, *settle(0.2))

    refusal = f"ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |{API_USER}|s1"
    assert (code, outcomes(result), audit(dialer)) == (
        0, [("create:s1", "done", f"{lost(proxy)}; the resend was refused ({refusal}): read back: as asked, "
                                  "so the first write landed", 2)], [("ADD", "s1")])
    assert sent_writes(proxy) == [("add_phone_alias", "s1"), ("add_phone_alias", "s1")]
    assert proxy.forwarded == NO_VERSION_YET + Counter(add_phone_alias=3)       # the probe, the write, the resend
    assert aliases(dialer) == {"s1": ("Sales one", "100a,100b")}
    assert out.endswith("Apply: 1 done, 0 failed, 0 skipped, 0 conflict.\n")


class _LongestBackoff(random.Random):
    """Every backoff delay at its bound: the resend goes out at a known time."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_applier_settles_a_late_create_by_the_state_after_its_resend_is_refused(dialer, tmp_path):
    # The same, with the Applier driven directly and every time fixed: the connection drops at once, the
    # create reaches VICIdial 0.8 s later; --settle 0.3 gives up at 0.3 s; the resend goes out after a
    # backoff of exactly 1 s (at 1.3 s), when s1 has been there for half a second.
    seed(dialer)
    path = desired(tmp_path, "  s1: {alias_name: Sales one, phone_logins: [100a, 100b]}\n")
    with running_sandbox(dialer.url) as base, \
            FaultProxy(base + API_PATH, [Rule(DropBeforeForward(delay=0.8), match=write_of("s1"))]) as proxy:
        target = resolve(TargetOptions(), env=_environment(dialer, proxy))
        writer = target.make_writer()
        try:
            the_plan = make_plan(loader.load([path]), target.reader.read())
            options = ApplyOptions(settle=0.3, backoff=Backoff(base=1.0, retries=2))
            report = Applier(target.reader, writer, options, rng=_LongestBackoff()).apply(the_plan)
        finally:
            writer.close()
            target.close()

    (result,) = report.results
    assert (result.status, result.attempts) == ("done", 2)
    assert result.message == (f"{lost(proxy)}; the resend was refused (ERROR: add_phone_alias PHONE ALIAS ALREADY "
                              f"EXISTS: |{API_USER}|s1): read back: as asked, so the first write landed")
    assert report.complete and report.wrote
    assert audit(dialer) == [("ADD", "s1")]
    assert sent_writes(proxy) == [("add_phone_alias", "s1"), ("add_phone_alias", "s1")]


# ---------------------------------------------------------------- e. the API goes away mid-run

def test_when_the_api_dies_mid_run_the_run_stops_and_says_so_for_every_action(dialer, tmp_path, capsys,
                                                                              monkeypatch):
    # Five creates, one at a time. The proxy dies at the third: that call is never forwarded, every
    # connection closes, and later connections are refused. Step by step: a1 and a2 are done; a3's
    # answer is lost, the state shows it did not land within --settle, it is sent again twice and
    # meets no API: failed, and the run stops; a4 and a5 are skipped, naming why. The summary is printed,
    # --result lists all five, exit 3 (something was written).
    seed(dialer)
    path = desired(tmp_path, "".join(f"  a{n}: {{alias_name: Team a{n}, phone_logins: [100a]}}\n"
                                     for n in range(1, 6)))
    with served(dialer, [Rule(Die(), match=write_of(), nth=3)], monkeypatch) as proxy:
        code, out, result = apply(capsys, path, tmp_path, "--concurrency", "1", *settle(0.3))

    gone = f"could not connect to {proxy.url}: {REFUSED}; nothing was sent; gave up after 3 attempts; the run stops"
    added = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - {user}|a{n}|Team a{n}|100a"
    assert (code, outcomes(result), audit(dialer)) == (3, [
        ("create:a1", "done", added.format(user=API_USER, n=1), 1),
        ("create:a2", "done", added.format(user=API_USER, n=2), 1),
        ("create:a3", "failed", gone, 3),
        ("create:a4", "skipped", f"not run: the run stopped after create:a3 ({gone})", 0),
        ("create:a5", "skipped", f"not run: the run stopped after create:a3 ({gone})", 0),
    ], [("ADD", "a1"), ("ADD", "a2")])
    assert aliases(dialer) == {"a1": ("Team a1", "100a"), "a2": ("Team a2", "100a")}
    assert proxy.forwarded == NO_VERSION_YET + Counter(add_phone_alias=3)       # the probe, a1, a2
    assert sent_writes(proxy) == [("add_phone_alias", "a1"), ("add_phone_alias", "a2"), ("add_phone_alias", "a3")]
    assert out.endswith("  skipped: create a4: not run: the run stopped after create:a3 "
                        f"({gone})\n  skipped: create a5: not run: the run stopped after create:a3 ({gone})\n"
                        "Apply: 2 done, 1 failed, 2 skipped, 0 conflict.\n")
    assert (result["exit_code"], result["interrupted"], result["summary"]) == (
        3, None, {"done": 2, "failed": 1, "skipped": 2, "conflict": 0, "unknown": 0})


def test_writes_in_flight_when_the_api_dies_are_done_when_they_landed(dialer, tmp_path, capsys, monkeypatch):
    # Nine creates, three at a time, each write taking 0.5 s at the server. Once a1-a3 have landed and
    # a4-a6 have been forwarded (the server is still working on them), the API dies: their answers are
    # lost, and 0.5 s later the three writes land. A report of "failed (alias untouched)" for them
    # would be a lie an operator acts on. Step by step: a4-a6 are read back until they show: done.
    # a7 onwards find no API: at least one fails and stops the run; any not started are skipped, naming
    # the action that stopped it. Every alias in the database is reported done, and only those.
    seed(dialer)
    path = desired(tmp_path, "".join(f"  a{n}: {{alias_name: Team a{n}, phone_logins: [100a]}}\n"
                                     for n in range(1, 10)))
    with served(dialer, [], monkeypatch, faults=FaultSpec(latency=0.5, calls="writes")) as proxy:
        seen: dict[str, object] = {}
        killer = threading.Thread(target=_die_with_writes_in_flight, args=(proxy, dialer, 6, seen), daemon=True)
        killer.start()
        code, out, result = apply(capsys, path, tmp_path, "--concurrency", "3", *settle(3))
        killer.join(10)

    # the API died with a1-a3 in the database and a4-a6 forwarded, still being written
    assert seen == {"landed": ["a1", "a2", "a3"], "forwarded": [f"a{n}" for n in range(1, 7)]}
    in_database = aliases(dialer)
    assert sorted(in_database) == [f"a{n}" for n in range(1, 7)]
    assert sorted(audit(dialer)) == [("ADD", f"a{n}") for n in range(1, 7)]     # three at a time: in any order
    done = outcomes(result)[:6]
    assert done[:3] == [(f"create:a{n}", "done", f"SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - "
                                                 f"{API_USER}|a{n}|Team a{n}|100a", 1) for n in (1, 2, 3)]
    assert done[3:] == [(f"create:a{n}", "done", f"{lost(proxy)}; read back: as asked", 1) for n in (4, 5, 6)]
    gone = f"could not connect to {proxy.url}: {REFUSED}; nothing was sent; gave up after 3 attempts; the run stops"
    rest = outcomes(result)[6:]
    failed = [key for key, status, _, _ in rest if status == "failed"]
    assert failed and failed == [f"create:a{n}" for n in range(7, 7 + len(failed))]
    assert rest == [(f"create:a{n}", "failed", gone, 3) for n in range(7, 7 + len(failed))] + [
        (f"create:a{n}", "skipped", f"not run: the run stopped after {failed[0]} ({gone})", 0)
        for n in range(7 + len(failed), 10)]
    assert code == 3
    assert result["exit_code"] == 3
    assert result["summary"] == {"done": 6, "failed": len(failed), "skipped": 3 - len(failed), "conflict": 0,
                                 "unknown": 0}
    assert out.endswith(f"Apply: 6 done, {len(failed)} failed, {3 - len(failed)} skipped, 0 conflict.\n")


def _die_with_writes_in_flight(proxy: FaultProxy, dialer: Dialer, writes: int, seen: dict) -> None:
    """Kill the API as soon as `writes` writes were forwarded; note what had landed and what was sent."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if len(sent_writes(proxy)) >= writes and proxy.forwarded == proxy.received:
            proxy.die()
            seen["landed"] = sorted(aliases(dialer))
            seen["forwarded"] = sorted(alias_id for _, alias_id in sent_writes(proxy))
            return
        time.sleep(0.01)
