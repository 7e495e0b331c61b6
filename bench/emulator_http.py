"""The sandbox's non_agent_api.php over real HTTP on 127.0.0.1, slowed and counted.

Served the way Apache's prefork workers serve PHP: WORKERS processes
share one listening socket, each serves one connection at a time (HTTP/1.1,
kept alive) with its own database connection. (Served from threads of one process, the emulator's
own Python work would take turns on one interpreter lock, and the
emulator, not the client, would set the pace of concurrent calls.)

Every call waits `latency` seconds before the emulator sees it (the
sandbox's own fault injection, `FaultSpec(latency=...)`), as a PHP
request on a loaded dialer would. Each worker reports every call it
answered, by kind, and the emulator's own time for it (the injected
latency left out), through a pipe to the benchmark.
"""
from __future__ import annotations

import io
import multiprocessing
import socket
import statistics
import threading
import time
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from aliassync.sandbox.emulator import WsgiApp, make_app
from aliassync.sandbox.faults import FaultEvent, FaultSpec, with_faults
from aliassync.sandbox.server import API_PATH, only_api_path
from aliassync.sandbox.store import open_store

HOST = "127.0.0.1"
WORKERS = 20          # connections served at once: more than the highest concurrency measured
WRITES = ("add_phone_alias", "update_phone_alias")


def call_kind(function: str, alias_id: str) -> str:
    """`version`, `access probe` (aliassync's write-free checks: a write function with no fields), `write`,
    or the function's name."""
    if function in WRITES and not alias_id:
        return "access probe"
    return "write" if function in WRITES else function


class Served:
    """Where the emulator answers, and what its workers reported.

    A thread reads the reports as they come: a worker blocks on a full pipe.
    """

    def __init__(self, url: str, reports: Any, pids: tuple[int, ...]):
        self.url = url                  # of non_agent_api.php
        self.pids = pids                # of the worker processes
        self._reports = reports
        self._calls: Counter = Counter()
        self._work: list[float] = []
        self._synced = threading.Condition()
        self._asked = self._seen = 0
        self._reader = threading.Thread(target=self._read_reports, name="bench-emulator-reports", daemon=True)
        self._reader.start()

    def _read_reports(self) -> None:
        while True:
            kind, value = self._reports.get()
            with self._synced:
                if kind == "call":
                    self._calls[value] += 1
                elif kind == "work":
                    self._work.append(value)
                elif kind == "sync":
                    self._seen = value
                    self._synced.notify_all()
                else:
                    return

    def _sync(self) -> None:
        """Wait until every report written so far is counted (the pipe is first in, first out)."""
        with self._synced:
            self._asked += 1
            token = self._asked
        self._reports.put(("sync", token))
        with self._synced:
            self._synced.wait_for(lambda: self._seen >= token)

    def calls(self) -> dict[str, int]:
        """Calls answered so far, by kind (see call_kind)."""
        self._sync()
        with self._synced:
            return dict(self._calls)

    def total_calls(self) -> int:
        return sum(self.calls().values())

    def median_work_ms(self) -> float:
        """The emulator's own time per call, median, injected latency excluded."""
        self._sync()
        with self._synced:
            return 1000 * statistics.median(self._work) if self._work else 0.0

    def close(self) -> None:
        self._reports.put(("stop", None))
        self._reader.join()


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, as Apache answers: a connection carries call after call.

    (wsgiref answers one call per connection; a client would then pay a
    new connection for every call, which a real dialer does not make it
    pay.) The body is read before the app sees it, so that the next call
    on the connection starts where this one ended.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # as Apache: headers and body leave at once, not 40 ms apart

    def handle(self) -> None:
        self.close_connection = False
        while not self.close_connection:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            body = io.BytesIO(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            handler = ServerHandler(body, self.wfile, self.get_stderr(), self.get_environ(), multithread=False)
            handler.http_version = "1.1"
            handler.request_handler = self
            handler.run(self.server.get_app())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _timed(app: WsgiApp, reports: Any) -> WsgiApp:
    def timed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start = time.perf_counter()
        try:
            return list(app(environ, start_response))
        finally:
            reports.put(("work", time.perf_counter() - start))

    return timed


def _answer_calls(listener: socket.socket, location: str, latency: float, reports: Any) -> None:
    """One worker process: answer calls one at a time until terminated."""
    def observe(event: FaultEvent) -> None:
        reports.put(("call", call_kind(event.function, event.alias_id)))

    app = _timed(make_app(open_store(location)), reports)
    server = WSGIServer(listener.getsockname(), _KeepAliveHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.server_name, server.server_port = HOST, listener.getsockname()[1]
    server.setup_environ()
    server.set_app(only_api_path(with_faults(app, FaultSpec(latency=latency), observe=observe)))
    server.serve_forever()


@contextmanager
def serving(location: str, latency: float, workers: int = WORKERS) -> Iterator[Served]:
    """Serve the sandbox store at `location` (a SQLite path or mysql:// URL) on a free loopback port."""
    processes = multiprocessing.get_context("fork")
    reports = processes.SimpleQueue()
    with socket.create_server((HOST, 0), backlog=128) as listener:
        answering = [processes.Process(target=_answer_calls, args=(listener, location, latency, reports),
                                       name=f"bench-emulator-{n}", daemon=True) for n in range(workers)]
        for worker in answering:
            worker.start()
        served = Served(f"http://{HOST}:{listener.getsockname()[1]}{API_PATH}", reports,
                        tuple(worker.pid for worker in answering))
        try:
            yield served
        finally:
            for worker in answering:
                worker.terminate()
            for worker in answering:
                worker.join()
            served.close()


def index_phone_logins(execute: Callable[[str], Any]) -> None:
    """An index on phones.login for the emulator's own lookups (VICIdial has none).

    Without it every member check of every write scans all the phones,
    on the same two cores aliassync runs on: at 50,000 phones the
    database, not the client, would set the pace. On a real site that
    work is the dialer's, on another machine, and the injected latency
    stands for it. aliassync never looks phones up by login (it reads the
    table whole), so its own cost is the same with or without the index.
    """
    execute("CREATE INDEX bench_login ON phones (login)")
