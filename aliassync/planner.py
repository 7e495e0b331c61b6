"""The planner: a pure function from (desired, current) to a Plan.

It imports no I/O. Ids are matched case-insensitively, as VICIdial's
database matches them. A declared id whose case differs from the live one
is planned as a replacement (delete the live spelling, then create the
declared one), because VICIdial's API cannot rename an alias and the id's
spelling is what the files say it must be. The delete of such a pair runs
first; every other delete waits until all creates and updates succeeded.
"""
from __future__ import annotations

from collections import Counter

from . import checks
from .bulk import collector_paused
from .errors import PlanError
from .loader import matches_any
from .model import Current, Desired, DesiredAlias, LiveAlias, fold
from .plan import Action, AliasChange, AliasValues, Plan

# Gates: a dependency on every action of one kind (see graph.expand_gates).
ALL_CREATES = "all:create"
ALL_UPDATES = "all:update"


def _key(kind: str, alias_id: str) -> str:
    return f"{kind}:{fold(alias_id)}"


def _values(alias: DesiredAlias) -> AliasValues:
    return AliasValues(alias.alias_id, alias.alias_name or "", alias.phone_logins)


def differs(live: LiveAlias, want: DesiredAlias) -> bool:
    """Whether an update is needed; exact, as VICIdial stores what it is sent."""
    return live.alias_name != want.alias_name or live.logins_list != want.logins_list


def describe_change(live: LiveAlias, want: DesiredAlias) -> AliasChange:
    """Name change, members added and removed, and whether kept members moved.

    Members are compared exactly (VICIdial stores what it is sent). Added:
    the declared members not on the dialer, in declared order. Removed:
    the live items not declared, in live order, an item listed twice on
    the dialer shown twice (next to its first place). Reordered: the
    members on both sides are not in the same order.
    """
    before, after = live.phone_logins, want.phone_logins
    kept_before, kept_after = set(before), set(after)
    name = (live.alias_name, want.alias_name or "") if live.alias_name != want.alias_name else None
    added = tuple(m for m in after if m not in kept_before)
    listed = Counter(before)
    removed = tuple(m for m in listed if m not in kept_after for _ in range(listed[m]))
    order_before = [m for m in listed if m in kept_after]
    order_after = [m for m in after if m in kept_before]
    return AliasChange(name, added, removed, order_before != order_after)


@collector_paused()
def plan(desired: Desired, current: Current) -> Plan:
    """What apply must do so that the live aliases match `desired`."""
    settings = desired.settings
    declared = {fold(a.alias_id): a for a in desired.aliases}
    actions: list[Action] = []
    in_sync: list[str] = []
    refusals: list[str] = []

    for key in sorted(declared):
        want = declared[key]
        live = current.aliases.get(key)
        if not want.present:
            if live is not None:
                actions.append(Action(_key("delete", key), "delete", live.alias_id, "ensure: absent",
                                      before=live, depends_on=(ALL_CREATES, ALL_UPDATES)))
            continue
        if live is None:
            actions.append(Action(_key("create", key), "create", want.alias_id, "declared",
                                  after=_values(want)))
        elif live.alias_id != want.alias_id:
            protected = matches_any(live.alias_id, settings.protected)
            if protected:
                refusals.append(
                    f"alias {want.alias_id}: the live id is spelled {live.alias_id}; changing its case "
                    f"needs a delete, but {live.alias_id} matches protected pattern {protected!r}")
                continue
            reason = f"id case changes from {live.alias_id} to {want.alias_id}"
            delete = Action(_key("delete", key), "delete", live.alias_id, reason, before=live,
                            depends_on=(ALL_UPDATES,))
            actions.append(delete)
            actions.append(Action(_key("create", key), "create", want.alias_id, reason,
                                  after=_values(want), depends_on=(delete.key,)))
        elif differs(live, want):
            actions.append(Action(_key("update", key), "update", want.alias_id, "declared",
                                  before=live, after=_values(want), change=describe_change(live, want)))
        else:
            in_sync.append(want.alias_id)
    if refusals:
        raise PlanError("; ".join(refusals))

    unmanaged, ignored, protected_ids = [], [], []
    for key in sorted(current.aliases):
        if key in declared:
            continue
        live = current.aliases[key]
        if matches_any(live.alias_id, settings.ignore):
            ignored.append(live.alias_id)
        elif not settings.prune:
            unmanaged.append(live.alias_id)
        elif matches_any(live.alias_id, settings.protected):
            protected_ids.append(live.alias_id)
        else:
            actions.append(Action(_key("delete", key), "delete", live.alias_id, "prune: not declared",
                                  before=live, depends_on=(ALL_CREATES, ALL_UPDATES)))

    actions.sort(key=_display_order)
    managed_live = len(current.aliases) - len(ignored) - len(unmanaged)
    return Plan(
        actions=tuple(actions),
        in_sync=tuple(in_sync),
        unmanaged=tuple(unmanaged),
        ignored=tuple(ignored),
        protected=tuple(protected_ids),
        warnings=checks.warnings(desired, current),
        managed_live=managed_live,
        version=current.version,
    )


_KIND_ORDER = {"delete": 0, "create": 1, "update": 1}


def _display_order(action: Action) -> tuple:
    """By alias id; a replacement shows its delete before its create."""
    return (fold(action.alias_id), _KIND_ORDER[action.kind])
