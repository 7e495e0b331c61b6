"""One answer of VICIdial's `non_agent_api.php`, parsed strictly.

VICIdial answers every call with HTTP 200 and one line ending in `\\n`:

    SUCCESS: <function> <REASON> - <user>|<data>
    ERROR: <function> <REASON>: |<user>|<data>
    NOTICE: <function> <REASON>: |<user>|<data>
    VERSION: <version>|BUILD: <build>|DATE: ...       (function=version)

A few refusals carry no function (`ERROR: Login incorrect, please try
again: |<user>|<pass>|BAD|`), and a bad `source` answers two ERROR lines.
The prefix and the REASON text decide what an answer means; separators
only delimit the data. Anything else is UNKNOWN: the call may or may not
have done something.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AnswerKind = Literal["SUCCESS", "ERROR", "NOTICE", "VERSION", "UNKNOWN"]

LOGIN_INCORRECT = "Login incorrect, please try again"
LOCKED_OUT = "Too many login attempts, try again in 15 minutes"
IP_BLOCKED = "Your IP Address is not allowed"
INVALID_SOURCE = "Invalid Source"
ALIAS_MISSING = "PHONE ALIAS DOES NOT EXIST"
ALIAS_EXISTS = "PHONE ALIAS ALREADY EXISTS"
MISSING_FIELDS = "YOU MUST USE ALL REQUIRED FIELDS"
NO_UPDATES = "NO UPDATES DEFINED"
PHONE_MISSING = "PHONE DOES NOT EXIST"
# add_phone / update_phone
PHONE_EXISTS = "PHONE ALREADY EXISTS ON THIS SERVER"          # add_phone: the (extension, server_ip) is taken
PHONE_LOGIN_EXISTS = "PHONE LOGIN ALREADY EXISTS"             # add_phone: a phone on any server has the login
PHONE_NOT_ON_SERVER = "PHONE DOES NOT EXIST ON THIS SERVER"   # update_phone: no phone at (extension, server_ip)
SERVER_MISSING = "SERVER DOES NOT EXIST"
LOGIN_EXISTS = "LOGIN ALREADY EXISTS"                         # update_phone's (weak) login check
TEMPLATE_MISSING = "TEMPLATE ID DOES NOT EXIST"               # ..., THIS IS AN OPTIONAL FIELD
PHONE_PASS_INVALID = "YOU MUST USE A VALID PHONE PASSWORD"    # update_phone: echoes the password sent
REGISTRATION_PASSWORD_INVALID = "YOU MUST USE A VALID REGISTRATION PASSWORD"   # ... and this one too

LOGIN_REFUSALS = frozenset({LOGIN_INCORRECT, LOCKED_OUT, IP_BLOCKED})
_PERMISSION = "USER DOES NOT HAVE PERMISSION"   # TO USE THIS FUNCTION, TO ADD PHONE ALIASES, ...
_INVALID_REQUEST = "YOU MUST USE"               # ALL REQUIRED FIELDS, A VALID ALIAS NAME, A VALID TIMEZONE
_OUT_OF_RANGE = " MUST BE "                     # update_phone: ACTIVE MUST BE Y OR N, OUTBOUND CID MUST BE ...
# Refusals that sending the same call again cannot change (the files or the dialer must change first).
_UNFIXABLE = frozenset({PHONE_MISSING, SERVER_MISSING, LOGIN_EXISTS})

_STATUS_LINE = re.compile(r"(?P<kind>SUCCESS|ERROR|NOTICE): (?P<rest>.*)")
_VERSION_LINE = re.compile(r"VERSION: (?P<version>[^|\s]+)\|BUILD: (?P<build>[^|\s]+)\|.*")
_FUNCTION = re.compile(r"[a-z][a-z0-9_]*")
_REASON_END = re.compile(r":| - |\|")


@dataclass(frozen=True)
class Answer:
    """What one API call came back with.

    `function` is empty for refusals that name none (bad login, lockout,
    IP block, bad source). `fields` are the data values after the reason,
    in order (usually the user first); a trailing `|` ends the data and
    adds no empty value. For VERSION, `fields` is (version, build).
    For UNKNOWN, `reason` says what happened and `line` holds the body
    as received (or nothing). `sent=False` means the request never left
    this process (no connection), so nothing can have been done.
    """

    kind: AnswerKind
    function: str = ""
    reason: str = ""
    fields: tuple[str, ...] = ()
    line: str = ""
    sent: bool = True

    def __str__(self) -> str:
        return self.reason if self.kind == "UNKNOWN" else self.line

    @property
    def nothing_done(self) -> bool:
        """True when it is certain that the call changed nothing."""
        if not self.sent or self.kind == "ERROR":
            return True
        return self.kind == "NOTICE" and (_is_permission(self.reason) or self.reason == NO_UPDATES)

    @property
    def fatal(self) -> bool:
        """A refusal every later call would meet too: the run must stop."""
        return self.kind in ("ERROR", "NOTICE") and (
            self.reason in LOGIN_REFUSALS
            or self.reason == INVALID_SOURCE
            or _is_permission(self.reason)
        )

    @property
    def final(self) -> bool:
        """A refusal that sending the same call again cannot change.

        Those that only tell the state (ALREADY EXISTS, PHONE DOES NOT EXIST
        ON THIS SERVER) are not final: after a lost answer they usually mean
        that the first call landed, which the state tells.
        """
        reason = self.reason
        return self.fatal or (
            self.kind == "ERROR"
            and (reason in _UNFIXABLE or reason.startswith((_INVALID_REQUEST, TEMPLATE_MISSING))
                 or _OUT_OF_RANGE in reason)
        )


def _is_permission(reason: str) -> bool:
    return reason.startswith(_PERMISSION)


def unknown(reason: str, line: str = "", sent: bool = True) -> Answer:
    """An answer of unknown outcome, described by `reason`."""
    return Answer("UNKNOWN", reason=reason, line=line, sent=sent)


def parse_answer(body: str) -> Answer:
    """Parse one response body; anything not shaped as VICIdial answers is UNKNOWN."""
    if body == "":
        return unknown("empty answer")
    lines = body.split("\n")
    if lines[-1] != "":
        return _not_an_answer(body)
    lines = lines[:-1]
    if len(lines) == 1:
        return _parse_line(lines[0]) or _not_an_answer(body)
    return _parse_invalid_source(lines) or _not_an_answer(body)


def _not_an_answer(body: str) -> Answer:
    return unknown("not a VICIdial answer", line=body)


def _parse_invalid_source(lines: list[str]) -> Answer | None:
    """The one two-line answer: `ERROR: Invalid Source - <s>` then `ERROR: Invalid Source: |<s>|`."""
    answers = [_parse_line(line) for line in lines]
    if len(answers) == 2 and all(
        a is not None and a.kind == "ERROR" and a.reason == INVALID_SOURCE for a in answers
    ):
        return answers[0]
    return None


def _parse_line(line: str) -> Answer | None:
    version = _VERSION_LINE.fullmatch(line)
    if version:
        return Answer("VERSION", "version", fields=(version["version"], version["build"]), line=line)
    status = _STATUS_LINE.fullmatch(line)
    if status is None:
        return None
    function, rest = _split_function(status["rest"])
    end = _REASON_END.search(rest)
    cut = end.start() if end else len(rest)
    reason = rest[:cut].strip()
    if not reason:
        return None
    return Answer(status["kind"], function, reason, _data_fields(rest[cut:]), line)


def _split_function(text: str) -> tuple[str, str]:
    """(`add_phone_alias`, rest) when the text starts with a function name, else ("", text)."""
    head, _, tail = text.partition(" ")
    if _FUNCTION.fullmatch(head):
        return head, tail
    return "", text


def _data_fields(data: str) -> tuple[str, ...]:
    """`- u|a|b` or `: |u|a|` -> (u, a, b) / (u, a); text before the first `|` is kept if not blank."""
    lead, *values = data.split("|")
    lead = lead.strip(" :").removeprefix("- ")
    if values and values[-1] == "":
        values.pop()
    return ((lead,) if lead else ()) + tuple(values)
