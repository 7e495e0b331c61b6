"""Serves the sandbox's non_agent_api.php and admin.php over real HTTP, on the loopback interface only.

The sandbox's API user has a well-known password, so it is never offered
to the network: the server binds an IPv4 loopback address or refuses to
start. API_PATH answers the API's calls, ADMIN_PATH the read-only admin
screens hosted mode reads (admin_screens.py); any other path is a 404, as
on a web server without that file.

It speaks HTTP/1.1 with persistent connections, as Apache does in front of
VICIdial: every answer carries a Content-Length and the connection stays
open for the client's next call. A connection idle for `keep_alive`
seconds is closed (Apache's KeepAliveTimeout). On shutdown, idle
connections close at once and calls in flight finish first.

With a FaultSpec (faults.py) the API (not the admin screens) answers as a flaky server would; a
call the faults leave unanswered gets its connection closed without a
byte (after a wait, for a timeout).
"""
from __future__ import annotations

import io
import ipaddress
import logging
import os
import re
import socket
import sys
import threading
import time
from contextlib import closing, contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterable, Iterator
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .admin_screens import ADMIN_PATH, make_admin_app
from .emulator import WsgiApp, make_app
from .faults import FaultSpec, NoAnswer, with_faults
from .store import SandboxError, Store, open_store

API_PATH = "/vicidial/non_agent_api.php"
KEEP_ALIVE_TIMEOUT = 5.0    # seconds an idle connection stays open (Apache's default KeepAliveTimeout)
STOP_WAIT = 5.0             # seconds a shutdown waits for the calls in flight to finish
MAX_BODY = 1 << 20          # bytes; an API call's form is a few hundred

log = logging.getLogger(__name__)

_LENGTH = re.compile(r"[0-9]{1,12}")


class SandboxServer(ThreadingMixIn, WSGIServer):
    """The HTTP server: one thread per connection, several calls per connection."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], keep_alive: float = KEEP_ALIVE_TIMEOUT):
        self.keep_alive = keep_alive
        self.stopping = threading.Event()   # set on shutdown: ends the wait of unanswered calls, closes connections
        self.connections_accepted = 0       # TCP connections accepted so far (tests check keep-alive with it)
        self._lock = threading.Lock()
        self._open: dict[_Handler, threading.Thread] = {}
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8080 (API_PATH is under it)."""
        return f"http://{self.server_address[0]}:{self.server_port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections_accepted += 1
        super().process_request(request, client_address)

    def stop_connections(self, wait: float = STOP_WAIT) -> None:
        """End every connection: idle ones close now, calls in flight end with their answer.

        Waits up to `wait` seconds for the connections' threads to end.
        """
        self.stopping.set()
        with self._lock:
            for handler in self._open:
                if handler.idle:
                    handler.cut()
            threads = list(self._open.values())
        deadline = time.monotonic() + wait
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # called by the connection's own thread

    def _opened(self, handler: _Handler) -> None:
        with self._lock:
            self._open[handler] = threading.current_thread()

    def _closed(self, handler: _Handler) -> None:
        with self._lock:
            self._open.pop(handler, None)

    def _await_call(self, handler: _Handler) -> bool:
        """The connection waits for its next call; False when the server stops (the connection closes)."""
        with self._lock:
            if self.stopping.is_set():
                return False
            handler.idle = True
            return True

    def _call_arrived(self, handler: _Handler) -> bool:
        """The connection is busy with a call; False when the server cut it while it waited."""
        with self._lock:
            handler.idle = False
            return not handler.was_cut


class _ServerHandler(ServerHandler):
    """One call's WSGI run, answered as HTTP/1.1; leaves the call unanswered when the app raises NoAnswer."""

    http_version = "1.1"
    request_handler: _Handler

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        handler = self.request_handler
        if "Content-Length" not in self.headers or handler.server.stopping.is_set():
            handler.close_connection = True     # no length: the end of the body is the end of the connection
        if handler.close_connection:
            self.headers["Connection"] = "close"

    def write(self, data: bytes) -> None:
        """A HEAD answer sends its headers only: a body would be read as the start of the next answer."""
        if self.environ.get("REQUEST_METHOD") != "HEAD":
            super().write(data)
        elif not self.headers_sent:
            self.bytes_sent = len(data)
            self.send_headers()

    def handle_error(self) -> None:
        handler = self.request_handler
        handler.close_connection = True     # the answer, if any, may be cut short
        failure = sys.exc_info()[1]
        if not isinstance(failure, NoAnswer):
            super().handle_error()
            return
        log.debug("sandbox: no answer (%s); closing after %gs", failure, failure.wait)
        handler.server.stopping.wait(failure.wait)


class _Handler(WSGIRequestHandler):
    """One connection: calls one after another until the client closes, goes idle too long, or the server stops.

    Logs through `logging`, and never the query string (it may carry a password).
    """

    protocol_version = "HTTP/1.1"
    # An answer leaves in two writes (headers, then body): without TCP_NODELAY the second waits for the
    # client's delayed ACK, about 40 ms a call on a kept-alive connection.
    disable_nagle_algorithm = True
    server: SandboxServer
    idle = False        # waiting for the next call
    was_cut = False     # closed by the server's shutdown while idle

    def setup(self) -> None:
        self.timeout = self.server.keep_alive
        super().setup()
        self.server._opened(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server._closed(self)

    def cut(self) -> None:
        """Close the connection under a thread waiting for the next call (the server's lock is held)."""
        self.was_cut = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle(self) -> None:
        # WSGIRequestHandler.handle answers one call and returns; http.server's loop answers calls until closed.
        BaseHTTPRequestHandler.handle(self)

    def handle_one_request(self) -> None:
        self.close_connection = True
        if not self.server._await_call(self):
            return
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except TimeoutError:
            log.debug("sandbox: closing a connection idle for %gs", self.server.keep_alive)
            self.raw_requestline = b""
        except OSError:
            self.raw_requestline = b""
        if not self.server._call_arrived(self) or not self.raw_requestline:
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.parse_request():
            return
        if self.request_version in ("HTTP/0.9", "HTTP/1.0"):
            self.close_connection = True
        body = self._body()
        if body is None:
            return
        handler = _ServerHandler(io.BytesIO(body), self.wfile, self.get_stderr(), self.get_environ(),
                                 multithread=False)
        handler.request_handler = self
        handler.run(self.server.get_app())

    def _body(self) -> bytes | None:
        """The call's body, read whole so the next call starts after it; None when there is no call to run."""
        if "Transfer-Encoding" in self.headers:
            self.send_error(HTTPStatus.LENGTH_REQUIRED)
            return None
        lengths = set(self.headers.get_all("Content-Length") or ["0"])
        length = lengths.pop().strip() if len(lengths) == 1 else ""
        if not _LENGTH.fullmatch(length):
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad Content-Length")
            return None
        if int(length) > MAX_BODY:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return None
        try:
            body = self.rfile.read(int(length))
        except OSError:
            body = b""
        if len(body) < int(length):
            self.close_connection = True    # the client went away mid-call
            return None
        return body

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("sandbox: %s %s -> %s", self.command, self.path.split("?", 1)[0], code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox: " + format, *args)


def only_api_path(app: WsgiApp, admin: WsgiApp | None = None) -> WsgiApp:
    """`app` at API_PATH (and `admin` at ADMIN_PATH); every other path answers 404."""

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == API_PATH:
            return app(environ, start_response)
        if admin is not None and environ.get("PATH_INFO") == ADMIN_PATH:
            return admin(environ, start_response)
        body = b"<html><body><h1>Not Found</h1></body></html>\n"
        start_response("404 Not Found", [("Content-type", "text/html; charset=utf-8"),
                                         ("Content-Length", str(len(body)))])
        return [body]

    return routed


def _require_loopback(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise SandboxError(f"the sandbox serves on an IPv4 loopback address (127.0.0.1) only, not {host}")


def _app(store: Store, faults: FaultSpec | None) -> WsgiApp:
    app = make_app(store)
    if faults is not None and faults.active:
        log.warning("sandbox: injecting faults: %s", faults)
        app = with_faults(app, faults)
    return only_api_path(app, make_admin_app(store))


def _http_server(store: Store, port: int, host: str, faults: FaultSpec | None,
                 keep_alive: float = KEEP_ALIVE_TIMEOUT) -> SandboxServer:
    """The server, bound and listening on host:port."""
    app = _app(store, faults)
    try:
        server = SandboxServer((host, port), keep_alive)
    except OSError as exc:
        raise SandboxError(f"cannot serve the sandbox on {host}:{port}: {exc.strerror}") from None
    except OverflowError:
        raise SandboxError(f"cannot serve the sandbox on {host}:{port}: the port must be 0-65535") from None
    server.set_app(app)
    return server


def serve(location: str | os.PathLike[str], port: int, host: str = "127.0.0.1",
          faults: FaultSpec | None = None, on_listening: Callable[[str], None] | None = None) -> None:
    """Serve the sandbox at `location` until interrupted (KeyboardInterrupt propagates).

    `on_listening` is given the base URL once the server listens; a port
    it cannot take raises SandboxError before.
    """
    _require_loopback(host)
    with closing(open_store(location)) as store, _http_server(store, port, host, faults) as server:
        log.debug("sandbox: serving %s%s", server.url, API_PATH)
        if on_listening is not None:
            on_listening(server.url)
        try:
            server.serve_forever()
        finally:
            server.stop_connections()


@contextmanager
def sandbox_server(location: str | os.PathLike[str], host: str = "127.0.0.1", faults: FaultSpec | None = None,
                   keep_alive: float = KEEP_ALIVE_TIMEOUT) -> Iterator[SandboxServer]:
    """For tests: serve the sandbox on a free port in a background thread; yields the server (its `url`).

    On exit the server stops: idle connections close, calls in flight
    finish, and the port is released.
    """
    _require_loopback(host)
    with closing(open_store(location)) as store, _http_server(store, 0, host, faults, keep_alive) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="sandbox-http", daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.stopping.set()
            server.shutdown()
            thread.join()
            server.stop_connections()


@contextmanager
def running_sandbox(location: str | os.PathLike[str], host: str = "127.0.0.1",
                    faults: FaultSpec | None = None) -> Iterator[str]:
    """For tests: serve the sandbox on a free port in a background thread; yields the base URL.

    The server is shut down and its port released on exit.
    """
    with sandbox_server(location, host, faults) as server:
        yield server.url
