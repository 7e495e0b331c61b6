"""Writes the live aliases as a desired-state file (adopting the tool).

The file is valid for `validate`, and a plan of it against the same live
state is empty. A live alias that the file format cannot hold as it is
stored (a name with a comma, a repeated or empty member, an id outside the
rules) is not exported as a declaration: it is listed in a comment with
the reason and added to `settings.ignore`, so no run ever touches it until
someone decides what it should be.
"""
from __future__ import annotations

import json
import re

from .. import __version__
from ..core import addressing
from ..files.loader import MAX_LIST_CHARS, MIN_LIST_CHARS
from ..core.model import Current, LiveAlias, fold, shown

_ID = re.compile(r"[-_0-9A-Za-z]{2,20}")
_NAME = re.compile(r"[- ._0-9A-Za-z]{2,50}")
_LOGIN = re.compile(r"[-_0-9A-Za-z]{1,15}")


def unexportable(alias: LiveAlias) -> str | None:
    """Why the alias cannot be declared exactly as stored, or None."""
    unreachable = addressing.unaddressable(alias.alias_id)
    if unreachable:
        return unreachable
    if not _ID.fullmatch(alias.alias_id):
        return f"id {alias.alias_id!r} is outside 2 to 20 characters of [-_0-9A-Za-z]"
    if not _NAME.fullmatch(alias.alias_name):
        return f"alias_name {alias.alias_name!r} is outside 2 to 50 characters of [- ._0-9A-Za-z]"
    logins = alias.phone_logins
    bad = [login for login in logins if not _LOGIN.fullmatch(login)]
    if bad:
        return f"logins_list {alias.logins_list!r} holds items that are not phone logins: {bad!r}"
    folded = [fold(login) for login in logins]
    if len(set(folded)) != len(folded):
        return f"logins_list {alias.logins_list!r} lists a login twice"
    if not MIN_LIST_CHARS <= len(alias.logins_list) <= MAX_LIST_CHARS:
        return f"logins_list {alias.logins_list!r} is not {MIN_LIST_CHARS} to {MAX_LIST_CHARS} characters"
    return None


def warnings(current: Current) -> list[str]:
    """One line per live alias the API cannot address (export lists them, declares none)."""
    return [f"alias {shown(alias.alias_id)}: {reason}" for key in sorted(current.aliases)
            if (reason := addressing.unaddressable((alias := current.aliases[key]).alias_id))]


def _glob_literal(alias_id: str) -> str:
    """A glob pattern matching exactly this id."""
    return re.sub(r"([*?\[])", r"[\1]", alias_id)


def _quoted(text: str) -> str:
    return json.dumps(text)   # a JSON string is a valid YAML double-quoted scalar


def export_text(current: Current, source: str) -> str:
    """The live aliases as the text of a desired-state file."""
    declared: list[str] = []
    skipped: list[str] = []
    ignore: list[str] = []
    for key in sorted(current.aliases):
        alias = current.aliases[key]
        reason = unexportable(alias)
        if reason:
            skipped.append(f"#   {shown(alias.alias_id)}: {reason}")
            if not addressing.unaddressable(alias.alias_id):   # aliassync never acts on those anyway
                ignore.append(_glob_literal(alias.alias_id))
            continue
        logins = ", ".join(_quoted(login) for login in alias.phone_logins)
        declared.append(f"  {_quoted(alias.alias_id)}:\n"
                        f"    alias_name: {_quoted(alias.alias_name)}\n"
                        f"    phone_logins: [{logins}]")
    lines = [
        f"# Exported by aliassync {__version__} from {source}.",
        "# Member order is significant: VICIdial uses it to pick a phone.",
        "version: 1",
        "settings:",
        "  prune: false",
    ]
    if skipped:
        lines.append("  # Not exported: these live aliases cannot be declared exactly as stored,")
        lines.append("  # so they are ignored until someone decides what they should be:")
        lines.extend("  " + line for line in skipped)
    if ignore:
        lines.append(f"  ignore: [{', '.join(_quoted(p) for p in ignore)}]")
    lines.append("aliases:" if declared else "aliases: {}")
    lines.extend(declared)
    return "\n".join(lines) + "\n"
