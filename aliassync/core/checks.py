"""Warnings VICIdial itself never gives: things it accepts that hurt agents.

A pure function of (desired, current). Each warning names its alias.
"""
from __future__ import annotations

from .model import Current, Desired, DesiredAlias, fold, shown, matches_any
from .plan import Warning


def _declared_warnings(alias: DesiredAlias, current: Current, phones: dict) -> list[Warning]:
    """`phones`: the declared phones by folded login; they count as the phones they will be."""
    found: list[Warning] = []
    alias_id = alias.alias_id
    if "-" in alias_id or "_" in alias_id:
        found.append(Warning("untypeable-id", alias_id,
                             "the id holds '-' or '_', which the agent screen strips: agents cannot log in with it"))
    if current.has_phone(alias_id):
        found.append(Warning("hides-phone", alias_id,
                             f"the id equals phone login {current.phones[fold(alias_id)][0].login}; "
                             "agents can no longer log in to that phone directly"))
    members = [(login, current.phones.get(fold(login), ())) for login in alias.phone_logins
               if fold(login) not in phones]
    declared = [phones[fold(login)] for login in alias.phone_logins if fold(login) in phones]
    missing = [login for login, live in members if not live]
    if missing:
        found.append(Warning("missing-phone", alias_id,
                             f"not a phone: {', '.join(missing)} (apply refuses any write of this alias)"))
    inactive = [login for login, live in members if live and not any(p.active for p in live)]
    inactive += [p.login for p in declared if p.fields.get("active") == "N"]
    if inactive:
        found.append(Warning("inactive-member", alias_id,
                             f"inactive phone: {', '.join(inactive)} (agents picked for it cannot log in)"))
    groups = {p.pass_group for _, live in members for p in live}
    groups |= {("declared", p.secrets.get("phone_pass")) for p in declared if "phone_pass" in p.secrets}
    if len(groups) > 1:
        found.append(Warning("mixed-passwords", alias_id,
                             "member phones do not all share one password; agent logins will fail at random"))
    return found


def _dangling(current: Current, ignore: tuple[str, ...]) -> list[Warning]:
    found: list[Warning] = []
    phones = current.phones
    for key in sorted(current.aliases):
        live = current.aliases[key]
        if matches_any(live.alias_id, ignore):
            continue
        gone = [m for m in live.phone_logins if fold(m) not in phones]   # has_phone, for 500,000 members
        if gone:
            found.append(Warning("dangling-member", live.alias_id,
                                 f"the live alias lists logins that are not phones: {', '.join(map(shown, gone))}"))
    return found


def warnings(desired: Desired, current: Current) -> tuple[Warning, ...]:
    found: list[Warning] = []
    phones = {fold(p.login): p for p in desired.phones if p.present}
    for alias in sorted(desired.aliases, key=lambda a: fold(a.alias_id)):
        if alias.present:
            found.extend(_declared_warnings(alias, current, phones))
    found.extend(_dangling(current, desired.settings.ignore))
    return tuple(found)
