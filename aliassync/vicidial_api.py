"""The client of VICIdial's Non-Agent API (`non_agent_api.php`), and the
Writer that applies plan actions through it.

One pooled HTTP client per run. Every call is a form-encoded POST whose
fields go `function, user, pass, source, <the function's fields>`:
VICIdial logs the value of the LAST field, so the password is never last.
Whatever leaves this module (answers, messages, exceptions, log lines)
is redacted; VICIdial echoes a wrong password in its answer.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

import httpx

from . import __version__, redaction
from .errors import ApiError, ConfigError, TargetError
from .plan import Action
from .retry import READS, Backoff, retrying
from .target import WriteOutcome
from .vicidial_answer import (ALIAS_MISSING, LOCKED_OUT, LOGIN_REFUSALS, NO_UPDATES, Answer, parse_answer,
                              unknown)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PROBE_ALIAS_ID = "aliassync_probe_0"   # never created: the access probe only asks about it
LOCKOUT = timedelta(minutes=15)        # VICIdial locks a user this long after ten failed logins
_SOURCE = re.compile(r"[0-9A-Za-z]{2,}")
# No answer yet, but maybe on the next call: the network or the web server failed, not VICIdial.
_PASSING_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class _Reply:
    answer: Answer
    passing: bool = False    # a failure of the network or web server that another call may not meet


class _NoVersionYet(TargetError):
    """A version check that failed in a way worth another try."""


class ApiClient:
    """Calls `non_agent_api.php` at `url` as `user`; one connection pool per instance."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        source: str = "aliassync",
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: Backoff = READS,
        sleep: Callable[[float], None] = time.sleep,
    ):
        redaction.register(password)
        self.url = _checked_url(url)
        self.public_url = public_url(url)
        self.user = user
        self.source = _checked_source(source)
        self._password = password
        self._timeout = timeout
        self._retry = retry
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": f"aliassync/{__version__}"},
        )

    def call(self, function: str, **fields: str) -> Answer:
        """One logged-in call; never raises for what the server or network does."""
        form = {"function": function, "user": self.user, "pass": self._password, "source": self.source}
        return self._post(form | fields)

    def version(self) -> str:
        """`2.14-202 build 250720-1841`; proves a VICIdial API answers at the URL.

        It needs no login and writes nothing, so a failure of the network or
        the web server (no connection, a timeout, a 5xx, an empty answer) is
        tried again, with backoff; a page that is not VICIdial's is not.
        """
        return retrying(self._version_once, lambda failure: isinstance(failure, _NoVersionYet), self._retry,
                        sleep=self._sleep, on_retry=_log_retry(self._retry))

    def _version_once(self) -> str:
        reply = self._send({"function": "version", "source": self.source})
        answer = reply.answer
        if answer.kind == "UNKNOWN":
            failure = _NoVersionYet if reply.passing else TargetError
            raise failure(f"VICIdial version check failed: {answer}")
        if answer.kind != "VERSION":
            raise TargetError(f"VICIdial version check failed: {self.public_url} answered {answer.line!r}")
        version, build = answer.fields
        return f"{version} build {build}"

    def check_access(self) -> None:
        """Prove login and alias permission with one call that cannot write.

        Asks to update an alias that does not exist, changing nothing
        (`delete_alias=N`). One attempt only: a retried bad login counts
        towards VICIdial's lockout.
        """
        answer = self.call("update_phone_alias", alias_id=PROBE_ALIAS_ID, delete_alias="N")
        if answer.reason in (ALIAS_MISSING, NO_UPDATES):
            return
        if answer.kind == "UNKNOWN":
            raise TargetError(f"VICIdial access check failed: {answer}")
        if answer.reason == LOCKED_OUT:
            retry_at = (datetime.now() + LOCKOUT).strftime("%H:%M")
            raise ApiError(f"VICIdial has locked user {self.user} after too many failed logins; nothing was "
                           f"written; check the password, then try again in 15 minutes (after {retry_at}): {answer}")
        if answer.reason in LOGIN_REFUSALS:
            raise ApiError(f"VICIdial refused the login for user {self.user}: {answer}")
        if answer.fatal:
            raise ApiError(f"VICIdial refused user {self.user} access to phone aliases: {answer}")
        raise ApiError(f"VICIdial access check got an unexpected answer: {answer}")

    def close(self) -> None:
        self._http.close()

    def _post(self, form: dict[str, str]) -> Answer:
        return self._send(form).answer

    def _send(self, form: dict[str, str]) -> _Reply:
        try:
            response = self._http.post(self.url, data=form)
        except httpx.RequestError as exc:
            reply = _Reply(_redacted(self._transport_failure(exc)), passing=isinstance(exc, _PASSING_FAILURES))
        else:
            reply = _Reply(_redacted(self._read(response)), passing=_passing(response))
        log.debug("api %s: %s", form["function"], reply.answer)
        return reply

    def _read(self, response: httpx.Response) -> Answer:
        body = response.text
        if response.status_code != 200:
            return unknown(f"HTTP {response.status_code} from {self.public_url}", line=body)
        answer = parse_answer(body)
        if answer.kind != "UNKNOWN":
            return answer
        excerpt = f": {_excerpt(body)}" if body else ""
        return unknown(f"{answer.reason} from {self.public_url}{excerpt}", line=body)

    def _transport_failure(self, exc: httpx.RequestError) -> Answer:
        url = self.public_url
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return unknown(f"could not connect to {url}: {_text(exc)}; nothing was sent", sent=False)
        if isinstance(exc, httpx.ReadTimeout):
            return unknown(f"timed out after {self._timeout.read:g}s waiting for an answer from {url}")
        if isinstance(exc, httpx.WriteTimeout):
            return unknown(f"timed out after {self._timeout.write:g}s sending to {url}")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return unknown(f"connection dropped by {url}: {_text(exc)}")
        return unknown(f"request to {url} failed: {_text(exc)}")


class ApiWriter:
    """The Writer (see target.py) for a VICIdial reached through its API."""

    def __init__(self, client: ApiClient):
        self.client = client

    def version(self) -> str:
        return self.client.version()

    def check_access(self) -> None:
        self.client.check_access()

    def write(self, action: Action) -> WriteOutcome:
        function, fields = _request_for(action)
        return _outcome_of(self.client.call(function, **fields))

    def close(self) -> None:
        self.client.close()


def _request_for(action: Action) -> tuple[str, dict[str, str]]:
    """The API function and fields that carry out one action.

    An update sends the whole member list, in order: VICIdial replaces
    the stored list with it.
    """
    if action.kind == "delete":
        return "update_phone_alias", {"alias_id": action.alias_id, "delete_alias": "Y"}
    function = "add_phone_alias" if action.kind == "create" else "update_phone_alias"
    after = action.after
    return function, {
        "alias_id": action.alias_id,
        "alias_name": after.alias_name,
        "phone_logins": after.logins_list,
    }


def _outcome_of(answer: Answer) -> WriteOutcome:
    if answer.kind == "SUCCESS":
        return WriteOutcome("success", str(answer))
    if answer.nothing_done:
        return WriteOutcome("refused", str(answer), fatal=answer.fatal, final=answer.final, sent=answer.sent)
    return WriteOutcome("unknown", str(answer))


def public_url(url: str) -> str:
    """The URL as it may be shown (in messages, target descriptions): no user, password, query or fragment."""
    try:
        shown = str(httpx.URL(url).copy_with(userinfo=b"", query=None, fragment=None))
    except httpx.InvalidURL:
        shown = url
    return redaction.redact(shown)


def _checked_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
        # VICIdial prefers GET parameters over POST fields: a query could override them.
        usable = parsed.scheme in ("http", "https") and bool(parsed.host) and not parsed.query
    except httpx.InvalidURL:
        usable = False
    if not usable:
        raise ConfigError(f"API URL must be an http:// or https:// URL without a query: {public_url(url)}")
    return url


def _checked_source(source: str) -> str:
    if not _SOURCE.fullmatch(source):
        raise ConfigError(f"API source {source!r} must be 2 or more characters of [0-9A-Za-z]")
    return source


def _redacted(answer: Answer) -> Answer:
    r = redaction.redact
    return replace(
        answer,
        function=r(answer.function),
        reason=r(answer.reason),
        fields=tuple(r(value) for value in answer.fields),
        line=r(answer.line),
    )


def _passing(response: httpx.Response) -> bool:
    """An answer from the web server, not VICIdial, that the next call may not get."""
    return response.status_code >= 500 or response.status_code == 429 or response.content == b""


def _log_retry(backoff: Backoff) -> Callable[[Exception, int, float], None]:
    def told(failure: Exception, retry: int, delay: float) -> None:
        log.warning("%s; trying again in %.1fs (retry %d of at most %d)", failure, delay, retry, backoff.retries)

    return told


def _text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _excerpt(body: str, limit: int = 80) -> str:
    return repr(body[:limit]) + ("..." if len(body) > limit else "")
