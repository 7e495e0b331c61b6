"""The client of VICIdial's Non-Agent API (`non_agent_api.php`), and the
Writer that applies plan actions (on aliases and on phones) through it.

One pooled HTTP client per run. Every call is a form-encoded POST whose
fields go `function, user, pass, source, <the function's fields>`:
VICIdial logs the value of the LAST field, so no password is ever last
(a phone's passwords come first among its fields, before its key).
A `user:pass@` in the URL is sent as basic auth, never as part of a URL
httpx sees (or logs).

VICIdial's answers are data (logins, extensions, names) and are shown as
they are, except the fields where VICIdial echoes a password, masked by
their place in the line: the bad-login echo `|<user>|<pass>|BAD|`,
add_phone's `YOU MUST USE ALL REQUIRED FIELDS` echo (its phone_pass and
registration_password fields), and update_phone's refusals of a phone or
registration password (the value refused). What is not a VICIdial answer
(an HTML page, a transport failure) has every registered secret masked,
since it could echo anything; each phone password is registered as it is
resolved, so that covers them too.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Mapping

import httpx

from .. import __version__, redaction
from ..errors import AliassyncError, ApiError, ConfigError, TargetError
from ..core.model import fold
from ..core.phone import COLUMNS, SECRET_COLUMNS, PhoneValues, SecretRef
from ..core.plan import Action
from ..retry import READS, Backoff, retrying
from ..core.target import WriteOutcome
from .answer import LOGIN_INCORRECT
from .answer import (ALIAS_EXISTS, ALIAS_MISSING, LOCKED_OUT, LOGIN_REFUSALS, MISSING_FIELDS, PHONE_EXISTS,
                     PHONE_LOGIN_EXISTS, PHONE_NOT_ON_SERVER, PHONE_PASS_INVALID, REGISTRATION_PASSWORD_INVALID,
                     Answer, parse_answer, unknown)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Refusals that only tell what the state is: after a lost answer they usually mean the first write landed.
STATE_REFUSALS = frozenset({ALIAS_EXISTS, ALIAS_MISSING, PHONE_EXISTS, PHONE_LOGIN_EXISTS, PHONE_NOT_ON_SERVER})
# The form fields that carry a password: never the last field of a call (VICIdial logs the last one's value).
PASSWORD_FIELDS = frozenset({"pass", *SECRET_COLUMNS})
# How a resolved phone password is named to redaction (and in its warnings).
PASSWORD_LABELS = {"phone_pass": "phone password", "registration_password": "registration password"}
# What VICIdial keeps of a phone password as written (2 to 30 on update; other characters are stripped).
_PHONE_PASSWORD = re.compile(r"[-_0-9A-Za-z]{2,30}")
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
        password_is_public: bool = False,
    ):
        if not password_is_public:    # the sandbox's well-known password hides nothing
            redaction.register(password, "API password")
        bare_url, auth = split_credentials(url)
        self.url = _checked_url(bare_url)
        self.public_url = public_url(url)
        self.user = user
        self.source = _checked_source(source)
        self._password = password
        self._timeout = timeout
        self._retry = retry
        self._sleep = sleep
        self._http = httpx.Client(
            auth=auth,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": f"aliassync/{__version__}"},
        )

    def call(self, function: str, **fields: str) -> Answer:
        """One logged-in call; never raises for what the server or network does.

        A call whose last field would carry a password is a bug, refused
        before anything is sent: VICIdial logs the last field's value.
        """
        form = {"function": function, "user": self.user, "pass": self._password, "source": self.source} | fields
        last = next(reversed(form))
        if last in PASSWORD_FIELDS:
            raise AliassyncError(f"refusing to send {function} with the password field {last} last (a bug): "
                                 "VICIdial logs the last field's value; nothing was sent")
        return self._post(form)

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

    def check_access(self, functions: Mapping[str, str]) -> None:
        """Prove the login may call each function, with calls that cannot write.

        Each function called with no fields answers `YOU MUST USE ALL
        REQUIRED FIELDS` when the user may call it, and a permission error
        when not (vicidial-api.md, write-free probes). The first probe also
        proves the login: a bad password stops there, so a run costs at
        most one failed login towards VICIdial's lockout. `functions` maps
        each function to what the plan needs it for, named in a refusal.
        """
        for function, needed_for in functions.items():
            answer = self.call(function)
            if answer.kind == "ERROR" and answer.function == function and answer.reason == MISSING_FIELDS:
                continue
            if answer.kind == "UNKNOWN":
                raise TargetError(f"VICIdial access check failed: {answer}")
            if answer.reason == LOCKED_OUT:
                retry_at = (datetime.now() + LOCKOUT).strftime("%H:%M")
                raise ApiError(f"VICIdial has locked user {self.user} after too many failed logins; nothing was "
                               f"written; check the password, then try again in 15 minutes (after {retry_at}): {answer}")
            if answer.reason in LOGIN_REFUSALS:
                raise ApiError(f"VICIdial refused the login for user {self.user}: {answer}")
            if answer.fatal:
                raise ApiError(f"apply refused, nothing written: user {self.user} may not call {function}, which "
                               f"the plan needs for {needed_for}: {answer}")
            raise ApiError(f"VICIdial access check of {function} got an unexpected answer: {answer}")

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


def _no_secret_reader(ref: SecretRef) -> str:
    """The default way to read a password reference: there is none."""
    raise ConfigError(f"cannot read the password {ref}: this API writer was given no way to read password "
                      "references (a bug); nothing was sent")


class ApiWriter:
    """The Writer (see core/target.py) for a VICIdial reached through its API.

    `resolve_secret` gives the value of a phone password from its
    reference; each value is registered for redaction as it is read, and
    read once per reference and field for the whole run.
    """

    def __init__(self, client: ApiClient, resolve_secret: Callable[[SecretRef], str] | None = None):
        self.client = client
        self.user = client.user
        self._resolve_secret = resolve_secret or _no_secret_reader
        self._passwords: dict[tuple[str, SecretRef], str] = {}
        self._passwords_lock = threading.Lock()

    def version(self) -> str:
        return self.client.version()

    def check_access(self, functions: Mapping[str, str]) -> None:
        self.client.check_access(functions)

    def write(self, action: Action) -> WriteOutcome:
        if action.resource == "phone":
            function, fields = _phone_request_for(action, self._password)
        elif action.resource == "alias":
            function, fields = _request_for(action)
        else:
            raise AliassyncError(f"{action.key}: no API call writes a {action.resource!r} (a bug); nothing was sent")
        return _outcome_of(self.client.call(function, **fields))

    def _password(self, field: str, ref: SecretRef, login: str) -> str:
        """The value of `ref`, sent as `field` of phone `login`: registered for redaction, and checked."""
        with self._passwords_lock:
            value = self._passwords.get((field, ref))
        if value is not None:
            return value
        value = self._resolve_secret(ref)
        redaction.register(value, PASSWORD_LABELS[field])
        if not _PHONE_PASSWORD.fullmatch(value):
            # VICIdial would store another password than the one meant (or, on update, none at all).
            raise ConfigError(f"phone {login}: the {PASSWORD_LABELS[field]} {ref} must be 2 to 30 characters of "
                              "letters, digits, '-' and '_'; nothing was sent")
        with self._passwords_lock:
            self._passwords[(field, ref)] = value
        return value

    def close(self) -> None:
        self.client.close()


def _request_for(action: Action) -> tuple[str, dict[str, str]]:
    """The API function and fields that carry out one action.

    An update sends the whole member list, in order: VICIdial replaces
    the stored list with it.
    """
    if action.kind == "delete":
        return "update_phone_alias", {"alias_id": action.name, "delete_alias": "Y"}
    function = "add_phone_alias" if action.kind == "create" else "update_phone_alias"
    after = action.after
    return function, {
        "alias_id": action.name,
        "alias_name": after.alias_name,
        "phone_logins": after.logins_list,
    }


# The fields a phone action may carry besides its key and passwords, in the order they are sent.
_ADD_FIELDS = tuple(COLUMNS)
_UPDATE_FIELDS = ("phone_login", *COLUMNS)


def _phone_request_for(action: Action, password: Callable[[str, SecretRef, str], str]
                       ) -> tuple[str, dict[str, str]]:
    """The API function and fields that carry out one phone action (see vicidial-api.md).

    - create: add_phone with the passwords, `extension`, `server_ip`,
      `phone_login` (the action's name) and every field of `after`;
    - update: update_phone keyed by `extension` and `server_ip`, with the
      passwords and exactly the fields of `after` (`phone_login` among
      them when the login changes); never an update that changes
      nothing, since update_phone writes and flags the server for an
      Asterisk rebuild even then;
    - delete: update_phone with the key of `before` and `delete_phone=Y`.

    The passwords come first: the key, always sent and never secret,
    follows them, so no password is ever the last field. A request the
    plan should never hold is refused as a bug, before anything is read or sent.
    """
    name = action.name
    if action.kind == "delete":
        before = action.before
        if before is None:
            raise AliassyncError(f"phone {name}: the delete names no phone (a bug in the plan); nothing was sent")
        return "update_phone", {"extension": before.extension, "server_ip": before.server_ip, "delete_phone": "Y"}
    after: PhoneValues | None = action.after
    if action.kind == "create":
        fields = _phone_fields(action, _ADD_FIELDS)
        form = _passwords(action, password)
        form |= {"extension": after.extension, "server_ip": after.server_ip, "phone_login": name}
        return "add_phone", form | fields
    if after is None or not (after.fields or after.secrets):
        raise AliassyncError(f"phone {name}: refusing to send update_phone with nothing to change (a bug in the "
                             "plan): update_phone writes and flags the server for an Asterisk rebuild even then; "
                             "nothing was sent")
    fields = _phone_fields(action, _UPDATE_FIELDS)
    empty = [field for field, value in fields.items() if value == ""]
    if empty:
        raise AliassyncError(f"phone {name}: refusing to send update_phone with an empty {', '.join(empty)} (a bug "
                             "in the plan): update_phone ignores an empty value (it empties a column only for "
                             "--BLANK--); nothing was sent")
    extension, server_ip = _update_key(action)
    form = _passwords(action, password)
    form |= {"extension": extension, "server_ip": server_ip}
    return "update_phone", form | fields


def _phone_fields(action: Action, allowed: tuple[str, ...]) -> dict[str, str]:
    """The fields of `action.after` in the order of `allowed`; another field is a bug (a password among
    them would be sent unregistered, a key field would address another phone)."""
    given = action.after.fields
    stray = [field for field in given if field not in allowed]
    if stray:
        function = "add_phone" if action.kind == "create" else "update_phone"
        raise AliassyncError(f"phone {action.name}: the {action.kind} carries {', '.join(stray)}, not a field "
                             f"aliassync sends to {function} (a bug in the plan); nothing was sent")
    return {field: given[field] for field in allowed if field in given}


def _passwords(action: Action, password: Callable[[str, SecretRef, str], str]) -> dict[str, str]:
    secrets = action.after.secrets
    stray = [field for field in secrets if field not in SECRET_COLUMNS]
    if stray:
        raise AliassyncError(f"phone {action.name}: the {action.kind} carries {', '.join(stray)} as a password "
                             "(a bug in the plan); nothing was sent")
    return {field: password(field, secrets[field], action.name) for field in SECRET_COLUMNS if field in secrets}


def _update_key(action: Action) -> tuple[str, str]:
    """(extension, server_ip) of the phone an update is on: from `after`, else `before`; they cannot differ."""
    after, before = action.after, action.before
    extension = after.extension or (before.extension if before is not None else "")
    server_ip = after.server_ip or (before.server_ip if before is not None else "")
    if not extension or not server_ip:
        raise AliassyncError(f"phone {action.name}: the update names no extension and server_ip (a bug in the "
                             "plan); nothing was sent")
    if before is not None and (fold(before.extension), before.server_ip) != (fold(extension), server_ip):
        raise AliassyncError(f"phone {action.name}: the update would move the phone from extension "
                             f"{before.extension} on {before.server_ip} to {extension} on {server_ip}, which "
                             "update_phone cannot do (a bug in the plan); nothing was sent")
    return extension, server_ip


def _outcome_of(answer: Answer) -> WriteOutcome:
    if answer.kind == "SUCCESS":
        return WriteOutcome("success", str(answer))
    if answer.nothing_done:
        return WriteOutcome("refused", str(answer), fatal=answer.fatal, final=answer.final, sent=answer.sent,
                            settle_by_state=answer.kind == "ERROR" and answer.reason in STATE_REFUSALS)
    return WriteOutcome("unknown", str(answer))


def split_credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """`url` without its `user:pass@`, and those as basic auth (None when it has none).

    The password is registered as a secret ("API URL password"). A URL
    httpx cannot parse is returned as it is, for `_checked_url` to refuse.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url, None
    if not parsed.userinfo:
        return url, None
    redaction.register(parsed.password, "API URL password")
    return str(parsed.copy_with(userinfo=b"")), httpx.BasicAuth(parsed.username, parsed.password)


_USERINFO = re.compile(r"^(?P<scheme>[^/?#]*//)?[^/?#]*@")


def public_url(url: str) -> str:
    """The URL as it may be shown (in messages, target descriptions): no user, password, query or fragment."""
    try:
        shown = str(httpx.URL(url).copy_with(userinfo=b"", query=None, fragment=None))
    except httpx.InvalidURL:
        shown = url
    # a URL without a scheme (`user:pass@host/...`) keeps a userinfo httpx does not see as one
    return redaction.redact(_USERINFO.sub(lambda m: m["scheme"] or "", shown))


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


# Answers that echo a password, by (function, reason): how many data fields the line holds (the user
# first) and which of them are passwords. VICIdial strips every one of these fields to characters
# without `|` before it echoes them, so the place of a field in the line is certain.
_ECHOED_PASSWORDS: Mapping[tuple[str, str], tuple[int, tuple[int, ...]]] = {
    # |<user>|<extension>|<dialplan_number>|<voicemail_id>|<phone_login>|<phone_pass>|<server_ip>|<protocol>
    #   |<registration_password>|<phone_full_name>|<local_gmt>|<outbound_cid>
    ("add_phone", MISSING_FIELDS): (12, (5, 8)),
    ("update_phone", PHONE_PASS_INVALID): (2, (1,)),                 # |<user>|<phone_pass>
    ("update_phone", REGISTRATION_PASSWORD_INVALID): (2, (1,)),      # |<user>|<registration_password>
}


def _redacted(answer: Answer) -> Answer:
    """The answer as it may be shown.

    VICIdial's answers carry data (logins, names) and are left as they
    are, except where VICIdial echoes a password: the bad-login echo
    `|<user>|<pass>|BAD|` and the phone answers of `_ECHOED_PASSWORDS`
    have exactly those fields masked. What is not a VICIdial answer could
    echo anything: every registered secret is masked in it.
    """
    if answer.kind == "UNKNOWN":
        return _every_secret_masked(answer)
    if answer.reason == LOGIN_INCORRECT:
        return _password_masked(answer)
    echo = _ECHOED_PASSWORDS.get((answer.function, answer.reason))
    if echo is not None:
        return _fields_masked(answer, *echo)
    return answer


def _fields_masked(answer: Answer, size: int, places: tuple[int, ...]) -> Answer:
    """The answer with its data fields at `places` (0 is the user) masked, when the line holds exactly
    `size` data fields; an echo of another shape has every registered secret masked instead.

    An empty field stays empty: it holds no password, and it shows which required field was missing.
    """
    head, *data = answer.line.split("|")
    fields = list(answer.fields)
    if len(data) != size or any(fields[place:place + 1] != data[place:place + 1]
                                for place in places if data[place]):
        return _every_secret_masked(answer)
    for place in places:
        if data[place]:
            data[place] = fields[place] = redaction.MASK
    return replace(answer, fields=tuple(fields), line="|".join([head, *data]))


def _password_masked(answer: Answer) -> Answer:
    """`ERROR: Login incorrect, please try again: |<user>|***|BAD|`.

    The password is the field before the closing `BAD` (VICIdial strips a
    password to `[-_0-9A-Za-z]`, so it holds no `|`; a user might). An
    echo of another shape has every registered secret masked instead.
    """
    parts = answer.line.split("|")
    if len(parts) < 4 or parts[-2:] != ["BAD", ""] or answer.fields[-2:-1] != (parts[-3],):
        return _every_secret_masked(answer)
    parts[-3] = redaction.MASK
    return replace(answer, fields=answer.fields[:-2] + (redaction.MASK, answer.fields[-1]), line="|".join(parts))


def _every_secret_masked(answer: Answer) -> Answer:
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
