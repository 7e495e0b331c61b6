"""Serves the sandbox's non_agent_api.php over real HTTP, on the loopback interface only.

The sandbox's API user has a well-known password, so it is never offered
to the network: the server binds an IPv4 loopback address or refuses to
start. Only API_PATH answers; any other path is a 404, as on a web server
without that file.

With a FaultSpec (faults.py) the API answers as a flaky server would; a
call the faults leave unanswered gets its connection closed without a
byte (after a wait, for a timeout).
"""
from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
from contextlib import closing, contextmanager
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterable, Iterator
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from .emulator import WsgiApp, make_app
from .faults import FaultSpec, NoAnswer, with_faults
from .store import SandboxError, Store, open_store

API_PATH = "/vicidial/non_agent_api.php"

log = logging.getLogger(__name__)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()   # set on shutdown: ends the wait of unanswered calls


class _ServerHandler(ServerHandler):
    """Leaves the call unanswered when the app raises NoAnswer: the connection closes without a byte."""

    def handle_error(self) -> None:
        failure = sys.exc_info()[1]
        if not isinstance(failure, NoAnswer):
            super().handle_error()
            return
        log.debug("sandbox: no answer (%s); closing after %gs", failure, failure.wait)
        self.request_handler.server.stopping.wait(failure.wait)
        self.request_handler.close_connection = True


class _Handler(WSGIRequestHandler):
    """Logs through `logging`, and never the query string (it may carry a password)."""

    def handle(self) -> None:
        """WSGIRequestHandler.handle, with a ServerHandler that can leave a call unanswered."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False)
        handler.request_handler = self
        handler.run(self.server.get_app())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("sandbox: %s %s -> %s", self.command, self.path.split("?", 1)[0], code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox: " + format, *args)


def only_api_path(app: WsgiApp) -> WsgiApp:
    """`app` at API_PATH; every other path answers 404."""

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == API_PATH:
            return app(environ, start_response)
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
    return only_api_path(app)


def _http_server(store: Store, port: int, host: str, faults: FaultSpec | None) -> _ThreadingServer:
    try:
        return make_server(host, port, _app(store, faults), server_class=_ThreadingServer, handler_class=_Handler)
    except OSError as exc:
        raise SandboxError(f"cannot serve the sandbox on {host}:{port}: {exc.strerror}") from None


def serve(location: str | os.PathLike[str], port: int, host: str = "127.0.0.1",
          faults: FaultSpec | None = None) -> None:
    """Serve the sandbox at `location` until interrupted (KeyboardInterrupt propagates)."""
    _require_loopback(host)
    with closing(open_store(location)) as store, _http_server(store, port, host, faults) as server:
        log.debug("sandbox: serving http://%s:%d%s", host, server.server_port, API_PATH)
        try:
            server.serve_forever()
        finally:
            server.stopping.set()


@contextmanager
def running_sandbox(location: str | os.PathLike[str], host: str = "127.0.0.1",
                    faults: FaultSpec | None = None) -> Iterator[str]:
    """For tests: serve the sandbox on a free port in a background thread; yields the base URL.

    The server is shut down and its port released on exit.
    """
    _require_loopback(host)
    with closing(open_store(location)) as store, _http_server(store, 0, host, faults) as server:
        thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{server.server_port}"
        finally:
            server.stopping.set()
            server.shutdown()
            thread.join()
