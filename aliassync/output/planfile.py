"""Saved plans: apply exactly what was reviewed, or nothing.

`plan --out PLAN` writes one JSON file holding the plan document, the
tool version, the target it was made against, a hash of the desired
files, the settings that limit deletes, and a fingerprint of the live
state the plan relied on: every alias it touches (as it was) and every
phone its creates and updates name. A checksum over all of it is printed
and kept in the file, so a pipeline can pass it along and a tampered file
is refused.

`apply PLAN` reads the live state again and refuses, writing nothing,
when the fingerprint moved (someone changed a touched alias or a phone),
so a plan applied once is refused the second time. Plan files hold no
secret: the target is described by its public URLs only.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from .. import __version__
from ..errors import PlanFileError
from ..core.model import Current, LiveAlias, fold
from ..core import phone as phone_kind
from ..core.phone import LivePhone, PhoneChange, PhoneValues, SecretRef
from ..core.plan import Action, AliasChange, AliasValues, PhoneTally, Plan

FORMAT = 1
MARKER = "aliassync_plan"


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    target: str
    checksum: str
    fingerprint: dict[str, Any]
    max_deletes: int | None
    max_delete_percent: float | None
    document: dict[str, Any]
    path: str = ""                      # where it was read from


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()   # non-ASCII escaped (the default)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def desired_hash(sources: Sequence[str]) -> str:
    """One hash over the desired files' names and bytes, in load order."""
    digest = hashlib.sha256()
    for name in sources:
        with open(name, "rb") as handle:
            content = handle.read()
        digest.update(_canonical([os.path.basename(name), hashlib.sha256(content).hexdigest()]))
    return "sha256:" + digest.hexdigest()


def _alias_print(alias: LiveAlias | None) -> list[str] | None:
    return None if alias is None else [alias.alias_id, alias.alias_name, alias.logins_list]


def _phone_print(row: LivePhone) -> list[Any]:
    """A row as JSON keeps it (lists, not tuples), so a saved print compares equal to a fresh one."""
    return [row.login, row.extension, row.server_ip, [list(item) for item in sorted(row.fields.items())]]


def fingerprint(plan: Plan, current: Current) -> dict[str, Any]:
    """What the plan relied on, as it is in `current`: the aliases and phone rows it touches, the phones
    its aliases name (passwords are no part of it: they never leave the database)."""
    alias_actions = [a for a in plan.actions if a.resource == "alias"]
    aliases = {fold(a.name): _alias_print(current.aliases.get(fold(a.name))) for a in alias_actions}
    logins = {fold(login) for a in alias_actions if a.after for login in a.after.phone_logins}
    phones = {login: sorted([p.login, p.active] for p in current.phones.get(login, ())) or None
              for login in sorted(logins)}
    printed = {"aliases": dict(sorted(aliases.items())), "phones": phones}
    touched = sorted({fold(a.name) for a in plan.actions if a.resource == "phone"})
    if touched:
        printed["phone_rows"] = {login: sorted(_phone_print(r) for r in (current.phone_rows or {}).get(login, ())) or None
                                 for login in touched}
    return printed


def _describe(kind: str, key: str, value: Any) -> str:
    if value is None:
        return f"no {kind} {key}"
    if kind == "alias":
        return f"alias {value[0]} name {value[1]!r} logins {value[2]!r}"
    if kind == "phone row":
        return " and ".join(f"phone {login} at extension {extension} on {server_ip} with {dict(fields)}"
                            for login, extension, server_ip, fields in value)
    return " and ".join(f"phone {login} {'active' if active else 'inactive'}" for login, active in value)


def moved(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, one line per alias or phone."""
    lines = []
    for section, kind in (("aliases", "alias"), ("phones", "phone"), ("phone_rows", "phone row")):
        for key, was in saved.get(section, {}).items():
            is_now = now.get(section, {}).get(key)
            if is_now != was:
                lines.append(f"{_describe(kind, key, was)} is now {_describe(kind, key, is_now)}")
    return lines


def save(path: str, plan: Plan, current: Current, document: dict[str, Any], *, target: str,
         sources: Sequence[str], max_deletes: int | None, max_delete_percent: float | None) -> str:
    """Write the plan file atomically; returns its checksum."""
    content = {
        MARKER: FORMAT,
        "aliassync_version": __version__,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": target,
        "sources": [os.path.basename(s) for s in sources],
        "desired_hash": desired_hash(sources),
        "settings": {"max_deletes": max_deletes, "max_delete_percent": max_delete_percent},
        "fingerprint": fingerprint(plan, current),
        "plan": document,
    }
    checksum = _sha256(_canonical(content))
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".aliassync-plan-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({**content, "checksum": checksum}, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return checksum


def _plan_marker(path: str) -> bool:
    """Whether the file is a JSON object carrying the plan-file marker (in any key order)."""
    try:
        with open(path, "rb") as handle:
            if not handle.read(4096).lstrip().startswith(b"{"):
                return False
            handle.seek(0)
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and MARKER in data


def saved_plan_path(paths: Sequence[str]) -> str | None:
    """The saved plan `apply` was given, or None when its arguments are desired-state files.

    A desired-state file may be JSON too (JSON is YAML): only a JSON object
    holding the plan-file marker is a saved plan, and a saved plan is
    applied alone.
    """
    plans = [path for path in paths if os.path.isfile(path) and _plan_marker(path)]
    if not plans:
        return None
    if len(paths) > 1:
        raise PlanFileError(f"{plans[0]} is a saved plan; a saved plan is applied alone, without other files "
                            f"(aliassync apply {plans[0]})")
    return plans[0]


def _values(entry: dict[str, Any] | None, alias_id: str) -> AliasValues | None:
    if entry is None:
        return None
    return AliasValues(alias_id, entry["alias_name"], tuple(entry["phone_logins"]))


def _phone_values(side: dict[str, Any] | None, login: str) -> PhoneValues | None:
    if side is None:
        return None
    refs = {name: SecretRef.parse(text) for name, text in side.get("passwords", {}).items()}
    return PhoneValues(login, side["extension"], side["server_ip"], dict(side["fields"]), refs)


def _phone_action(entry: dict[str, Any]) -> Action:
    login, before, changes = entry["login"], entry["before"], entry["changes"]
    return Action(
        key=entry["key"], kind=entry["action"], name=login, reason=entry["reason"],
        before=None if before is None else LivePhone(login, before["extension"], before["server_ip"],
                                                     dict(before["fields"])),
        after=_phone_values(entry["after"], login),
        change=None if changes is None else PhoneChange(
            tuple((c["field"], c["before"], c["after"]) for c in changes["fields"]), tuple(changes["passwords"])),
        depends_on=tuple(entry["depends_on"]), resource="phone")


def _action(entry: dict[str, Any]) -> Action:
    if entry["resource"] == "phone":
        return _phone_action(entry)
    before = entry["before"]
    changes = entry["changes"]
    name = changes and changes["alias_name"]
    return Action(
        key=entry["key"], kind=entry["action"], name=entry["alias_id"], reason=entry["reason"],
        before=None if before is None else LiveAlias(entry["alias_id"], before["alias_name"],
                                                     ",".join(before["phone_logins"])),
        after=_values(entry["after"], entry["alias_id"]),
        change=None if changes is None else AliasChange(
            name=(name["before"], name["after"]) if name else None, added=tuple(changes["added"]),
            removed=tuple(changes["removed"]), reordered=changes["reordered"]),
        depends_on=tuple(entry["depends_on"]))


def read_json(path: str) -> Any:
    """A JSON file a run wrote (saved plan or `--format json` output), or one line saying why not."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else exc
        raise PlanFileError(f"{path}: not a readable aliassync plan file ({detail})") from None


def is_saved_plan(data: Any) -> bool:
    return isinstance(data, dict) and MARKER in data


def checked(path: str, data: Any, expected_checksum: str | None = None) -> tuple[dict[str, Any], str]:
    """A saved plan's content without its checksum, and the checksum, once both are known good:
    the file is one this format wrote, unchanged since, and the one the pipeline pinned, if it did."""
    if not isinstance(data, dict) or data.get(MARKER) != FORMAT:
        raise PlanFileError(f"{path}: not an aliassync plan file (format {FORMAT})")
    data = dict(data)
    checksum = data.pop("checksum", None)
    if checksum != _sha256(_canonical(data)):
        raise PlanFileError(f"{path}: checksum mismatch: the plan file was changed after it was written")
    if expected_checksum is not None and checksum != expected_checksum:
        raise PlanFileError(f"{path}: its checksum is {checksum}, not {expected_checksum} as --checksum asks: "
                            "this is not the plan that was reviewed; nothing written")
    return data, checksum


def load(path: str, expected_checksum: str | None = None) -> SavedPlan:
    """A saved plan, checked for integrity, for this version of the tool, and against the
    checksum the pipeline carried from the plan job (`apply --checksum`), if given."""
    data, checksum = checked(path, read_json(path), expected_checksum)
    if data["aliassync_version"] != __version__:
        raise PlanFileError(f"{path}: made by aliassync {data['aliassync_version']}, this is {__version__}; "
                            "plan again with this version")
    document = data["plan"]
    summary = document["summary"]
    phones = summary.get("phones")
    plan = Plan(actions=tuple(_action(e) for e in document["actions"]), managed_live=summary["managed_live"],
                phones=None if phones is None else PhoneTally(managed_live=phones["managed_live"]))
    settings = data["settings"]
    return SavedPlan(plan, data["target"], checksum, data["fingerprint"], settings["max_deletes"],
                     settings["max_delete_percent"], document, path)


def check_current(saved: SavedPlan, current: Current, target: str, path: str) -> None:
    """Refuse a plan made for another target, or whose live state moved since."""
    if saved.target != target:
        raise PlanFileError(f"{path}: the plan was made against {saved.target}, this run targets {target}")
    changes = moved(saved.fingerprint, fingerprint(saved.plan, current))
    if not changes:
        return
    done = all(_already(action, current) for action in saved.plan.actions)
    if done:
        raise PlanFileError(f"{path}: this plan has already been applied (the live state is what it asks); "
                            "nothing written")
    raise PlanFileError(f"{path}: the live state changed since the plan was made: {'; '.join(changes)}; "
                        "nothing written; run plan again")


def _already(action: Action, current: Current) -> bool:
    if action.resource == "phone":
        return phone_kind.matches(phone_kind.row_for(action, (current.phone_rows or {}).get(fold(action.name), ())), action)
    live = current.aliases.get(fold(action.name))
    if action.kind == "delete":
        return live is None or (live.alias_id != action.name)
    want = action.after
    return live is not None and (live.alias_id, live.alias_name, live.logins_list) == (
        want.alias_id, want.alias_name, want.logins_list)
