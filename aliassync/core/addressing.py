"""Which live aliases VICIdial's API can address exactly as the database holds them.

The API strips every character outside `[-_0-9A-Za-z]` from `alias_id`
before it looks anything up (vicidial-api.md). A live alias `sales.1`,
made by hand or by SQL, cannot be reached through the API at all: a
delete sent for it arrives as a delete of `sales1`, a different alias.
So no action is ever planned on such an id; it is reported instead.

VICIdial's collation also ignores trailing spaces (PAD SPACE): a live
`sales1 ` is the same key as `sales1` to the database, so a declared
`sales1` can neither be created next to it nor reach it.

A pure module: the planner, the checks and export use it.
"""
from __future__ import annotations

import re

from .model import fold

_NOT_KEPT = re.compile(r"[^-_0-9A-Za-z]")
MIN_ID = 2    # the API refuses a shorter alias_id (YOU MUST USE ALL REQUIRED FIELDS)


def api_form(alias_id: str) -> str:
    """The id as the API receives it after stripping."""
    return _NOT_KEPT.sub("", alias_id)


def unaddressable(alias_id: str) -> str | None:
    """Why the API cannot act on this live id exactly, or None when it can."""
    stripped = api_form(alias_id)
    if stripped == alias_id and len(alias_id) >= MIN_ID:
        return None
    odd = sorted(set(_NOT_KEPT.findall(alias_id)))
    if odd:
        shown = ", ".join(repr(c) for c in odd)
        if len(stripped) < MIN_ID:
            effect = "a call for it would be refused"
        else:
            effect = f"a call for it would act on {stripped} instead"
        return (f"the id holds {shown}, which VICIdial's API strips: {effect}; aliassync never acts on it "
                "(rename or delete it on the dialer by hand)")
    return (f"the id is shorter than {MIN_ID} characters, which VICIdial's API refuses; aliassync never acts on it "
            "(rename or delete it on the dialer by hand)")


def collation_key(alias_id: str) -> str:
    """The key VICIdial's database compares ids by: case and trailing spaces ignored."""
    return fold(alias_id.rstrip(" "))
