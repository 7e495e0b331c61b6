"""The errors a user can meet, each rendered once at the top as one line.

Every class carries what the user needs to act (file:line:column, the
alias, VICIdial's answer). Anything that is not an `AliassyncError` is a
bug and is shown as one.
"""
from __future__ import annotations

from dataclasses import dataclass

from .core.model import Location


class AliassyncError(Exception):
    """Base of every user-facing error; `str()` is the one line shown."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a desired-state file."""

    location: Location | None
    message: str
    source: str = ""

    def __str__(self) -> str:
        where = str(self.location) if self.location else self.source
        return f"{where}: {self.message}" if where else self.message


class LoadError(AliassyncError):
    """The desired-state files are invalid; holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class ConfigError(AliassyncError):
    """The run is missing a setting (target URL, credentials) or has a bad one."""


class TargetError(AliassyncError):
    """The live system could not be read or reached."""


class ApiError(AliassyncError):
    """VICIdial refused a call in a way that stops the whole run (e.g. bad login)."""


class PlanError(AliassyncError):
    """The desired state cannot be planned against the live state as asked."""


class RefusedError(AliassyncError):
    """Apply refused before any write (missing phones, delete limits, stale plan)."""


class PlanFileError(AliassyncError):
    """A saved plan is unreadable, tampered with, or no longer applies."""
