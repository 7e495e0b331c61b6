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
    missing = [login for login in alias.phone_logins if fold(login) not in phones and not current.has_phone(login)]
    if missing:
        found.append(Warning("missing-phone", alias_id,
                             f"not a phone: {', '.join(missing)} (apply refuses any write of this alias)"))
    inactive = [login for login in alias.phone_logins if _inactive_after(login, current, phones)]
    if inactive:
        found.append(Warning("inactive-member", alias_id,
                             f"inactive phone: {', '.join(inactive)} (agents picked for it cannot log in)"))
    if _password_count(alias.phone_logins, current, phones) > 1:
        found.append(Warning("mixed-passwords", alias_id,
                             "member phones do not all share one password; agent logins will fail at random"))
    return found


def _inactive_after(login: str, current: Current, phones: dict) -> bool:
    """Whether the member will be inactive once applied: as declared, else as it is on the dialer."""
    want = phones.get(fold(login))
    if want is not None and "active" in want.fields:
        return want.fields["active"] == "N"
    live = current.phones.get(fold(login), ())
    return bool(live) and not any(p.active for p in live)


def _password_count(logins: tuple[str, ...], current: Current, phones: dict) -> int:
    """How many different phone passwords the members will hold once applied (at most: two
    references are taken as different passwords unless they are the same reference).

    A member holds its declared reference, or its stored password (a group number, equal for equal
    passwords) when it declares none. Where the database said a declared password equals the
    member's stored one, the reference and that stored group are one password: so an undeclared
    member sharing that stored password shares the declared one too."""
    parent: dict = {}

    def root(item):
        while parent.setdefault(item, item) != item:
            item = parent[item]
        return item

    for login in logins:
        key = fold(login)
        stored = [("stored", p.pass_group) for p in current.phones.get(key, ())]
        want = phones.get(key)
        ref = want.secrets.get("phone_pass") if want is not None else None
        if ref is None:
            for group in stored:
                root(group)
            continue
        root(("declared", ref))
        rows = (current.phone_rows or {}).get(key, ())
        if stored and rows and all(row.secrets_match.get("phone_pass") for row in rows):
            for group in stored:
                parent[root(group)] = root(("declared", ref))
    return len({root(item) for item in list(parent)})


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
