"""Plan output: one document built from the Plan, three ways to show it.

`plan_document()` is the single view: JSON output is that document as it
is (valid against `schema/plan.schema.json`), and the text and markdown
renderers format the same document, so the three cannot disagree.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from .. import __version__
from ..core.model import shown
from ..core.plan import Action, Plan
from . import chart, fit

FORMAT_VERSION = 1
PR_COMMENT_MARKER = "<!-- aliassync-plan -->"
SYMBOL = {"create": "+", "update": "~", "delete": "-"}


def subject(resource: str, name: str) -> dict[str, str]:
    """How a JSON entry names what it is about: `resource`, then `alias_id` or, for a phone, `login`."""
    return {"resource": resource, ("login" if resource == "phone" else "alias_id"): name}


def subject_shown(entry: dict[str, Any], quote: str = "") -> str:
    """An entry's object as text shows it: the alias_id, or `phone LOGIN` (each in `quote` marks)."""
    if entry["resource"] == "phone":
        return f"phone {quote}{shown(entry['login'])}{quote}"
    return f"{quote}{shown(entry['alias_id'])}{quote}"


def _values(name: str, logins) -> dict[str, Any]:
    return {"alias_name": name, "phone_logins": list(logins)}


def _phone_side(values, refs=None) -> dict[str, Any] | None:
    """A phone row or what is sent, for JSON: key and fields; passwords by reference only, never values."""
    if values is None:
        return None
    side = {"extension": values.extension, "server_ip": values.server_ip, "fields": dict(values.fields)}
    if refs is not None:
        side["passwords"] = {name: str(ref) for name, ref in refs.items()}
    return side


def _phone_entry(action: Action) -> dict[str, Any]:
    change = action.change
    return {
        "key": action.key,
        "action": action.kind,
        "resource": "phone",
        "login": action.name,
        "reason": action.reason,
        "depends_on": list(action.depends_on),
        "before": _phone_side(action.before),
        "after": _phone_side(action.after, action.after.secrets) if action.after is not None else None,
        "changes": None if change is None else {
            "fields": [{"field": name, "before": old, "after": new} for name, old, new in change.fields],
            "passwords": list(change.secrets),
        },
    }


def _action_entry(action: Action) -> dict[str, Any]:
    if action.resource == "phone":
        return _phone_entry(action)
    before = action.before
    after = action.after
    change = action.change
    return {
        "key": action.key,
        "action": action.kind,
        "resource": action.resource,
        "alias_id": action.name,
        "reason": action.reason,
        "depends_on": list(action.depends_on),
        "before": _values(before.alias_name, before.phone_logins) if before else None,
        "after": _values(after.alias_name, after.phone_logins) if after else None,
        "changes": None if change is None else {
            "alias_name": None if change.name is None else {"before": change.name[0], "after": change.name[1]},
            "added": list(change.added),
            "removed": list(change.removed),
            "reordered": change.reordered,
        },
    }


def plan_document(plan: Plan, *, target: str = "", vicidial_version: str | None = None,
                  show_unmanaged: bool = False) -> dict[str, Any]:
    """The plan as one JSON-ready document."""
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "aliassync_version": __version__,
        "target": target,
        "vicidial_version": vicidial_version,
        "summary": {
            "create": plan.count("create"),
            "update": plan.count("update"),
            "delete": plan.count("delete"),
            "in_sync": len(plan.in_sync),
            "unmanaged": len(plan.unmanaged),
            "ignored": len(plan.ignored),
            "protected": len(plan.protected),
            "unaddressable": len(plan.unaddressable),
            "managed_live": plan.managed_live,
        },
        "actions": [_action_entry(a) for a in plan.actions],
        "warnings": [{"code": w.code, **subject(w.resource, w.name), "message": w.message} for w in plan.warnings],
        "refusals": list(plan.refusals),
    }
    if plan.phones is not None:
        tally = plan.phones
        document["summary"]["phones"] = {"in_sync": len(tally.in_sync), "unmanaged": len(tally.unmanaged),
                                         "ignored": len(tally.ignored), "protected": len(tally.protected),
                                         "managed_live": tally.managed_live}
    if show_unmanaged:
        document["unmanaged"] = list(plan.unmanaged)
        document["ignored"] = list(plan.ignored)
        document["protected"] = list(plan.protected)
        document["unaddressable"] = list(plan.unaddressable)
    return document


def headline(document: dict[str, Any]) -> str:
    """`Plan: 3 to create, ...` or `No changes. ...`: the first sentence of the summary."""
    s = document["summary"]
    if not document["actions"]:
        return ("No changes. The live aliases and phones match the files." if s.get("phones")
                else "No changes. The live aliases match the files.")
    return f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."


def summary_line(document: dict[str, Any]) -> str:
    s = document["summary"]
    head = headline(document)
    left = [f"{s['in_sync']} in sync", f"{s['unmanaged']} unmanaged", f"{s['ignored']} ignored"]
    if s["protected"]:
        left.append(f"{s['protected']} protected")
    if s.get("unaddressable"):
        left.append(f"{s['unaddressable']} unaddressable")
    line = f"{head} Left alone: {', '.join(left)}."
    phones = s.get("phones")
    if phones:
        kept = [f"{phones['in_sync']} in sync", f"{phones['unmanaged']} unmanaged", f"{phones['ignored']} ignored"]
        if phones["protected"]:
            kept.append(f"{phones['protected']} protected")
        line += f" Phones left alone: {', '.join(kept)}."
    return line


def refusal_lines(document: dict[str, Any]) -> list[str]:
    return [f"Apply will refuse: {reason}." for reason in document.get("refusals", ())]


def _logins(logins: list[str]) -> str:
    """Members as the dialer holds them: an empty or space-padded item is quoted, never shown as nothing."""
    return ", ".join(shown(login) for login in logins) if logins else "(none)"


def _phone_lines(entry: dict[str, Any]) -> list[str]:
    """A phone action for reviewers: where it is, its fields, and that a password is set or changes (never to what)."""
    before, after, changes = entry["before"], entry["after"], entry["changes"]
    where = after or before
    lines = [f"extension {where['extension']} on {where['server_ip']}"]
    if entry["action"] == "create":
        lines += [f"{name}: {value!r}" for name, value in after["fields"].items()]
        lines += [f"{name}: set from {ref}" for name, ref in after.get("passwords", {}).items()]
    elif entry["action"] == "update":
        lines += [f"{c['field']}: {c['before']!r} -> {c['after']!r}" for c in changes["fields"]]
        refs = after.get("passwords", {})
        lines += [f"{name}: changes (from {refs[name]})" for name in changes["passwords"]]
    return lines


def _detail_lines(entry: dict[str, Any]) -> list[str]:
    if entry["resource"] == "phone":
        return _phone_lines(entry)
    before, after, changes = entry["before"], entry["after"], entry["changes"]
    if entry["action"] == "create":
        return [f"alias_name:   {after['alias_name']!r}", f"phone_logins: {_logins(after['phone_logins'])}"]
    if entry["action"] == "delete":
        return [f"alias_name:   {before['alias_name']!r}", f"phone_logins: {_logins(before['phone_logins'])}"]
    lines = []
    if changes["alias_name"]:
        lines.append(f"alias_name:   {changes['alias_name']['before']!r} -> {changes['alias_name']['after']!r}")
    if before["phone_logins"] != after["phone_logins"]:
        lines.append(f"phone_logins: {_logins(before['phone_logins'])} -> {_logins(after['phone_logins'])}")
        lines.extend(f"  + {shown(login)}" for login in changes["added"])
        lines.extend(f"  - {shown(login)}" for login in changes["removed"])
        if changes["reordered"]:
            lines.append("  order of members changed (VICIdial uses the order)")
    return lines


def action_labels(document: dict[str, Any]) -> dict[str, str]:
    """Each action's key -> how text names it (`create phone 200a`, `update 200`)."""
    return {entry["key"]: f"{entry['action']} {subject_shown(entry)}" for entry in document["actions"]}


def _waits_for(entry: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """The line telling a reviewer which actions of the plan this one waits for (none: no line).
    Gates (every delete after every create and update) are the graph's, not named here."""
    named = [labels[key] for key in entry["depends_on"] if key in labels]
    return [f"after: {', '.join(named)}"] if named else []


def _heading(entry: dict[str, Any]) -> str:
    reason = entry["reason"]
    note = "" if reason == "declared" else f"  ({reason})"
    if entry["resource"] == "phone":
        return f"{SYMBOL[entry['action']]} {entry['action']} phone {entry['login']}{note}"
    return f"{SYMBOL[entry['action']]} {entry['action']} {shown(entry['alias_id'])}{note}"


def _left_alone(document: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(label, [shown(n) for n in document[label]])
            for label in ("unmanaged", "ignored", "protected", "unaddressable") if document.get(label)]


def warning_lines(document: dict[str, Any]) -> list[str]:
    return [f"  ! {'' if w['resource'] == 'phone' else 'alias '}{subject_shown(w)}: {w['message']}"
            for w in document["warnings"]]


def warning_items(document: dict[str, Any]) -> list[str]:
    """The warnings as a markdown list."""
    return [f"- {subject_shown(w, '`')}: {w['message']}" for w in document["warnings"]]


def render_text(document: dict[str, Any], details_url: str | None = None) -> str:
    out: list[str] = []
    if document["vicidial_version"] or document["target"]:
        parts = [p for p in (document["target"], document["vicidial_version"] and
                             f"VICIdial {document['vicidial_version']}") if p]
        out.append(f"Target: {' · '.join(parts)}")
        out.append("")
    labels = action_labels(document)
    for entry in document["actions"]:
        out.append(f"  {_heading(entry)}")
        out.extend(f"      {line}" for line in _detail_lines(entry) + _waits_for(entry, labels))
    if document["actions"]:
        out.append("")
    if document["warnings"]:
        out.append("Warnings:")
        out.extend(warning_lines(document))
        out.append("")
    for label, names in _left_alone(document):
        out.append(f"{label.capitalize()}: {', '.join(names)}")
    out.append(summary_line(document))
    out.extend(refusal_lines(document))
    return "\n".join(out) + "\n"


LEFT_ALONE = ("in_sync", "unmanaged", "ignored", "protected")
OPEN_DETAILS_UP_TO = 20         # a plan this small shows its details open; a larger one folded
REFUSAL_CHARS = 2_000           # a refusal naming thousands of aliases is clipped in markdown
SECTIONS = (("alias", "create", "Aliases to create"), ("alias", "update", "Aliases to update"),
            ("alias", "delete", "Aliases to delete"), ("phone", "create", "Phones to create"),
            ("phone", "update", "Phones to update"), ("phone", "delete", "Phones to delete"))


def summary_table(document: dict[str, Any]) -> list[str]:
    """Counts per kind: a row for aliases (and for phones when the files manage them or the plan
    touches one), a column per action and per way of being left alone."""
    s = document["summary"]
    counts = {(e["resource"], e["action"]): 0 for e in document["actions"]}
    for entry in document["actions"]:
        counts[(entry["resource"], entry["action"])] += 1
    columns = ["create", "update", "delete", *(c.replace("_", " ") for c in LEFT_ALONE)]
    rows = [("aliases", "alias", [s[c] for c in LEFT_ALONE])]
    phones = s.get("phones")
    if phones or any(resource == "phone" for resource, _ in counts):
        rows.append(("phones", "phone", [phones[c] if phones else 0 for c in LEFT_ALONE]))
    unaddressable = s.get("unaddressable", 0)
    if unaddressable:
        columns.append("unaddressable")
        rows = [(name, resource, [*alone, unaddressable if resource == "alias" else 0])
                for name, resource, alone in rows]
    lines = [f"| | {' | '.join(columns)} |", f"| --- |{' ---: |' * len(columns)}"]
    for name, resource, alone in rows:
        cells = [counts.get((resource, action), 0) for action in ("create", "update", "delete")] + alone
        lines.append(f"| {name} | {' | '.join(f'{n:,}' for n in cells)} |")
    return lines


def _diff_entry(entry: dict[str, Any], labels: dict[str, str]) -> str:
    """One action in a ```diff block (`!` for an update: GitHub colours `~` lines not at all)."""
    lines = [_heading(entry).replace("~ update", "! update", 1)]
    lines += [f"    {line}" for line in _detail_lines(entry) + _waits_for(entry, labels)]
    return "\n".join(lines)


def folded(title: str, total: int, opened: bool = False, body: tuple[str, str] = ("", "")
           ) -> Callable[[int], tuple[str, str]]:
    """The frame of a `<details>` section of `total` entries: `title (count)` as its summary, `body`
    (a code fence) around the entries shown; with none shown, a line saying so."""
    def frame(shown: int) -> tuple[str, str]:
        summary = f"<details{' open' if opened else ''}><summary>{title} ({fit.shown_of(shown, total)})</summary>\n\n"
        if not shown:
            return summary + "Not shown here: see the note above.", "\n\n</details>\n\n"
        return summary + body[0], body[1] + "\n\n</details>\n\n"
    return frame


def _where_whole(details_url: str | None) -> str:
    if details_url:
        return f"The whole plan: {details_url}"
    return ("Read the whole plan with `aliassync plan --format text` on the same files, or "
            "`aliassync show PLAN` for a plan saved with `--out`.")


def render_markdown(document: dict[str, Any], details_url: str | None = None) -> str:
    """The plan as one pull-request comment, at most `fit.BUDGET` characters: the marker (pipelines
    find the comment by it), a summary table, refusals, the dependency chart, then the details folded
    per kind and action, cut to fit with a note saying what was left out and where the whole is."""
    head = [PR_COMMENT_MARKER, "### aliassync plan", ""]
    if document["vicidial_version"] or document["target"]:
        head += [f"Target: `{document['target']}` · VICIdial `{document['vicidial_version']}`", ""]
    head += [f"**{headline(document)}**", "", *summary_table(document), ""]
    for line in refusal_lines(document):
        head += [f"> [!WARNING]\n> {fit.clipped(line, REFUSAL_CHARS)}", ""]
    warnings = warning_items(document)
    if warnings:
        head += [f"**Warnings: {len(warnings):,}** (listed below).", ""]
    labels = action_labels(document)
    head += chart.chart_lines(document, labels)

    opened = len(document["actions"]) <= OPEN_DETAILS_UP_TO
    parts = []
    for resource, action, title in SECTIONS:
        entries = [_diff_entry(e, labels) for e in document["actions"]
                   if e["resource"] == resource and e["action"] == action]
        parts.append(fit.Part(entries, folded(title, len(entries), opened, ("```diff\n", "\n```"))))
    parts.append(fit.Part(warnings, folded("Warnings", len(warnings), opened=True)))
    for label, names in _left_alone(document):
        parts.append(fit.Part([f"`{n}`" for n in names], folded(label.capitalize(), len(names)), joiner=", "))

    def note(shown: Sequence[int]) -> str:
        actions = len(SECTIONS)
        counts = [("actions", sum(shown[:actions]), len(document["actions"])),
                  ("warnings", shown[actions], len(warnings))]
        counts += [(f"{label} names", n, len(names)) for (label, names), n in
                   zip(_left_alone(document), shown[actions + 1:])]
        return fit.cut_note(counts, _where_whole(details_url))

    return fit.compose("\n".join(head) + "\n", parts, note)


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown}


def render(document: dict[str, Any], fmt: str, details_url: str | None = None) -> str:
    """`details_url`: where the whole plan can be read, named when the markdown has to be cut."""
    if fmt == "json":
        return render_json(document)
    return RENDERERS[fmt](document, details_url=details_url)
