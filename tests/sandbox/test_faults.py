"""Fault injection around the sandbox's API emulator: every mode, in process and over real HTTP.

Each mode is checked by what the API client makes of it (the exact
outcome a writer reports) and by what reached the database: a "before"
fault writes nothing, an "after" fault commits the write and loses the
answer.
"""
from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing, contextmanager
from typing import Iterator

import httpx
import pytest

from aliassync.cli import main
from aliassync.errors import ConfigError
from aliassync.core.plan import Action, AliasValues
from aliassync.sandbox.emulator import make_app
from aliassync.sandbox.faults import FAULTS, HTML_ERROR_PAGE, FaultEvent, FaultSpec, with_faults
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_sandbox, open_store
from aliassync.core.target import WriteOutcome
from aliassync.vicidial.api import ApiClient, ApiWriter

IN_PROCESS_URL = "http://sandbox" + API_PATH
READ_TIMEOUT = 0.5
CREATE = Action("create:s1", "create", "s1", "declared", after=AliasValues("s1", "Sales one", ("100a", "100b")))
ADDED = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - 6666|s1|Sales one|100a,100b"
PHP_ERROR_EXCERPT = repr(HTML_ERROR_PAGE.decode()[:80])



@pytest.fixture
def sandbox(tmp_path) -> str:
    path = str(tmp_path / "faults.sqlite")
    init_sandbox(path, [{"login": "100a"}, {"login": "100b"}])
    return path


def aliases(path: str) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias").fetchall()


@contextmanager
def in_process(path: str, spec: FaultSpec, observe=None) -> Iterator[ApiClient]:
    with closing(open_store(path)) as store:
        app = with_faults(make_app(store), spec, observe)
        client = ApiClient(IN_PROCESS_URL, "6666", "1234", transport=httpx.WSGITransport(app=app),
                           timeout=httpx.Timeout(5.0, read=READ_TIMEOUT), sleep=lambda seconds: None)
        with closing(client):
            yield client


@contextmanager
def over_http(path: str, spec: FaultSpec, observe=None) -> Iterator[ApiClient]:
    assert observe is None, "over HTTP, what happened is read from the database"
    with running_sandbox(path, faults=spec) as base:
        client = ApiClient(base + API_PATH, "6666", "1234", timeout=httpx.Timeout(5.0, read=READ_TIMEOUT),
                           sleep=lambda seconds: None)
        with closing(client):
            yield client


TRANSPORTS = {"in process": in_process, "over HTTP": over_http}

# mode -> (the outcome the writer reports, with {url}; whether the write reached the database)
MODE_OUTCOMES = {
    "none": (WriteOutcome("success", ADDED), True),
    "500-before": (WriteOutcome("unknown", "HTTP 500 from {url}"), False),
    "500-after": (WriteOutcome("unknown", "HTTP 500 from {url}"), True),
    "html": (WriteOutcome("unknown", "not a VICIdial answer from {url}: " + PHP_ERROR_EXCERPT + "..."), False),
    "empty": (WriteOutcome("unknown", "empty answer from {url}"), True),
    "drop-before": (WriteOutcome("unknown", "connection dropped by {url}: "
                                            "Server disconnected without sending a response."), False),
    "drop-after": (WriteOutcome("unknown", "connection dropped by {url}: "
                                           "Server disconnected without sending a response."), True),
    "timeout": (WriteOutcome("unknown", f"timed out after {READ_TIMEOUT:g}s waiting for an answer from {{url}}"),
                True),
}


def test_every_fault_mode_has_its_expected_outcome():
    assert set(MODE_OUTCOMES) == {"none", *FAULTS}


@pytest.mark.parametrize("transport", TRANSPORTS.values(), ids=TRANSPORTS.keys())
@pytest.mark.parametrize("mode", MODE_OUTCOMES)
def test_a_write_meets_the_fault_and_the_database_shows_whether_it_landed(sandbox, transport, mode):
    expected, committed = MODE_OUTCOMES[mode]

    with transport(sandbox, FaultSpec(mode=mode, hang=5.0)) as client:
        outcome = ApiWriter(client).write(CREATE)

    assert outcome == WriteOutcome(expected.status, expected.answer.format(url=client.public_url))
    assert aliases(sandbox) == ([("s1", "Sales one", "100a,100b")] if committed else [])


def test_a_timeout_over_http_lasts_the_clients_read_timeout_and_ends_with_the_sandbox(sandbox):
    threads = threading.active_count()
    started = time.monotonic()
    with over_http(sandbox, FaultSpec(mode="timeout", hang=30.0)) as client:
        outcome = ApiWriter(client).write(CREATE)
        waited = time.monotonic() - started
    assert outcome.answer.startswith(f"timed out after {READ_TIMEOUT:g}s")
    assert READ_TIMEOUT <= waited < READ_TIMEOUT + 5
    assert _settles_at(threads), "the unanswered call's thread still waits out its 30 s"


def _settles_at(count: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while threading.active_count() > count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("transport", TRANSPORTS.values(), ids=TRANSPORTS.keys())
def test_writes_only_leaves_the_version_probe_and_the_access_check_alone(sandbox, transport):
    with transport(sandbox, FaultSpec(mode="500-before", calls="writes")) as client:
        assert client.version() == "2.14-202 build 250720-1841"
        client.check_access({"add_phone_alias": "1 create(s)", "update_phone_alias": "1 update(s)"})
        outcome = ApiWriter(client).write(CREATE)
    assert outcome.answer == f"HTTP 500 from {client.public_url}"


@pytest.mark.parametrize("transport", TRANSPORTS.values(), ids=TRANSPORTS.keys())
def test_a_slow_answer_comes_late_but_whole(sandbox, transport):
    with transport(sandbox, FaultSpec(latency=0.2)) as client:
        started = time.monotonic()
        outcome = ApiWriter(client).write(CREATE)
        took = time.monotonic() - started
    assert outcome == WriteOutcome("success", ADDED)
    assert took >= 0.2


def test_the_same_seed_faults_the_same_calls_whatever_their_order(sandbox):
    spec = FaultSpec(mode="mixed", rate=0.5, seed=7)
    calls = [f"function=add_phone_alias&alias_id=a{n}" for n in range(40)]
    forwards = [spec.fault_for(call, 0, seed=7) for call in calls]
    backwards = [spec.fault_for(call, 0, seed=7) for call in reversed(calls)][::-1]
    assert forwards == backwards
    assert set(forwards) == {"none", *FAULTS}          # mixed: every mode turns up
    assert [spec.fault_for(call, 0, seed=8) for call in calls] != forwards


def test_a_rate_faults_that_fraction_of_the_calls():
    spec = FaultSpec(mode="500-before", rate=0.3, seed=1)
    faults = [spec.fault_for(f"alias_id=a{n}", 0, seed=1) for n in range(2000)]
    assert 0.27 < faults.count("500-before") / len(faults) < 0.33


def test_the_same_call_sent_again_draws_again(sandbox):
    events: list[FaultEvent] = []
    with in_process(sandbox, FaultSpec(mode="500-before", rate=0.5, seed=3), events.append) as client:
        writer = ApiWriter(client)
        outcomes = [writer.write(CREATE).status for _ in range(8)]
    assert [e.fault for e in events] == [
        "500-before" if status == "unknown" else "none" for status in outcomes]
    assert {"500-before", "none"} == {e.fault for e in events}
    assert {(e.function, e.alias_id) for e in events} == {("add_phone_alias", "s1")}


def test_the_observer_hears_what_each_call_met(sandbox):
    events: list[FaultEvent] = []
    with in_process(sandbox, FaultSpec(mode="drop-after", calls="writes"), events.append) as client:
        client.version()
        ApiWriter(client).write(CREATE)
    assert events == [FaultEvent("add_phone_alias", "s1", "drop-after")]
    assert events[0].carried_out


PARSED = {
    "latency=0.02": FaultSpec(latency=0.02),
    "mode=500-after,rate=0.3,seed=7": FaultSpec(mode="500-after", rate=0.3, seed=7),
    " mode = drop-before , calls = writes ": FaultSpec(mode="drop-before", calls="writes"),
    "mode=timeout,hang=2.5": FaultSpec(mode="timeout", hang=2.5),
    "": FaultSpec(),
}


@pytest.mark.parametrize("text", PARSED)
def test_a_spec_reads_from_compact_text_and_prints_back(text):
    spec = FaultSpec.parse(text)
    assert spec == PARSED[text]
    assert FaultSpec.parse(str(spec)) == spec


BAD_SPECS = {
    "mode=slow": "mode 'slow' is not one of: none, 500-before, 500-after, html, empty, drop-before, "
                 "drop-after, timeout, mixed",
    "rate=1.5": "rate 1.5 is not a fraction from 0 to 1",
    "rate=often": "rate 'often' is not a fraction from 0 to 1",
    "seed=x7": "seed 'x7' is not a whole number",
    "latency=-1": "latency -1 is not a number of seconds, 0 or more",
    "latency=nan": "latency nan is not a number of seconds, 0 or more",
    "hang=0": "hang 0 is not a number of seconds, more than 0",
    "calls=reads": "calls 'reads' is not one of: all, writes",
    "mode=html,mode=empty": "mode is given twice",
    "flaky": "'flaky' is not key=value",
    "colour=red": "unknown key 'colour' (expected one of: mode, rate, seed, calls, latency, hang)",
}


@pytest.mark.parametrize("text", BAD_SPECS)
def test_a_bad_spec_is_a_config_error_that_says_why(text):
    with pytest.raises(ConfigError) as bad:
        FaultSpec.parse(text)
    assert str(bad.value) == f"sandbox faults {text!r}: {BAD_SPECS[text]}"


def test_the_environment_switch_is_off_unless_set():
    assert FaultSpec.from_env({}) is None
    assert FaultSpec.from_env({"ALIASSYNC_SANDBOX_FAULTS": " "}) is None
    assert FaultSpec.from_env({"ALIASSYNC_SANDBOX_FAULTS": "mode=empty"}) == FaultSpec(mode="empty")


def test_a_bad_environment_switch_stops_a_run_in_one_line(sandbox, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ALIASSYNC_SANDBOX_FAULTS", "mode=sometimes")
    desired = tmp_path / "a.yaml"
    desired.write_text("version: 1\naliases: {}\n", encoding="utf-8")

    code = main(["plan", str(desired), "--sandbox", sandbox])

    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: sandbox faults 'mode=sometimes': mode 'sometimes' is not one of: none, 500-before, 500-after, "
        "html, empty, drop-before, drop-after, timeout, mixed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sandbox_serve_takes_faults_from_the_command_line(sandbox):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aliassync", "sandbox", "serve", sandbox, "--port", str(port),
                               "--faults", "mode=500-before"], stderr=subprocess.PIPE, text=True)
    try:
        answer = _first_answer(f"http://127.0.0.1:{port}{API_PATH}")
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert (answer.status_code, answer.text.splitlines()[1]) == (500, "<html><head>")
    assert "aliassync: sandbox: injecting faults: mode=500-before\n" in err


def _first_answer(url: str, wait: float = 10.0) -> httpx.Response:
    """The answer to `version` once the server listens."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return httpx.post(url, data={"function": "version", "source": "test"}, timeout=2)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_sandbox_serve_refuses_a_bad_spec_before_serving(sandbox, capsys):
    code = main(["sandbox", "serve", sandbox, "--port", str(free_port()), "--faults", "rate=2"])
    assert code == 1
    assert capsys.readouterr().err == "error: sandbox faults 'rate=2': rate 2 is not a fraction from 0 to 1\n"
