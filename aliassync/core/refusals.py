"""What makes apply refuse a plan before its first write, as pure functions.

The planner calls them to say in the plan that apply will refuse (so a
reviewer sees it on the pull request, not at merge); the applier calls
them again on a fresh read of the live state, with the run's overrides.
Each returns the reason as one line, or None.
"""
from __future__ import annotations

from .model import Current, fold
from .plan import Action, Plan, counted

ALLOW_IN_USE = "--allow-in-use-deletes"


def delete_limit(plan: Plan, max_deletes: int | None, max_percent: float | None,
                 allow: int | None = None) -> str | None:
    """More deletes than the settings allow, unless the run allows that many (--allow-deletes N).

    `max_deletes` counts aliases and phones together; `max_delete_percent` is each kind's deletes
    against the live objects of that kind the files manage (those not ignored nor left unmanaged)."""
    deletes = plan.count("delete")
    if deletes == 0 or (allow is not None and deletes <= allow):
        return None
    hint = f"; to allow it, run with --allow-deletes {deletes}"
    if max_deletes is not None and deletes > max_deletes:
        return f"{deletes} deletes is over max_deletes {max_deletes}{hint}"
    if max_percent is None:
        return None
    bases = [("alias", "aliases", plan.managed_live)]
    if plan.phones is not None:
        bases.append(("phone", "phones", plan.phones.managed_live))
    for resource, named_kind, managed in bases:
        count = plan.count("delete", resource)
        if count and managed:
            percent = 100.0 * count / managed
            if percent > max_percent:
                return (f"deleting {count} of the {managed} managed live {named_kind} ({percent:.1f}%) is over "
                        f"max_delete_percent {max_percent:g}{hint}")
    return None


def guarded_deletes(plan: Plan) -> list[Action]:
    """Deletes that remove an alias or a phone agents could be logging in with.

    The delete half of a replacement is not one (an alias's id-case change,
    a phone moving to another extension or server): it is created again
    under the same (case-insensitive) name, and agents' logins follow.
    """
    recreated = {(a.resource, fold(a.name)) for a in plan.actions if a.kind == "create"}
    return [a for a in plan.actions if a.kind == "delete" and (a.resource, fold(a.name)) not in recreated]


def in_use(plan: Plan, current: Current) -> list[tuple[Action, tuple[str, ...]]] | None:
    """Each guarded delete (of an alias or a phone) some agent's default phone login names, with
    those users, in plan order.

    None when the plan has such deletes and `vicidial_users` could not be read.
    """
    deletes = guarded_deletes(plan)
    if not deletes:
        return []
    if current.agent_logins is None:
        return None
    return [(a, current.agent_logins[fold(a.name)]) for a in deletes if fold(a.name) in current.agent_logins]


def named(action: Action) -> str:
    """An action's object as messages name it: the alias_id, or `phone LOGIN`."""
    return f"phone {action.name}" if action.resource == "phone" else action.name


def _users(users: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(users[:limit])
    return shown + (f" and {len(users) - limit} more" if len(users) > limit else "")


def agents_stranded(plan: Plan, current: Current, allowed: bool) -> str | None:
    """Deletes of aliases agents log in with (or that cannot be checked), unless the run allows them."""
    if allowed:
        return None
    found = in_use(plan, current)
    if found is None:
        return (f"the plan deletes {counted(a.resource for a in guarded_deletes(plan))}, but which agents log in with them cannot be checked "
                f"(vicidial_users.phone_login could not be read); grant that, or run with {ALLOW_IN_USE} "
                "to accept the risk")
    if not found:
        return None
    listed = "; ".join(f"{named(action)} (users {_users(users)})" for action, users in found)
    return (f"agents log in with {counted(a.resource for a, _ in found)} it deletes: {listed}; deleting them leaves those agents "
            f"without their default phone login; to delete them anyway, run with {ALLOW_IN_USE}")


def reasons(plan: Plan, current: Current, max_deletes: int | None, max_percent: float | None, *,
            allow_deletes: int | None = None, allow_in_use: bool = False) -> tuple[str, ...]:
    """Every reason apply would refuse the plan, given the run's overrides (none: as the plan shows them)."""
    found = (delete_limit(plan, max_deletes, max_percent, allow_deletes),
             agents_stranded(plan, current, allow_in_use))
    return tuple(reason for reason in found if reason)
