"""Drift: how the live system differs from the files, per alias and per phone.

Derived from the plan (the same comparison), but worded for a scheduled
job that asks "did someone change the dialer by hand?", and never acting.
Its JSON form is the plan document plus a `drift` list, so it is valid
against `schema/plan.schema.json` like every `--format json` output.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..core.model import fold, shown
from ..core.plan import Action, Plan, counted
from . import fit
from .render import PR_COMMENT_MARKER, folded, subject, subject_shown, warning_items, warning_lines

DRIFT_MARKER = PR_COMMENT_MARKER.replace("plan", "drift")


def _members(logins) -> str:
    """Members as the dialer holds them; an empty or space-padded item is quoted, never shown as nothing."""
    return ",".join(shown(login) for login in logins) or "(none)"


def _phone_entry(action: Action, replaced: set[str]) -> dict[str, Any] | None:
    """One drift entry for a phone; `replaced` holds the folded logins the plan moves."""
    def entry(status: str, detail: str) -> dict[str, Any]:
        return {**subject("phone", action.name), "status": status, "detail": detail}

    if fold(action.name) in replaced:
        if action.kind == "create":
            return None
        return entry("changed", f"at extension {action.before.extension} on {action.before.server_ip} on the "
                                "dialer, elsewhere in the files")
    if action.kind == "create":
        return entry("missing", "declared but not on the dialer")
    if action.kind == "delete":
        if action.reason == "ensure: absent":
            return entry("present", "declared ensure: absent but exists on the dialer")
        return entry("unexpected", "on the dialer but not declared (phones prune is on)")
    parts = [f"{field} {old!r} on the dialer, {new!r} in the files" for field, old, new in action.change.fields]
    parts += [f"{field} differs" for field in action.change.secrets]
    return entry("changed", "; ".join(parts))


def _entry(action: Action, replaced: dict[str, str]) -> dict[str, Any] | None:
    """One drift entry; `replaced` maps folded ids whose case differs to the declared spelling."""
    def entry(status: str, detail: str) -> dict[str, Any]:
        return {**subject("alias", action.name), "status": status, "detail": detail}

    key = fold(action.name)
    if key in replaced:
        if action.kind == "create":
            return None
        return entry("case-differs", f"the dialer spells the id {action.name}, the files {replaced[key]}")
    if action.kind == "create":
        return entry("missing", "declared but not on the dialer")
    if action.kind == "delete":
        if action.reason == "ensure: absent":
            return entry("present", "declared ensure: absent but exists on the dialer")
        return entry("unexpected",
                     f"on the dialer but not declared (prune is on): logins {_members(action.before.phone_logins)}")
    change, before, after = action.change, action.before, action.after
    parts = []
    if change.name:
        parts.append(f"alias_name {change.name[0]!r} on the dialer, {change.name[1]!r} in the files")
    if before.logins_list != after.logins_list:
        detail = f"logins {_members(before.phone_logins)} on the dialer, {_members(after.phone_logins)} in the files"
        marks = [f"+{shown(m)}" for m in change.added] + [f"-{shown(m)}" for m in change.removed]
        if change.reordered:
            marks.append("order differs")
        parts.append(f"{detail} ({', '.join(marks)})")
    return entry("changed", "; ".join(parts))


def drift_entries(plan: Plan) -> list[dict[str, Any]]:
    deleted = {fold(a.name) for a in plan.actions if a.kind == "delete" and a.resource == "alias"}
    replaced = {fold(a.name): a.name for a in plan.actions
                if a.kind == "create" and a.resource == "alias" and fold(a.name) in deleted}
    phone_deletes = {fold(a.name) for a in plan.actions if a.resource == "phone" and a.kind == "delete"}
    phones_replaced = {fold(a.name) for a in plan.actions if a.resource == "phone" and a.kind == "create"
                       and fold(a.name) in phone_deletes}
    entries = []
    for action in plan.actions:
        entry = (_phone_entry(action, phones_replaced) if action.resource == "phone"
                 else _entry(action, replaced))
        if entry:
            entries.append(entry)
    return entries


def _differ(entries: list[dict[str, Any]]) -> str:
    return f"{counted(e['resource'] for e in entries)} differ from the files"


def _in_sync(document: dict[str, Any]) -> str:
    summary = document["summary"]
    phones = summary.get("phones")
    tail = f" and {phones['in_sync']} declared phones" if phones is not None else ""
    return f"In sync: {summary['in_sync']} declared aliases{tail} match the dialer."


def render_text(document: dict[str, Any], details_url: str | None = None) -> str:
    entries = document["drift"]
    lines = [f"  {e['status']}: {subject_shown(e)}: {e['detail']}" for e in entries]
    if document["warnings"]:
        lines += ["Warnings:", *warning_lines(document)]
    lines.append(f"Drift: {_differ(entries)}." if entries else _in_sync(document))
    return "\n".join(lines) + "\n"


def _where_whole(details_url: str | None) -> str:
    if details_url:
        return f"The whole report: {details_url}"
    return ("Read the whole report with `aliassync drift --format text` on the same files, or "
            "`aliassync show FILE` on what `drift --format json` printed.")


def render_markdown(document: dict[str, Any], details_url: str | None = None) -> str:
    """The drift as one comment or issue, at most `fit.BUDGET` characters: the marker first, a table of
    what differs, the warnings; cut to fit with a note saying what was left out and where the whole is."""
    entries = document["drift"]
    head = [DRIFT_MARKER, "### aliassync drift", ""]
    warnings = fit.Part(warning_items(document), folded("Warnings", len(document["warnings"]), opened=True))
    if not entries:
        head.append(_in_sync(document))
        return fit.compose("\n".join(head) + "\n\n", [warnings], lambda shown: fit.cut_note(
            [("warnings", shown[0], len(warnings.entries))], _where_whole(details_url)))
    heading = "alias or phone" if any(e["resource"] == "phone" for e in entries) else "alias"
    head += [f"**{_differ(entries)}.**", ""]
    rows = [f"| {subject_shown(e, '`')} | {e['status']} | {e['detail'].replace('|', '/')} |" for e in entries]
    table = fit.Part(rows, lambda shown: (f"| {heading} | drift | detail |\n| --- | --- | --- |\n", "\n\n"))

    def note(shown: Sequence[int]) -> str:
        return fit.cut_note([("drift entries", shown[0], len(rows)), ("warnings", shown[1], len(warnings.entries))],
                            _where_whole(details_url))

    return fit.compose("\n".join(head) + "\n", [table, warnings], note)


RENDERERS = {"text": render_text, "markdown": render_markdown}
