"""Faults for the sandbox's API emulator: the failures of a flaky network and web server, on demand.

`with_faults(app, spec)` wraps the emulator's WSGI app. A `FaultSpec` says
what goes wrong, how often and to which calls; it is read from compact
text, as `ALIASSYNC_SANDBOX_FAULTS` and `aliassync sandbox serve --faults`
take it:

    latency=0.02                        every call answers 20 ms late
    mode=500-after,rate=0.3,seed=7      30% of the calls are carried out, then answer HTTP 500
    mode=drop-before,calls=writes       every write loses its connection; nothing is written

The modes. "Before": the emulator never sees the call, so nothing is done;
"after": the emulator carries the call out (a write is committed), then
the answer is lost:

    none                      no fault (latency only)
    500-before, 500-after     HTTP 500 with the web server's error page
    html                      HTTP 200 with PHP's HTML error output instead of VICIdial's line;
                              before (the script died at its start, unable to reach its database)
    empty                     HTTP 200 with an empty body, as when PHP dies before printing; after
    drop-before, drop-after   the connection closes without an answer
    timeout                   no answer before the client gives up; after
    mixed                     each faulting call meets one of the modes above, at random

Which calls fault depends only on the seed, the call (its function and
fields, never the password) and how many times that same call was seen
before: the same seed brings the same faults whatever order concurrent
calls arrive in. Without a seed, one is drawn and logged.

A WSGI app cannot leave a call unanswered, so it raises `NoAnswer`. The
sandbox's HTTP server (server.py) then closes the connection without a
byte, after `hang` seconds for a timeout. In process (httpx's
WSGITransport) the exception itself is what httpx raises for the same
failure: `DroppedConnection` is a RemoteProtocolError, `AnswerTooLate` a
ReadTimeout.
"""
from __future__ import annotations

import io
import logging
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterable, Mapping

import httpx

from ..errors import ConfigError
from .emulator import WsgiApp, request_params

log = logging.getLogger(__name__)

ENVIRONMENT = "ALIASSYNC_SANDBOX_FAULTS"

# mode -> whether the emulator carries the call out before the fault
CARRIED_OUT = {
    "none": True,
    "500-before": False,
    "500-after": True,
    "html": False,
    "empty": True,
    "drop-before": False,
    "drop-after": True,
    "timeout": True,
}
FAULTS = tuple(mode for mode in CARRIED_OUT if mode != "none")
MODES = (*CARRIED_OUT, "mixed")
SCOPES = ("all", "writes")
WRITE_FUNCTIONS = frozenset({"add_phone_alias", "update_phone_alias", "add_phone", "update_phone"})
SECRET_FIELDS = frozenset({"user", "pass", "source"})    # never part of what identifies a call

SERVER_ERROR_PAGE = (b"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
                     b"<title>500 Internal Server Error</title>\n</head><body>\n<h1>Internal Server Error</h1>\n"
                     b"<p>The server encountered an internal error or misconfiguration and was unable to "
                     b"complete your request.</p>\n</body></html>\n")
# PHP's own error output, as when VICIdial's script cannot reach its database and dies at its first line.
HTML_ERROR_PAGE = (b"<br />\n<b>Warning</b>:  mysqli_connect(): (HY000/2002): Connection refused in "
                   b"<b>/srv/www/htdocs/vicidial/dbconnect_mysqli.php</b> on line <b>32</b><br />\n"
                   b"MySQL connect ERROR: Connection refused")


# ------------------------------------------------------------------ the spec

def _mode(text: str) -> str:
    if text not in MODES:
        raise ValueError(f"mode {text!r} is not one of: {', '.join(MODES)}")
    return text


def _scope(text: str) -> str:
    if text not in SCOPES:
        raise ValueError(f"calls {text!r} is not one of: {', '.join(SCOPES)}")
    return text


def _number(name: str, convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError:
            raise ValueError(f"{name} {text!r} is not {what}") from None

    return parse


_PARSERS: Mapping[str, Callable[[str], Any]] = {
    "mode": _mode,
    "rate": _number("rate", float, "a fraction from 0 to 1"),
    "seed": _number("seed", int, "a whole number"),
    "calls": _scope,
    "latency": _number("latency", float, "a number of seconds"),
    "hang": _number("hang", float, "a number of seconds"),
}


@dataclass(frozen=True)
class FaultSpec:
    """What goes wrong, how often, and for which calls (see the module doc)."""

    mode: str = "none"
    rate: float = 1.0           # the fraction of the calls in `calls` that meet the fault
    seed: int | None = None
    calls: str = "all"          # "all", or "writes": calls that may change data (not version, not the access probe)
    latency: float = 0.0        # seconds added to every call in `calls`
    hang: float = 60.0          # seconds a `timeout` keeps the connection open over HTTP: longer than the
                                # client waits (aliassync: 30 s)

    def __post_init__(self) -> None:
        _mode(self.mode)
        _scope(self.calls)
        if not (0.0 <= self.rate <= 1.0):
            raise ValueError(f"rate {self.rate:g} is not a fraction from 0 to 1")
        if not (math.isfinite(self.latency) and self.latency >= 0):
            raise ValueError(f"latency {self.latency:g} is not a number of seconds, 0 or more")
        if not (math.isfinite(self.hang) and self.hang > 0):
            raise ValueError(f"hang {self.hang:g} is not a number of seconds, more than 0")

    @classmethod
    def parse(cls, text: str) -> "FaultSpec":
        """`key=value,...` with keys mode, rate, seed, calls, latency, hang; "" is no fault."""
        values: dict[str, Any] = {}
        try:
            for item in filter(None, (part.strip() for part in text.split(","))):
                key, equals, value = (part.strip() for part in item.partition("="))
                if not equals:
                    raise ValueError(f"{item!r} is not key=value")
                if key not in _PARSERS:
                    raise ValueError(f"unknown key {key!r} (expected one of: {', '.join(_PARSERS)})")
                if key in values:
                    raise ValueError(f"{key} is given twice")
                values[key] = _PARSERS[key](value)
            return cls(**values)
        except ValueError as problem:
            raise ConfigError(f"sandbox faults {text!r}: {problem}") from None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "FaultSpec | None":
        """The spec in ALIASSYNC_SANDBOX_FAULTS, or None when it is not set."""
        text = env.get(ENVIRONMENT, "").strip()
        if not text:
            return None
        spec = cls.parse(text)
        if spec.active:
            log.warning("sandbox: injecting faults (%s): %s", ENVIRONMENT, spec)
        return spec

    def __str__(self) -> str:
        """The compact text that parses back to this spec (only what differs from the defaults)."""
        default = FaultSpec()
        changed = [(f.name, getattr(self, f.name)) for f in fields(self)
                   if getattr(self, f.name) != getattr(default, f.name)]
        return ",".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                        for name, value in changed) or "mode=none"

    @property
    def active(self) -> bool:
        return self.mode != "none" or self.latency > 0

    def fault_for(self, call: str, seen: int, seed: int) -> str:
        """The mode the call meets the `seen`-th time it arrives (0 the first time); "none" for no fault."""
        if self.mode == "none" or _draw(seed, call, seen, "strikes") >= self.rate:
            return "none"
        if self.mode == "mixed":
            return FAULTS[int(_draw(seed, call, seen, "mode") * len(FAULTS))]
        return self.mode


def _draw(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by the seed and the parts (the same in every process)."""
    return random.Random("|".join(map(str, (seed, *parts)))).random()


# ------------------------------------------------------------------ no answer at all

class NoAnswer(Exception):
    """Raised by the app for a call that gets no answer; the connection closes after `wait` seconds."""

    def __init__(self, message: str, wait: float = 0.0):
        super().__init__(message)
        self.wait = wait


class DroppedConnection(NoAnswer, httpx.RemoteProtocolError):
    """The connection closes at once, without an answer."""


class AnswerTooLate(NoAnswer, httpx.ReadTimeout):
    """No answer comes before the client stops waiting."""


# ------------------------------------------------------------------ the middleware

@dataclass(frozen=True)
class FaultEvent:
    """One call as the fault layer saw it: for tests that check what a fault led to."""

    function: str
    alias_id: str
    fault: str               # "none", or the mode the call met

    @property
    def carried_out(self) -> bool:
        """Whether the emulator carried the call out."""
        return CARRIED_OUT[self.fault]


def with_faults(app: WsgiApp, spec: FaultSpec,
                observe: Callable[[FaultEvent], None] | None = None) -> WsgiApp:
    """`app`, with the faults of `spec`; `observe` (for tests) is told of every call in scope."""
    return _Faulty(app, spec, observe)


class _Faulty:
    def __init__(self, app: WsgiApp, spec: FaultSpec, observe: Callable[[FaultEvent], None] | None):
        self._app = app
        self._spec = spec
        self._observe = observe
        self._seed = spec.seed if spec.seed is not None else random.SystemRandom().randrange(2 ** 32)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        log.debug("sandbox: faults %s (seed %d)", spec, self._seed)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        params = _params_keeping_body(environ)
        if not self._in_scope(params):
            return self._app(environ, start_response)
        if self._spec.latency:
            time.sleep(self._spec.latency)
        call = _identity(params)
        with self._lock:
            seen = self._seen[call]
            self._seen[call] += 1
        fault = self._spec.fault_for(call, seen, self._seed)
        if self._observe is not None:
            self._observe(FaultEvent(params.get("function", ""), params.get("alias_id", ""), fault))
        if fault == "none":
            return self._app(environ, start_response)
        if CARRIED_OUT[fault]:
            _carry_out(self._app, environ)
        return _FAULT_ANSWERS[fault](self._spec, start_response)

    def _in_scope(self, params: Mapping[str, str]) -> bool:
        return self._spec.calls == "all" or _is_write(params)


def _params_keeping_body(environ: dict[str, Any]) -> dict[str, str]:
    """The call's fields; the body is read once and put back for the emulator."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    params = request_params(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    return params


LOGIN_FIELDS = frozenset({"function", "user", "pass", "source"})


def _is_write(params: Mapping[str, str]) -> bool:
    """A call that may change data; the access probes (a write function called with no fields) do not."""
    function = params.get("function", "")
    probe = not any(value for key, value in params.items() if key not in LOGIN_FIELDS)
    return function in WRITE_FUNCTIONS and not probe


def _identity(params: Mapping[str, str]) -> str:
    """What makes two calls the same call: the function and its fields, without user, password or source."""
    return "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in SECRET_FIELDS)


def _carry_out(app: WsgiApp, environ: dict[str, Any]) -> None:
    """Run the call to its end and throw the answer away."""
    result = app(environ, lambda status, headers, exc_info=None: None)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _page(status: str, body: bytes) -> Callable[[FaultSpec, Callable[..., Any]], Iterable[bytes]]:
    def answer(spec: FaultSpec, start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, [("Content-type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    return answer


def _dropped(spec: FaultSpec, start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise DroppedConnection("Server disconnected without sending a response.")


def _too_late(spec: FaultSpec, start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise AnswerTooLate("The read operation timed out", wait=spec.hang)


_FAULT_ANSWERS = {
    "500-before": _page("500 Internal Server Error", SERVER_ERROR_PAGE),
    "500-after": _page("500 Internal Server Error", SERVER_ERROR_PAGE),
    "html": _page("200 OK", HTML_ERROR_PAGE),
    "empty": _page("200 OK", b""),
    "drop-before": _dropped,
    "drop-after": _dropped,
    "timeout": _too_late,
}
