"""Value objects shared by every stage: desired aliases, live aliases, phones.

VICIdial's tables use a case-insensitive collation, so ids and logins are
compared through `fold()`; the spelling a user wrote is kept for display
and for what is sent.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Iterable, Mapping


def fold(text: str) -> str:
    """The key VICIdial's `_ci` collation compares by (ids are ASCII).

    Text that is already folded (numeric logins, lower-case ids) is
    returned as it is, so a key shares its string with the value it keys.
    """
    folded = text.lower()
    return text if folded == text else folded


def matches_any(alias_id: str, patterns: Iterable[str]) -> str | None:
    """The first glob pattern matching `alias_id` case-insensitively, if any."""
    folded = fold(alias_id)
    for pattern in patterns:
        if fnmatch.fnmatchcase(folded, fold(pattern)):
            return pattern
    return None


def shown(text: str) -> str:
    """A live value as messages show it: as it is, or quoted when it is empty, space-padded
    or holds a character that would not show (so `' 100a'` and `''` do not read as `100a` or nothing)."""
    if text and text.isprintable() and text.strip() == text and "," not in text:
        return text
    return repr(text)


@dataclass(frozen=True)
class Location:
    """A place in a desired-state file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class DesiredAlias:
    """One alias as declared. `present=False` is a tombstone (`ensure: absent`)."""

    alias_id: str
    alias_name: str | None
    phone_logins: tuple[str, ...]
    present: bool = True
    location: Location | None = field(default=None, compare=False)

    @property
    def logins_list(self) -> str:
        """The comma-joined member list exactly as it is sent and stored."""
        return ",".join(self.phone_logins)


@dataclass(frozen=True)
class PhoneSettings:
    """`settings.phones`: the same three as for aliases, by phone login."""

    prune: bool = False
    ignore: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    prune: bool = False
    ignore: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    max_deletes: int | None = None
    max_delete_percent: float | None = None
    phones: PhoneSettings = PhoneSettings()


@dataclass(frozen=True)
class Desired:
    """The desired state: aliases (stations' included), phones (stations' included) and the
    `servers:` letters (server_ip -> letter). Phones are `core.phone.DesiredPhone` values."""

    aliases: tuple[DesiredAlias, ...]
    settings: Settings = Settings()
    sources: tuple[str, ...] = ()
    phones: tuple = ()
    servers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveAlias:
    """One `phones_alias` row as stored; `logins_list` is kept verbatim."""

    alias_id: str
    alias_name: str
    logins_list: str

    @property
    def phone_logins(self) -> tuple[str, ...]:
        """Members as VICIdial splits them; empty items and spaces are kept."""
        if self.logins_list == "":
            return ()
        return tuple(self.logins_list.split(","))


@dataclass(frozen=True, slots=True)
class Phone:
    """One `phones` row, reduced to what aliassync needs.

    `pass_group` is equal for phones that share a password; the password
    itself is never read out of the database. Nothing else of the row is
    kept: a fleet has five phones per alias, and each column read costs
    time and memory for every one of them (see docs/performance.md).
    """

    login: str
    active: bool
    pass_group: int = 0


@dataclass(frozen=True)
class Current:
    """The live state: aliases keyed by folded id, phones by folded login.

    `phones` maps to a tuple because `phones.login` is not unique in
    VICIdial. `agent_logins` maps a folded `vicidial_users.phone_login` to
    the users whose default phone login it is (None: not readable). The
    mappings are never mutated after a reader builds them.
    """

    aliases: Mapping[str, LiveAlias]
    phones: Mapping[str, tuple[Phone, ...]]
    agent_logins: Mapping[str, tuple[str, ...]] | None = None
    # Every phone in full (`core.phone.LivePhone`, by folded login) and VICIdial's server IPs, read only
    # when the files manage phones (see core/phone.py); None: not read.
    phone_rows: Mapping[str, tuple] | None = None
    servers: frozenset[str] = frozenset()
    # VICIdial's conf template ids (folded), read only when a declared phone names one; None: not read
    # or not readable (then VICIdial's own check on add_phone / update_phone is all there is).
    templates: frozenset[str] | None = None

    @classmethod
    def build(cls, aliases, phones, agent_logins=None) -> "Current":
        """`agent_logins`: (user, phone_login) pairs from `vicidial_users`, or None when they
        could not be read (then no delete can be proven safe for agents)."""
        alias_map: dict[str, LiveAlias] = {}
        for alias in aliases:
            alias_map[fold(alias.alias_id)] = alias
        phone_map: dict[str, tuple[Phone, ...]] = {}
        for phone in phones:
            key = fold(phone.login)
            phone_map[key] = phone_map.get(key, ()) + (phone,)
        users: dict[str, tuple[str, ...]] | None = None
        if agent_logins is not None:
            users = {}
            for user, login in agent_logins:
                key = fold(login)
                users[key] = users.get(key, ()) + (user,)
        return cls(alias_map, phone_map, users)

    def has_phone(self, login: str) -> bool:
        return fold(login) in self.phones
