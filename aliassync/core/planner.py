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
from dataclasses import replace

from . import addressing, checks, refusals
from ..bulk import collector_paused
from ..errors import PlanError
from .model import Current, Desired, DesiredAlias, LiveAlias, fold, shown, matches_any
from .phone import link, plan_phones
from .plan import Action, AliasChange, AliasValues, PhoneTally, Plan, Warning

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
    """What apply must do so that the live aliases match `desired`.

    A live alias the API cannot address exactly (see addressing.py) is
    never acted on: it is reported, and counts neither as managed nor
    towards prune.
    """
    settings = desired.settings
    phones_managed = bool(desired.phones) or settings.phones.prune
    if phones_managed and current.phone_rows is None:
        raise PlanError(f"{len(desired.phones)} phone(s) are declared (phones: or stations:), but the live phones "
                        "were not read")
    declared = {fold(a.alias_id): a for a in desired.aliases}
    actions: list[Action] = []
    in_sync: list[str] = []
    problems: list[str] = []

    unreachable = {key: reason for key, live in current.aliases.items()
                   if (reason := addressing.unaddressable(live.alias_id))}
    padded = {addressing.collation_key(current.aliases[key].alias_id): current.aliases[key].alias_id
              for key in unreachable}

    for key in sorted(declared):
        want = declared[key]
        live = current.aliases.get(key)
        if live is None and key in padded:
            problems.append(
                f"alias {want.alias_id}: the dialer holds alias {shown(padded[key])}, which VICIdial's database "
                f"takes for the same id and its API cannot address; rename or delete it on the dialer by hand")
            continue
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
                problems.append(
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
    if problems:
        raise PlanError("; ".join(problems))

    unmanaged, ignored, protected_ids, unaddressable = [], [], [], []
    for key in sorted(current.aliases):
        if key in declared:
            continue
        live = current.aliases[key]
        if key in unreachable:
            unaddressable.append(live.alias_id)
        elif matches_any(live.alias_id, settings.ignore):
            ignored.append(live.alias_id)
        elif not settings.prune:
            unmanaged.append(live.alias_id)
        elif matches_any(live.alias_id, settings.protected):
            protected_ids.append(live.alias_id)
        else:
            actions.append(Action(_key("delete", key), "delete", live.alias_id, "prune: not declared",
                                  before=live, depends_on=(ALL_CREATES, ALL_UPDATES)))

    actions.sort(key=_display_order)
    managed_live = len(current.aliases) - len(ignored) - len(unmanaged) - len(unaddressable)
    result = Plan(
        actions=tuple(actions),
        in_sync=tuple(in_sync),
        unmanaged=tuple(unmanaged),
        ignored=tuple(ignored),
        protected=tuple(protected_ids),
        unaddressable=tuple(unaddressable),
        managed_live=managed_live,
    )
    if phones_managed:
        result = _with_phones(result, desired, current)
    found = checks.warnings(desired, current)
    found += tuple(Warning("unaddressable", alias_id, unreachable[fold(alias_id)]) for alias_id in unaddressable)
    found += _in_use_warnings(result, current)
    refused = refusals.reasons(result, current, settings.max_deletes, settings.max_delete_percent)
    return replace(result, warnings=found, refusals=refused)


def _with_phones(result: Plan, desired: Desired, current: Current) -> Plan:
    """The phones' actions joined to the aliases' in one dependency graph (see core/phone.py)."""
    part = plan_phones(desired.phones, desired.settings.phones, current)
    aliases, phones, problems = link(result.actions, part.actions, current)
    problems = part.problems + problems
    if problems:
        raise PlanError("; ".join(problems))
    # a phone's create that waits for a phone delete is the second half of its replacement
    replaced = frozenset(fold(a.name) for a in phones if a.kind == "create"
                         and any(key.startswith("delete:phone:") for key in a.depends_on))
    actions = sorted(aliases + phones, key=lambda action: _display_order(action, replaced))
    tally = PhoneTally(part.in_sync, part.unmanaged, part.ignored, part.protected, part.managed_live)
    return replace(result, actions=tuple(actions), phones=tally)


def _in_use_warnings(result: Plan, current: Current) -> tuple[Warning, ...]:
    users_of = refusals.in_use(result, current)
    if users_of is None:
        return tuple(Warning("agents-unchecked", a.name,
                             "deleted, but whether agents log in with it cannot be checked "
                             "(vicidial_users.phone_login could not be read)", a.resource)
                     for a in refusals.guarded_deletes(result))
    return tuple(Warning("in-use", a.name,
                         f"deleted, but it is the default phone login of user(s) {', '.join(users)}: "
                         f"they could no longer log in with it (apply refuses without {refusals.ALLOW_IN_USE})",
                         a.resource)
                 for a, users in users_of)


def _display_order(action: Action, replaced: frozenset[str] = frozenset()) -> tuple:
    """Phones to create or change first (with the delete half of a phone's replacement, `replaced`
    holding their folded logins), then aliases, then phones to delete, as the graph will mostly run
    them; by id within each. Actions on one name keep the order they were planned in (the sort is
    stable): a replacement's delete before its create, a create before its follow-up update."""
    if action.resource == "phone":
        group = 2 if action.kind == "delete" and fold(action.name) not in replaced else 0
    else:
        group = 1
    return (group, fold(action.name))