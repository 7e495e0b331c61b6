"""A fault-injecting HTTP proxy for tests: a real TCP proxy on 127.0.0.1, in front of a real server.

The sandbox's own faults (aliassync/sandbox/faults.py) fail calls from
inside the web server. This proxy fails them on the wire, between the
client and a server that works: the request reaches VICIdial (or not) and
the answer is lost, at the exact request a test chooses. Use it to prove
what aliassync does with a lost answer, e.g. that the applier settles an
update whose answer never came by reading the state, not by writing twice:

    from fault_proxy import DropAfterResponse, FaultProxy, Rule

    with running_sandbox(path) as sandbox, \\
            FaultProxy(sandbox + API_PATH, [Rule(DropAfterResponse(), function="update_phone_alias")]) as proxy:
        client = ApiClient(proxy.url, "6666", "1234")      # proxy.url: the upstream URL, on the proxy's port
        ...                                               # the first update_phone_alias lands; its answer is lost
    assert proxy.forwarded["update_phone_alias"] == 1     # and it was sent once, not twice

Rules. `Rule(fault, function=..., match=..., nth=...)`: a request
matches when its form field `function` is `function` (if given) and
`match(request)` is true (if given); the rule strikes the `nth` request it
matches (1: the first; nth=None: every one). Each rule counts the
requests it matches, whether or not another rule struck them; the first
rule that strikes a request decides its fault. Requests are numbered in
the order the proxy has read them whole, across all connections.

Faults:

    DropAfterResponse()          forward the request, read the whole answer (the write is committed),
                                 then close the client's connection without a byte
    DropWhileWorking(delay)      forward the request, close the client's connection `delay` seconds
                                 later while the server still works on it (pair with a slow server,
                                 e.g. FaultSpec(latency=...)); the answer is read and thrown away
    DropBeforeForward(delay)     close the client's connection at once, forward the request `delay`
                                 seconds later and throw the answer away: the write lands after the
                                 client gave up
    Die()                        the API goes away: this request is not forwarded, every connection
                                 closes without an answer, and the listening socket closes, so later
                                 calls are refused (httpx.ConnectError); `proxy.die()` does the same

A client whose connection closes without a byte sees httpx's
RemoteProtocolError ("Server disconnected without sending a response.");
aliassync's ApiClient makes it an answer of kind UNKNOWN, "connection
dropped by <url>: ...".

What went through: `proxy.received` and `proxy.forwarded` count requests
by function (`forwarded`: sent to the server, delayed ones once they are
sent), `proxy.events` lists every request with the fault it met (None:
passed through), `proxy.connections` counts the client connections
accepted, and `proxy.address` is where the proxy listens. Faults that
forward in the background (DropWhileWorking, DropBeforeForward) finish
before the `with` block ends; `proxy.wait_for_upstream()` waits for them
earlier.

Clients may keep their connection alive: requests are framed by
Content-Length (or chunked encoding); each request goes to the server on
a connection of its own. The proxy listens on 127.0.0.1 only and forwards
to a 127.0.0.1 server only.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
UPSTREAM_TIMEOUT = 30.0     # seconds the proxy waits on the server
MAX_HEAD = 65536


# ---------------------------------------------------------------- requests, faults and rules

@dataclass(frozen=True)
class Request:
    """One HTTP request as the client sent it."""

    number: int                   # 1 for the first request the proxy read, across all connections
    method: str
    target: str                   # the path and query
    version: str                  # "HTTP/1.1"
    headers: Mapping[str, str]    # names in lower case
    body: bytes
    raw: bytes                    # head and body, as received: what is forwarded
    fields: Mapping[str, str]     # the form fields of the body and the query (the query wins, as in VICIdial)

    @property
    def function(self) -> str:
        """The API function called ("" when none)."""
        return self.fields.get("function", "")


class Fault:
    """What happens to a request a rule strikes."""


@dataclass(frozen=True)
class DropAfterResponse(Fault):
    """The server answers (a write is committed); the client's connection closes without the answer."""


@dataclass(frozen=True)
class DropWhileWorking(Fault):
    """The client's connection closes `delay` seconds after the request went to the server."""

    delay: float = 0.1


@dataclass(frozen=True)
class DropBeforeForward(Fault):
    """The client's connection closes at once; the request goes to the server `delay` seconds later."""

    delay: float = 0.1


@dataclass(frozen=True)
class Die(Fault):
    """The API goes away: no forward, every connection closes, later connections are refused."""


@dataclass
class Rule:
    """Strikes the `nth` request that calls `function` and satisfies `match` (nth=None: every one).

    A rule keeps its count for its whole life: give each proxy rules of its own.
    """

    fault: Fault
    function: str | None = None
    match: Callable[[Request], bool] | None = None
    nth: int | None = 1
    matched: int = field(default=0, init=False)    # requests matched so far

    def __post_init__(self) -> None:
        if self.nth is not None and self.nth < 1:
            raise ValueError(f"nth {self.nth} is not 1 or more (1: the first matching request)")

    def strikes(self, request: Request) -> bool:
        """Whether this rule strikes `request`; counts it when it matches (call once per request)."""
        if self.function is not None and request.function != self.function:
            return False
        if self.match is not None and not self.match(request):
            return False
        self.matched += 1
        return self.nth is None or self.matched == self.nth


@dataclass(frozen=True)
class Event:
    """One request the proxy read, and the fault it met (None: passed through)."""

    request: Request
    fault: Fault | None


class ProtocolError(Exception):
    """Bytes the proxy cannot read as HTTP."""


# ---------------------------------------------------------------- the proxy

class FaultProxy:
    """A proxy on 127.0.0.1 (a free port) in front of `upstream`, failing the requests `rules` strike."""

    def __init__(self, upstream: str, rules: list[Rule] | tuple[Rule, ...] = ()):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname != LOOPBACK or parts.port is None:
            raise ValueError(f"the upstream must be http://{LOOPBACK}:PORT/..., not {upstream}")
        self._upstream = (LOOPBACK, parts.port)
        self._upstream_url = parts
        self.rules = list(rules)
        self.received: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.events: list[Event] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0                   # requests on their way to the server or waiting for its answer
        self._requests = 0
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._dead = threading.Event()      # no more forwarding: died, or stopped
        self._listener = socket.create_server((LOOPBACK, 0))
        self.address: tuple[str, int] = self._listener.getsockname()     # where the proxy listens
        self.port = self.address[1]
        self._acceptor = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        """The upstream URL with the proxy's address: hand it to the client instead."""
        return urlunsplit(self._upstream_url._replace(netloc=f"{LOOPBACK}:{self.port}"))

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self, wait: float = 10.0) -> None:
        """Let the requests on their way to the server finish (up to `wait` seconds), then stop everything."""
        self.wait_for_upstream(wait, strict=False)
        self.die()
        self._acceptor.join(wait)
        for thread in list(self._threads):
            thread.join(wait)

    def die(self) -> None:
        """The API goes away: later connections are refused and every open connection closes without an answer."""
        self._dead.set()
        with self._lock:
            clients = list(self._clients)
        try:
            self._listener.shutdown(socket.SHUT_RDWR)   # refuses new connections at once, wakes accept()
        except OSError:
            pass
        for client in clients:
            _cut(client)        # the client's own thread closes it

    def wait_for_upstream(self, timeout: float = 10.0, strict: bool = True) -> bool:
        """Wait until no request is on its way to the server (delayed forwards included)."""
        with self._idle:
            done = self._idle.wait_for(lambda: self._pending == 0, timeout)
        if strict and not done:
            raise TimeoutError(f"requests still on their way to the server after {timeout:g}s")
        return done

    # ------------------------------------------------------------ connections

    def _accept(self) -> None:
        try:
            while True:
                try:
                    client, _ = self._listener.accept()
                except OSError:
                    return
                with self._lock:
                    self.connections += 1
                    self._clients.add(client)
                self._start(self._serve, client)
        finally:
            self._listener.close()

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _serve(self, client: socket.socket) -> None:
        stream = _Stream(client)
        try:
            while not self._dead.is_set():
                read = self._read_request(stream)
                if read is None or not self._answer(client, *read):
                    return
        except (OSError, ProtocolError) as problem:
            log.debug("fault proxy: connection ends: %s", problem)
        finally:
            with self._lock:
                self._clients.discard(client)
            _drop(client)

    def _read_request(self, stream: _Stream) -> tuple[Request, Fault | None] | None:
        """The next request on the connection and the fault it meets; None when the client closed."""
        head = stream.head()
        if head is None:
            return None
        start, headers = _parse_head(head)
        try:
            method, target, version = start.split(" ")
        except ValueError:
            raise ProtocolError(f"not a request line: {start!r}") from None
        body = stream.body(headers)
        fields = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        fields.update(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        with self._lock:
            self._requests += 1
            request = Request(self._requests, method, target, version, headers, body, head + stream.raw_body,
                              fields)
            self.received[request.function] += 1
            fault = None
            for rule in self.rules:
                if rule.strikes(request) and fault is None:
                    fault = rule.fault
            self.events.append(Event(request, fault))
        if fault is not None:
            log.debug("fault proxy: request %d (%s) meets %s", request.number, request.function, fault)
        return request, fault

    def _answer(self, client: socket.socket, request: Request, fault: Fault | None) -> bool:
        """Deal with one request; whether the client's connection stays open for the next."""
        if isinstance(fault, Die) or self._dead.is_set():
            self.die()
            return False
        if isinstance(fault, DropBeforeForward):
            _drop(client)
            self._in_background(request, delay=fault.delay)
            return False
        if isinstance(fault, DropWhileWorking):
            sent = threading.Event()
            self._in_background(request, sent=sent)
            sent.wait(UPSTREAM_TIMEOUT)
            time.sleep(fault.delay)
            return False
        answer = self._exchange(request)
        if answer is None or isinstance(fault, DropAfterResponse):
            return False
        raw, keep_open = answer
        client.sendall(raw)
        return keep_open and not _closes(request)

    def _in_background(self, request: Request, delay: float = 0.0, sent: threading.Event | None = None) -> None:
        """Forward `request` from a thread of its own, `delay` seconds from now, and throw the answer away."""
        with self._lock:
            self._pending += 1      # counted now: wait_for_upstream() also waits out the delay

        def forward() -> None:
            try:
                time.sleep(delay)
                self._exchange(request, sent)
            finally:
                self._done()

        self._start(forward)

    def _exchange(self, request: Request, sent: threading.Event | None = None) -> tuple[bytes, bool] | None:
        """Send `request` to the server on a connection of its own; its whole answer, None if none came."""
        with self._lock:
            self._pending += 1
        try:
            with socket.create_connection(self._upstream, timeout=UPSTREAM_TIMEOUT) as upstream:
                upstream.sendall(request.raw)
                with self._lock:
                    self.forwarded[request.function] += 1
                if sent is not None:
                    sent.set()
                return _read_answer(_Stream(upstream), request.method)
        except (OSError, ProtocolError) as problem:
            log.debug("fault proxy: no answer from the server to request %d: %s", request.number, problem)
            return None
        finally:
            if sent is not None:
                sent.set()
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()


# ---------------------------------------------------------------- HTTP on the wire

class _Stream:
    """Reads HTTP messages off a socket."""

    def __init__(self, connection: socket.socket):
        self._connection = connection
        self._buffer = bytearray()
        self.raw_body = b""     # the last body read, as it came (chunked or not)

    def _fill(self) -> bool:
        chunk = self._connection.recv(65536)
        self._buffer += chunk
        return bool(chunk)

    def head(self) -> bytes | None:
        """The next message's head, up to and with its blank line; None at the end of the stream."""
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD:
                raise ProtocolError("a head longer than 64 KiB")
            if not self._fill():
                if self._buffer:
                    raise ProtocolError("the stream ended inside a head")
                return None
        return self._take(end + 4)

    def exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            if not self._fill():
                raise ProtocolError(f"the stream ended {count - len(self._buffer)} bytes short")
        return self._take(count)

    def line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill():
                raise ProtocolError("the stream ended inside a line")
        return self._take(end + 2)

    def rest(self) -> bytes:
        while self._fill():
            pass
        return self._take(len(self._buffer))

    def body(self, headers: Mapping[str, str], to_end: bool = False) -> bytes:
        """The body the headers announce (decoded from chunks); `to_end`: without a length, up to the end."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raw, body = [], []
            while True:
                size_line = self.line()
                raw.append(size_line)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    break
                chunk = self.exactly(size + 2)
                raw.append(chunk)
                body.append(chunk[:-2])
            while (trailer := self.line()) != b"\r\n":
                raw.append(trailer)
            raw.append(b"\r\n")
            self.raw_body = b"".join(raw)
            return b"".join(body)
        if "content-length" in headers:
            self.raw_body = self.exactly(int(headers["content-length"]))
        else:
            self.raw_body = self.rest() if to_end else b""
        return self.raw_body

    def _take(self, count: int) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        return taken


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    start, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in filter(None, lines):
        name, colon, value = line.partition(":")
        if not colon:
            raise ProtocolError(f"not a header: {line!r}")
        headers[name.strip().lower()] = value.strip()
    return start, headers


def _read_answer(stream: _Stream, method: str) -> tuple[bytes, bool]:
    """The server's whole answer (interim 1xx answers included), and whether its connection may be reused."""
    raw = b""
    while True:
        head = stream.head()
        if head is None:
            raise ProtocolError("the server closed the connection without an answer")
        start, headers = _parse_head(head)
        status = int(start.split(" ")[1])
        if 100 <= status < 200:
            raw += head
            continue
        if method == "HEAD" or status in (204, 304):
            return raw + head, not _closes_answer(start, headers)
        framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()
        stream.body(headers, to_end=True)
        return raw + head + stream.raw_body, framed and not _closes_answer(start, headers)


def _closes(request: Request) -> bool:
    """Whether the client asked to close its connection after this request."""
    connection = request.headers.get("connection", "").lower()
    return connection == "close" or (request.version != "HTTP/1.1" and connection != "keep-alive")


def _closes_answer(start: str, headers: Mapping[str, str]) -> bool:
    return headers.get("connection", "").lower() == "close" or not start.startswith("HTTP/1.1 ")


def _cut(connection: socket.socket) -> None:
    """End the connection without a byte (a FIN, not a reset) under whichever thread reads it."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _drop(connection: socket.socket) -> None:
    """Close without a byte; whatever the client sent has been read, so the client sees a FIN, not a reset."""
    _cut(connection)
    connection.close()
