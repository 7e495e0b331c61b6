"""Aliases, the first resource kind: how a live alias compares with what an action asked.

The applier checks before each write that the row is still what the plan
saw (`same`), and after it, or after a lost answer, that it is what was
asked (`matches`); `shown` words a row for messages. Phones have the same
three in core/phone.py (see core/kinds.py).
"""
from __future__ import annotations

from .model import LiveAlias, shown as shown_text
from .plan import Action

ABSENT = "no such alias"


def matches(live: LiveAlias | None, action: Action) -> bool:
    """Whether the live row is what the action asked for."""
    if action.kind == "delete":
        return live is None
    want = action.after
    return (live is not None and live.alias_id == want.alias_id
            and live.alias_name == want.alias_name and live.logins_list == want.logins_list)


def same(live: LiveAlias | None, seen: LiveAlias | None) -> bool:
    """Whether the live row is still the one the plan saw (None: no alias)."""
    return live == seen


def shown(live: LiveAlias | None) -> str:
    if live is None:
        return ABSENT
    return f"{shown_text(live.alias_id)} name {live.alias_name!r} logins {live.logins_list!r}"


def asked(action: Action) -> str:
    if action.kind == "delete":
        return ABSENT
    want = action.after
    return f"{want.alias_id} name {want.alias_name!r} logins {want.logins_list!r}"
