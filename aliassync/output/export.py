"""Writes the live aliases as a desired-state file (adopting the tool).

The file is valid for `validate`, and a plan of it against the same live
state is empty. A live alias that the file format cannot hold as it is
stored (a name with a comma, a repeated or empty member, an id outside the
rules) is not exported as a declaration: it is listed in a comment with
the reason and added to `settings.ignore`, so no run ever touches it until
someone decides what it should be.

With phones (`export --phones`), the live phones are written under
`phones:` by login, with every managed field (core/phone.COLUMNS) stored
non-empty, and their passwords as references, never values: the reader
says only which phones share a password (compared inside the database), so
phones sharing one share a variable (`ALIASSYNC_PHONE_PASS_<n>`,
`ALIASSYNC_SIP_SECRET_<n>`), numbered in the order the phones appear. A
phone the format cannot hold as stored is listed with the reason and added
to `settings.phones.ignore`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

from .. import __version__
from ..core import addressing
from ..files.loader import MAX_LIST_CHARS, MIN_LIST_CHARS
from ..core.model import Current, LiveAlias, fold, shown
from ..core.phone import COLUMNS, SECRET_COLUMNS, LivePhone

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


# ------------------------------------------------------------------ phones

BOOLEANS = frozenset({"active", "webphone_auto_answer", "use_external_server_ip", "on_hook_agent"})
SECRET_VARIABLES = {"phone_pass": "ALIASSYNC_PHONE_PASS", "registration_password": "ALIASSYNC_SIP_SECRET"}
_SHOWN_LOGINS = 5   # logins named per variable in the header comment


@dataclass
class LivePhones:
    """What `export --phones` reads: the phones by folded login, the server IPs, and the password
    groups (`StateReader.read_password_groups`)."""

    rows: Mapping[str, tuple[LivePhone, ...]]
    servers: frozenset[str]
    groups: Mapping[tuple[str, str, str], Mapping[str, tuple[int, bool]]] = field(default_factory=dict)


@lru_cache(maxsize=None)
def _phone_schema() -> dict:
    from ..files.loader import DESIRED_SCHEMA, load_schema
    return load_schema(DESIRED_SCHEMA)


@lru_cache(maxsize=None)
def _fits(name: str, value: Any) -> bool:
    """Whether the schema accepts `value` for `name` (a phone field, or `phone_login`)."""
    from jsonschema import Draft202012Validator
    schema = _phone_schema()
    ref = "#/$defs/phone_login" if name == "phone_login" else f"#/$defs/phone/properties/{name}"
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": ref}).is_valid(value)


def _rule(name: str) -> str:
    defs = _phone_schema()["$defs"]
    node = defs.get(name) or defs["phone"]["properties"].get(name, {})
    return node.get("description", "the file's rule").rstrip(".")


def _phone_entry(phone: LivePhone, current: Current, servers: frozenset[str],
                 keys: Mapping[tuple[str, str], int]) -> tuple[dict[str, Any] | None, str | None]:
    """(the phone's fields as the file declares them, None) or (None, why it cannot be declared)."""
    if not _fits("phone_login", phone.login):
        return None, f"login {phone.login!r} is outside the rule ({_rule('phone_login')})"
    alias = current.aliases.get(fold(phone.login))
    if alias is not None:
        return None, f"login {phone.login!r} is also the id of alias {alias.alias_id!r}"
    if not _fits("server_ip", phone.server_ip):
        return None, f"server_ip {phone.server_ip!r} is outside the rule ({_rule('server_ip')})"
    if servers and phone.server_ip not in servers:
        return None, f"server_ip {phone.server_ip!r} is not one of VICIdial's servers"
    if not _fits("extension", phone.extension):
        return None, f"extension {phone.extension!r} is outside the rule ({_rule('extension')})"
    if keys.get((fold(phone.extension), phone.server_ip), 0) > 1:
        return None, (f"extension {phone.extension!r} on {phone.server_ip} is held by another phone too "
                      "(extensions compare case-insensitively)")
    entry: dict[str, Any] = {"extension": phone.extension, "server_ip": phone.server_ip}
    for name in COLUMNS:
        stored = phone.fields.get(name, "")
        if name in BOOLEANS:
            if stored not in ("Y", "N"):
                return None, f"{name} {stored!r} is neither Y nor N"
            entry[name] = stored == "Y"
        elif stored == "":
            continue   # stored empty: not declared, left as it is (the files cannot write empty)
        elif not _fits(name, stored):
            return None, f"{name} {stored!r} is outside the rule ({_rule(name)})"
        else:
            entry[name] = stored
    return entry, None


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _quoted(value)


def _phones_section(current: Current, live: LivePhones) -> tuple[list[str], list[str], list[str], list[str]]:
    """(declaration lines, header lines naming the variables, skipped-phone comment lines, ignore patterns)."""
    keys: dict[tuple[str, str], int] = {}
    for lives in live.rows.values():
        for phone in lives:
            key = (fold(phone.extension), phone.server_ip)
            keys[key] = keys.get(key, 0) + 1
    numbers: dict[str, dict[int, int]] = {name: {} for name in SECRET_COLUMNS}
    users: dict[str, dict[int, list[str]]] = {name: {} for name in SECRET_COLUMNS}
    declared: list[str] = []
    skipped: list[str] = []
    ignore: list[str] = []
    for login in sorted(live.rows):
        lives = live.rows[login]
        phone = lives[0]
        if len(lives) > 1:
            held = "; ".join(f"extension {p.extension!r} on {p.server_ip}" for p in lives)
            entry, reason = None, f"{len(lives)} phones hold this login ({held})"
        else:
            entry, reason = _phone_entry(phone, current, live.servers, keys)
        groups = live.groups.get((phone.login, phone.extension, phone.server_ip), {})
        if entry is not None:
            for name in SECRET_COLUMNS:
                group = groups.get(name)
                if group is None:
                    entry, reason = None, f"its {name} could not be compared (the phone changed while read)"
                    break
                if not group[1]:
                    entry, reason = None, (f"its {name} is empty or outside the rule (2 to 30 characters of "
                                           "letters, digits, '-' and '_'); the value is not shown")
                    break
        if entry is None:
            skipped.append(f"#   {phone.login!r}: {reason}")
            if phone.login and phone.login.isprintable():
                ignore.append(_glob_literal(phone.login))
            continue
        lines = [f"  {_quoted(phone.login)}:"]
        lines += [f"    {name}: {_yaml_value(value)}" for name, value in entry.items()]
        for name in SECRET_COLUMNS:
            group = groups[name][0]
            number = numbers[name].setdefault(group, len(numbers[name]) + 1)
            users[name].setdefault(number, []).append(phone.login)
            lines.append(f"    {name}: {{env: {SECRET_VARIABLES[name]}_{number}}}")
        declared.append("\n".join(lines))
    header: list[str] = []
    for name in SECRET_COLUMNS:
        for number, logins in sorted(users[name].items()):
            more = f" and {len(logins) - _SHOWN_LOGINS} more" if len(logins) > _SHOWN_LOGINS else ""
            header.append(f"#   {SECRET_VARIABLES[name]}_{number}: the {name} of "
                          f"{', '.join(logins[:_SHOWN_LOGINS])}{more}")
    return declared, header, skipped, ignore


def export_text(current: Current, source: str, phones: LivePhones | None = None) -> str:
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
    if phones is not None:
        phone_lines, variables, phones_skipped, phones_ignore = _phones_section(current, phones)
        if variables:
            at = 2   # after the first two comment lines
            lines[at:at] = (["# Phone passwords are references, never values: before validating or planning,",
                             "# set each variable below to the password the phones named already have",
                             "# (phones that share a variable share one password on the dialer):"]
                            + variables)
        lines.append("  phones:")
        lines.append("    prune: false")
        if phones_skipped:
            lines.append("    # Not exported: these live phones cannot be declared exactly as stored,")
            lines.append("    # so they are ignored until someone decides what they should be:")
            lines.extend("    " + line for line in phones_skipped)
        if phones_ignore:
            lines.append(f"    ignore: [{', '.join(_quoted(p) for p in phones_ignore)}]")
    lines.append("aliases:" if declared else "aliases: {}")
    lines.extend(declared)
    if phones is not None:
        lines.append("phones:" if phone_lines else "phones: {}")
        lines.extend(phone_lines)
    return "\n".join(lines) + "\n"
