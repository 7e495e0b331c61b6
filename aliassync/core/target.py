"""The two narrow interfaces the pipeline talks to the live system through.

A real VICIdial (HTTP API + MySQL reader) and the embedded sandbox
(SQLite + in-process API emulator) both implement them; nothing above
this module knows which one it has.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Mapping, Protocol

from .model import Current, LiveAlias
from .plan import Action

OutcomeStatus = Literal["success", "refused", "unknown"]


@dataclass(frozen=True)
class WriteOutcome:
    """What a writer knows after one call.

    success: VICIdial answered SUCCESS.
    refused: VICIdial answered ERROR, or a NOTICE meaning nothing was done.
    unknown: no parseable answer (HTML page, empty body, 5xx, dropped
             connection, timeout); the write may or may not have happened.
    `fatal` means the run must stop at once (bad login, lockout, IP block).
    `final` means sending it again cannot help (PHONE DOES NOT EXIST,
    permissions): a refusal not worth a retry.
    `sent` is False when the request never left (the connection was
    refused): nothing can have been written, so sending again is safe.
    `settle_by_state` marks a refusal that only says what the state is
    (ALREADY EXISTS, DOES NOT EXIST): the applier reads the state to know
    whether the action's goal is met.
    `answer` is VICIdial's line (or a description), with secrets redacted.
    """

    status: OutcomeStatus
    answer: str
    fatal: bool = False
    final: bool = False
    sent: bool = True
    settle_by_state: bool = False


class StateReader(Protocol):
    # What to do when `delete_right` cannot tell (the refusal says it): each source has its own fix.
    delete_right_remedy: str

    def read(self) -> Current:
        """The whole live state in a fixed, small number of queries."""

    def read_aliases(self, alias_ids: Iterable[str]) -> dict[str, LiveAlias]:
        """Just these aliases (keyed by folded id), for conflict checks and read-back."""

    def read_phones(self, secrets: Mapping[str, Mapping[str, str]]) -> tuple[dict[str, tuple], frozenset[str]]:
        """Every phone in full (by folded login) and the server IPs, in a fixed number of queries;
        `secrets` (folded login -> field -> declared password) are compared inside the database."""

    def read_templates(self) -> frozenset[str] | None:
        """VICIdial's conf template ids (folded), in one query; None when they cannot be read."""

    def read_password_groups(self) -> dict[tuple[str, str, str], dict[str, tuple[int, bool]]]:
        """For export: per phone (login, extension, server_ip) and password field, (group, fits); equal
        groups mean equal passwords, compared inside the database; no password is read out."""

    def read_phone_rows(self, logins: Iterable[str]) -> dict[str, tuple]:
        """Just these phones (`core.phone.LivePhone`, keyed by folded login), for the read-back after apply."""

    def read_phone_at(self, login: str, extension: str, server_ip: str):
        """The phone of `login` at (extension, server_ip), or None: the check before and after one write."""

    def delete_right(self, user: str) -> bool | None:
        """Whether the API user may delete phones and aliases; None when it cannot be read."""

    def close(self) -> None: ...


class Writer(Protocol):
    user: str

    def version(self) -> str:
        """VICIdial's version line; also proves the API is reachable."""

    def check_access(self, functions: Mapping[str, str]) -> None:
        """Prove the login may call each function (name -> what the plan needs it for), writing nothing."""

    def write(self, action: Action) -> WriteOutcome:
        """Carry out one action with one API call."""

    def close(self) -> None: ...


@dataclass
class Target:
    """Where the live system is: a reader, and a way to make a writer.

    `make_writer` is only called by commands that write, so read-only
    commands (drift, export) get a target whose `make_writer` is None. `version`
    asks the API for VICIdial's version without logging in (None when no
    API is configured for a read-only run).
    """

    description: str
    reader: StateReader
    make_writer: Callable[[], Writer] | None
    version: Callable[[], str | None] = lambda: None

    def close(self) -> None:
        self.reader.close()
