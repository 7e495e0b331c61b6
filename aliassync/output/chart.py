"""The plan's dependencies as a Mermaid flowchart, which GitHub draws in a comment.

An arrow goes from an action to one that waits for it: a phone's create
to the alias that names it, an alias update to the phone delete it
allows. Steps of one object (a phone's replacement, a case change of an
id, a create then its update) are not drawn: the details say them. Gates
(every delete after every create) are the graph's, never drawn. The chart
is capped; what is not drawn is counted below it.

User text (ids, logins) reaches the chart only inside quoted labels, with
every character that is not a letter, a digit or plain punctuation
written as a Mermaid entity code (`#35;` for `#`), so no id can end a
label, start an edge, open a directive or carry HTML. (Checked once by
hand with Mermaid 11's parser, `mermaid.parse`, on charts of hostile ids;
the tests hold a strict validator of this subset instead.)
"""
from __future__ import annotations

from typing import Any

from ..core.model import fold

MAX_NODES = 30
MAX_EDGES = 40
LABEL_CHARS = 48
SAFE = frozenset(" .,:/_+=@-")


def _object(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["resource"], fold(entry["login"] if entry["resource"] == "phone" else entry["alias_id"])


def dependencies(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(action key, key of an action that waits for it) for every dependency between two objects."""
    by_key = {entry["key"]: entry for entry in document["actions"]}
    found = []
    for entry in document["actions"]:
        for key in entry["depends_on"]:
            first = by_key.get(key)
            if first is not None and _object(first) != _object(entry):
                found.append((key, entry["key"]))
    return list(dict.fromkeys(found))


def label(text: str) -> str:
    """`text` as a quoted Mermaid label: shortened, and every unsafe character an entity code."""
    if len(text) > LABEL_CHARS:
        text = text[:LABEL_CHARS - 1] + "…"
    return '"' + "".join(ch if ch.isalnum() or ch in SAFE else f"#{ord(ch)};" for ch in text) + '"'


def chart_lines(document: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The chart as markdown lines (a fenced `mermaid` block), or none when nothing waits for anything;
    `labels` names each action by its key."""
    found = dependencies(document)
    if not found:
        return []
    ids: dict[str, str] = {}
    drawn = []
    for first, then in found:
        new = [key for key in (first, then) if key not in ids]
        if len(ids) + len(new) > MAX_NODES:
            continue                  # a later arrow between actions already drawn may still fit
        for key in new:
            ids[key] = f"n{len(ids) + 1}"
        drawn.append((first, then))
        if len(drawn) == MAX_EDGES:
            break
    lines = ["Order of changes (an arrow goes from an action to one that waits for it):", "",
             "```mermaid", "flowchart LR"]
    lines += [f"    {node}[{label(labels[key])}]" for key, node in ids.items()]
    lines += [f"    {ids[first]} --> {ids[then]}" for first, then in drawn]
    lines.append("```")
    if len(drawn) < len(found):
        lines += ["", f"{len(found) - len(drawn):,} of {len(found):,} dependencies are not drawn (the chart "
                      f"shows at most {MAX_NODES} actions and {MAX_EDGES} arrows); the `after:` lines name them all."]
    return lines + [""]
