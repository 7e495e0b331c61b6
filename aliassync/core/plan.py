"""The Plan: what apply would do, as plain values.

Actions form a dependency graph: each names the keys of the actions that
must finish (successfully) before it may run. Other resource kinds can
join the graph later by using another `resource` value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from .model import LiveAlias, shown

Kind = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class AliasValues:
    """What an alias should hold after an action."""

    alias_id: str
    alias_name: str
    phone_logins: tuple[str, ...]

    @property
    def logins_list(self) -> str:
        return ",".join(self.phone_logins)


@dataclass(frozen=True)
class AliasChange:
    """How an update changes an alias, for reviewers."""

    name: tuple[str, str] | None = None          # (before, after)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reordered: bool = False


@dataclass(frozen=True)
class Action:
    key: str
    kind: Kind
    name: str                           # what the action is on, as sent to VICIdial: the alias_id or phone login
    reason: str                         # why: declared, ensure absent, prune, id case change
    before: LiveAlias | None = None     # the live row the plan saw (None for a create)
    after: AliasValues | None = None    # what is sent (None for a delete)
    change: AliasChange | None = None   # for updates
    depends_on: tuple[str, ...] = ()
    resource: str = "alias"


@dataclass(frozen=True)
class Warning:
    """Something VICIdial accepts that will hurt agents; never blocks a plan.

    `name` is what the warning is about: an alias_id, or a phone login when `resource` is "phone".
    """

    code: str
    name: str
    message: str
    resource: str = "alias"

    def __str__(self) -> str:
        return f"{self.resource} {shown(self.name)}: {self.message}"


def counted(resources: Iterable[str]) -> str:
    """How many aliases and phones there are among `resources` ("alias" / "phone"), as messages say
    it: "2 alias(es)", "1 phone(s)", "2 alias(es) and 1 phone(s)"."""
    resources = list(resources)
    aliases, phones = resources.count("alias"), resources.count("phone")
    parts = [f"{aliases} alias(es)"] if aliases or not phones else []
    if phones:
        parts.append(f"{phones} phone(s)")
    return " and ".join(parts)


@dataclass(frozen=True)
class PhoneTally:
    """Phones a plan leaves alone, by login (the counterpart of Plan's alias lists)."""

    in_sync: tuple[str, ...] = ()
    unmanaged: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    managed_live: int = 0               # live phones the files manage (the base of max_delete_percent for phones)


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    in_sync: tuple[str, ...] = ()       # declared aliases that already match
    unmanaged: tuple[str, ...] = ()     # live, not declared, left alone (prune off)
    ignored: tuple[str, ...] = ()       # live, matching an ignore pattern
    protected: tuple[str, ...] = ()     # live, not declared, kept by a protected pattern
    unaddressable: tuple[str, ...] = () # live ids the API cannot address: never acted on
    warnings: tuple[Warning, ...] = ()
    refusals: tuple[str, ...] = ()      # why apply will refuse this plan as it stands (delete limits...)
    managed_live: int = 0               # live aliases the files manage (limits use it)
    phones: "PhoneTally | None" = None  # the phones left alone, when the files manage phones

    def count(self, kind: Kind, resource: str | None = None) -> int:
        """How many actions of `kind` (on `resource` only, if given)."""
        return sum(1 for a in self.actions if a.kind == kind and (resource is None or a.resource == resource))

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)
