"""Phones, the second resource kind: what a declared phone is, and the fields aliassync manages.

VICIdial keys a phone by (extension, server_ip); aliases and agents refer
to it by its login, and so do the files (`phones:` is keyed by login).
The field names are the API's (add_phone / update_phone); `COLUMNS` maps
each to the `phones` column it is stored in.

Passwords are never values here: a declared password is a `SecretRef`
(an environment variable or a file), resolved only where it is compared
inside the database or sent to the API.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Literal, Mapping, Sequence

from .model import Current, Location, PhoneSettings, fold, matches_any
from .plan import Action

# The fields a phone may declare besides its key (extension, server_ip) and its passwords,
# in the order the API checks them on update (vicidial-api.md), and the column each lands in.
COLUMNS: Mapping[str, str] = {
    "local_gmt": "local_gmt",
    "email": "email",
    "phone_context": "phone_context",
    "phone_full_name": "fullname",
    "protocol": "protocol",
    "voicemail_id": "voicemail_id",
    "dialplan_number": "dialplan_number",
    "active": "active",
    "outbound_cid": "outbound_cid",
    "admin_user_group": "user_group",
    "is_webphone": "is_webphone",
    "webphone_auto_answer": "webphone_auto_answer",
    "use_external_server_ip": "use_external_server_ip",
    "on_hook_agent": "on_hook_agent",
    "template_id": "template_id",
}
# Passwords: declared only as references, compared only inside the database.
SECRET_COLUMNS: Mapping[str, str] = {"phone_pass": "pass", "registration_password": "conf_secret"}
KEY_FIELDS = ("extension", "server_ip")
# What add_phone needs (after defaults are applied); the rest it takes from the table's defaults.
REQUIRED_ON_ADD = ("extension", "server_ip", "dialplan_number", "voicemail_id", "phone_full_name", "protocol",
                   "local_gmt", "outbound_cid", "phone_pass", "registration_password")
PROTOCOLS = ("SIP", "IAX2", "Zap", "EXTERNAL")
# VICIdial's 33 time zones, written as the files must write them (vicidial-api.md).
LOCAL_GMT = ("12.75", "12.00", "11.00", "10.00", "9.50", "9.00", "8.00", "7.00", "6.50", "6.00", "5.75", "5.50",
             "5.00", "4.50", "4.00", "3.50", "3.00", "2.00", "1.00", "0.00", "-1.00", "-2.00", "-3.00", "-3.50",
             "-4.00", "-5.00", "-6.00", "-7.00", "-8.00", "-9.00", "-10.00", "-11.00", "-12.00")


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a password comes from: `{env: NAME}` or `{file: PATH}`; never the password itself."""

    source: Literal["env", "file"]
    name: str

    def __str__(self) -> str:
        return f"{{{self.source}: {self.name}}}"

    @classmethod
    def parse(cls, text: str) -> "SecretRef":
        """The reference `str()` wrote (`{env: NAME}`, `{file: PATH}`), as a saved plan holds it."""
        source, sep, name = text.removeprefix("{").removesuffix("}").partition(": ")
        if not sep or source not in ("env", "file") or not name:
            raise ValueError(f"not a password reference: {text!r}")
        return cls(source, name)


@dataclass(frozen=True, slots=True)
class DesiredPhone:
    """One phone as declared (under `phones:`, or expanded from a station).

    `fields` holds the declared fields of COLUMNS as the API takes them
    (`active` as "Y"/"N", the webphone options as "Y"/"N"/"Y_API_LAUNCH"),
    with `phone_defaults` applied; a field not in it is left as it is on the
    dialer. `secrets` maps `phone_pass` / `registration_password` to their
    references. `present=False` is a tombstone (`ensure: absent`), which
    holds no key. `station` names the station that produced the phone.
    """

    login: str
    extension: str | None
    server_ip: str | None
    fields: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    present: bool = True
    station: str | None = None
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LivePhone:
    """One `phones` row as far as aliassync manages it.

    `fields` holds the columns of COLUMNS by API field name, as stored
    (`active` as "Y"/"N"). `secrets_match` says, for each password the
    files declare for this login, whether the stored one equals it: the
    comparison runs inside the database, no password is ever read out.
    """

    login: str
    extension: str
    server_ip: str
    fields: Mapping[str, str] = field(default_factory=dict)
    secrets_match: Mapping[str, bool] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (fold(self.extension), self.server_ip)


@dataclass(frozen=True)
class PhoneValues:
    """What a phone action sends: the key, the fields, and the passwords to send (by reference).

    For a create, every declared field; for an update, only those that
    differ (update_phone writes even when nothing changes, so an update
    never carries a field that is already as declared).
    """

    login: str
    extension: str
    server_ip: str
    fields: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)


@dataclass(frozen=True)
class PhoneChange:
    """How an update changes a phone, for reviewers: field (before, after); passwords by name only."""

    fields: tuple[tuple[str, str, str], ...] = ()
    secrets: tuple[str, ...] = ()


def key_of(phone: DesiredPhone) -> tuple[str, str]:
    return (fold(phone.extension or ""), phone.server_ip or "")


def field_changes(want: DesiredPhone, live: LivePhone) -> PhoneChange:
    """The declared fields whose stored value differs (exactly: VICIdial stores what it is sent),
    and the declared passwords the database says differ (or could not compare)."""
    fields = tuple((name, live.fields.get(name, ""), value) for name, value in sorted(want.fields.items(),
                   key=lambda item: ORDER[item[0]]) if live.fields.get(name, "") != value)
    if live.login != want.login:   # the same login in other case: the files' spelling is sent (update_phone can)
        fields = (("phone_login", live.login, want.login),) + fields
    secrets = tuple(name for name in SECRET_COLUMNS if name in want.secrets
                    and not live.secrets_match.get(name, False))
    return PhoneChange(fields, secrets)


ORDER = {name: index for index, name in enumerate(COLUMNS)}


@dataclass(frozen=True)
class PhonePart:
    """The phones' share of a plan; `problems` refuse the whole plan (nothing can be written safely)."""

    actions: tuple[Action, ...] = ()
    in_sync: tuple[str, ...] = ()
    unmanaged: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    managed_live: int = 0     # live phones (rows) the files manage: not unmanaged, not ignored


def _key(kind: str, login: str, suffix: str = "") -> str:
    return f"{kind}:phone:{fold(login)}{suffix}"


def _where(phone: LivePhone | DesiredPhone) -> str:
    return f"extension {phone.extension} on {phone.server_ip}"


def _create(want: DesiredPhone, reason: str, depends_on: tuple[str, ...] = ()) -> list[Action]:
    """add_phone, and the update add_phone cannot spare: it always stores active Y."""
    fields = {name: value for name, value in want.fields.items() if name != "active"}
    values = PhoneValues(want.login, want.extension or "", want.server_ip or "", fields, dict(want.secrets))
    create = Action(_key("create", want.login), "create", want.login, reason, after=values,
                    depends_on=depends_on, resource="phone")
    if want.fields.get("active") != "N":
        return [create]
    created = LivePhone(want.login, values.extension, values.server_ip, {**fields, "active": "Y"})
    inactive = Action(_key("update", want.login), "update", want.login, "declared inactive: add_phone stores Y",
                      before=created, after=PhoneValues(want.login, values.extension, values.server_ip, {"active": "N"}),
                      change=PhoneChange((("active", "Y", "N"),)), depends_on=(create.key,), resource="phone")
    return [create, inactive]


def _delete(live: LivePhone, reason: str, suffix: str = "") -> Action:
    return Action(_key("delete", live.login, suffix), "delete", live.login, reason, before=live, resource="phone")


def plan_phones(phones: Sequence[DesiredPhone], settings: PhoneSettings, current: Current) -> PhonePart:
    """What makes the live phones match the declared ones (pure; see the module doc).

    A declared phone that does not exist is created (add_phone, then an
    update if it is declared inactive); one whose key (extension,
    server_ip) changed is replaced (the delete first: neither can be
    updated); otherwise only the declared fields that differ are updated,
    or nothing. Live phones not declared are deleted only with
    `settings.phones.prune`, never when ignored or protected.
    """
    declared = {fold(p.login): p for p in phones}
    rows = current.phone_rows or {}
    at_key = {live.key: live for lives in rows.values() for live in lives}
    actions: list[Action] = []
    in_sync: list[str] = []
    problems: list[str] = []
    for login in sorted(declared):
        want = declared[login]
        lives = rows.get(login, ())
        made = len(actions)
        if not want.present:
            for n, live in enumerate(lives):
                actions.append(_delete(live, "ensure: absent", f"#{n + 1}" if len(lives) > 1 else ""))
            continue
        found = _refusal(want, lives, at_key, current)
        if found:
            problems.append(found)
            continue
        live = lives[0] if lives else None
        if live is None:
            missing = [f for f in REQUIRED_ON_ADD if f not in want.fields and f not in want.secrets
                       and f not in KEY_FIELDS]
            if missing:
                problems.append(f"phone {want.login}: not on the dialer, and creating it needs "
                                f"{', '.join(missing)} (declare them, or set them in phone_defaults)")
                continue
            actions.extend(_create(want, "declared"))
        elif live.key != key_of(want):
            reason = f"moves from {_where(live)} to {_where(want)}: neither can be updated"
            delete = _delete(live, reason)
            actions.append(delete)
            actions.extend(_create(want, reason, depends_on=(delete.key,)))
        else:
            change = field_changes(want, live)
            if change.fields or change.secrets:
                after = PhoneValues(want.login, live.extension, live.server_ip,
                                    {name: value for name, _, value in change.fields},
                                    {name: want.secrets[name] for name in change.secrets})
                actions.append(Action(_key("update", want.login), "update", want.login, "declared", before=live,
                                      after=after, change=change, resource="phone"))
            else:
                in_sync.append(want.login)
        problems.extend(unknown for action in actions[made:] if (unknown := unknown_references(action, current)))

    unmanaged, ignored, protected = [], [], []
    for login in sorted(rows):
        if login in declared:
            continue
        lives = rows[login]
        name = lives[0].login
        if matches_any(name, settings.ignore):
            ignored.append(name)
        elif not settings.prune:
            unmanaged.append(name)
        elif matches_any(name, settings.protected):
            protected.append(name)
        else:
            for n, live in enumerate(lives):
                actions.append(_delete(live, "prune: not declared", f"#{n + 1}" if len(lives) > 1 else ""))
    left_alone = {fold(login) for login in unmanaged + ignored}
    managed_live = sum(len(lives) for login, lives in rows.items() if login not in left_alone)
    return PhonePart(tuple(actions), tuple(in_sync), tuple(unmanaged), tuple(ignored), tuple(protected),
                     tuple(problems), managed_live)


def _refusal(want: DesiredPhone, lives: tuple[LivePhone, ...], at_key: Mapping[tuple[str, str], LivePhone],
             current: Current) -> str | None:
    """Why the phone cannot be planned safely, or None (VICIdial checks little of this on update)."""
    login = want.login
    if len(lives) > 1:
        held = "; ".join(_where(live) for live in lives)
        return (f"phone {login}: {len(lives)} phones hold this login on the dialer ({held}); which one the files "
                "mean cannot be told: remove the others by hand")
    alias = current.aliases.get(fold(login))
    if alias is not None:
        return (f"phone {login}: the dialer has an alias {alias.alias_id}; agents typing {login} would reach the "
                "alias, not the phone (VICIdial looks aliases up first)")
    if current.servers and want.server_ip not in current.servers:
        return f"phone {login}: server_ip {want.server_ip} is not one of VICIdial's servers"
    occupant = at_key.get(key_of(want))
    if occupant is not None and fold(occupant.login) != fold(login):
        return (f"phone {login}: {_where(want)} is phone {occupant.login} on the dialer; VICIdial keys phones "
                "by extension and server, so it cannot hold both")
    if lives and lives[0].login != login and lives[0].key != key_of(want):
        live = lives[0]
        return (f"phone {login}: the dialer has phone {live.login} on {_where(live)} (logins compare "
                f"case-insensitively); declare it as {live.login} to move it, or remove it by hand")
    return None


def unknown_references(action: Action, current: Current) -> str | None:
    """Why a phone action names a server or a conf template the dialer does not have, or None.

    VICIdial refuses both (SERVER DOES NOT EXIST, TEMPLATE ID DOES NOT EXIST) without writing, but
    only when that call comes: checked before the first write, a run never stops half done for it.
    Unknown when not read (`current.servers` empty, `current.templates` None).
    """
    if action.resource != "phone" or action.after is None:
        return None
    sent = action.after
    if action.kind == "create" and current.servers and sent.server_ip not in current.servers:
        return f"phone {action.name}: server_ip {sent.server_ip} is not one of VICIdial's servers"
    template = sent.fields.get("template_id")
    if template and current.templates is not None and fold(template) not in current.templates:
        return (f"phone {action.name}: template_id {template} is not one of VICIdial's conf templates "
                "(vicidial_conf_templates)")
    return None


def link(alias_actions: Sequence[Action], phone_actions: Sequence[Action], current: Current
         ) -> tuple[tuple[Action, ...], tuple[Action, ...], tuple[str, ...]]:
    """One dependency graph for both kinds: (alias actions, phone actions, problems).

    - an alias create or update that names a phone being created waits for that create;
    - a phone delete that is not half of a replacement waits for every alias update or
      delete that drops the phone, and is refused while an alias that stays would still
      list it (VICIdial checks no alias when a phone is deleted);
    - a replacement keeps its login, so the aliases naming it need no change: they wait
      for the new phone's create when they are written in the same run.
    """
    creates = {fold(a.name): a.key for a in phone_actions if a.kind == "create"}
    linked_aliases = []
    for action in alias_actions:
        names = action.after.phone_logins if action.after is not None else ()
        waits = tuple(creates[fold(login)] for login in names if fold(login) in creates)
        if waits:
            action = replace(action, depends_on=tuple(dict.fromkeys(action.depends_on + waits)))
        linked_aliases.append(action)

    final: dict[str, tuple[str, ...]] = {key: live.phone_logins for key, live in current.aliases.items()}
    for action in linked_aliases:
        final[fold(action.name)] = action.after.phone_logins if action.after is not None else ()
    problems: list[str] = []
    linked_phones = []
    # Who lists a login, indexed once at the first delete (not a scan of every alias per delete,
    # nor for a plan that deletes no phone): the aliases as they will be, and the alias actions
    # whose before lists it, in plan order.
    listed: tuple[dict[str, list[str]], dict[str, list[str]]] | None = None
    for action in phone_actions:
        login = fold(action.name)
        if action.kind == "delete" and login not in creates:
            if listed is None:
                listed = (_listing(final.items()),
                          _listing((a.key, a.before.phone_logins) for a in linked_aliases if a.before is not None))
            kept_in, dropped_by = listed
            keeping = sorted(current.aliases[key].alias_id if key in current.aliases else key
                             for key in kept_in.get(login, ()))
            if keeping:
                problems.append(f"phone {action.name}: deleting it would leave alias(es) {', '.join(keeping)} "
                                "listing it; drop it from them first (in the files)")
            dropping = tuple(dropped_by.get(login, ()))
            if dropping:
                action = replace(action, depends_on=tuple(dict.fromkeys(action.depends_on + dropping)))
        linked_phones.append(action)
    return tuple(linked_aliases), tuple(linked_phones), tuple(problems)


def _listing(owners: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, list[str]]:
    """Folded login -> the owners (in the order given) whose logins list it, each owner once."""
    listing: dict[str, list[str]] = {}
    for owner, logins in owners:
        for login in {fold(m) for m in logins}:
            listing.setdefault(login, []).append(owner)
    return listing


# ------------------------------------------------------------------ how the applier checks a phone

ABSENT = "no such phone"


def action_key(action: Action) -> tuple[str, str]:
    """The key (folded extension, server_ip) of the row a phone action is about: the row the plan saw
    (an update, a delete; a create's follow-up update: the row the create makes), or for a create
    where it will be."""
    where = action.before if action.before is not None else action.after
    return (fold(where.extension), where.server_ip)


def by_login(phones: Iterable[LivePhone]) -> dict[str, tuple[LivePhone, ...]]:
    """Phones by folded login, as every reader returns them; the phones sharing a login (VICIdial does
    not forbid it) in a fixed order: by server, then extension."""
    grouped: dict[str, list[LivePhone]] = {}
    for phone in phones:
        grouped.setdefault(fold(phone.login), []).append(phone)
    return {login: tuple(group) if len(group) == 1 else
            tuple(sorted(group, key=lambda p: (p.server_ip, fold(p.extension), p.extension)))
            for login, group in grouped.items()}


def at_key(rows: Sequence[LivePhone], extension: str, server_ip: str) -> LivePhone | None:
    """The one of `rows` (a login's phones: it may be held twice) at (extension, server_ip), or None."""
    key = (fold(extension), server_ip)
    return next((row for row in rows if row.key == key), None)


def row_for(action: Action, rows: Sequence[LivePhone]) -> LivePhone | None:
    """The row of the login `rows` the action is about: the one at its key."""
    return at_key(rows, *action_key(action))


def matches(live: LivePhone | None, action: Action) -> bool:
    """Whether the live row is what the action asked for (passwords cannot be read back)."""
    if action.kind == "delete":
        return live is None
    want = action.after
    if live is None or live.key != (fold(want.extension), want.server_ip):
        return False
    for name, value in want.fields.items():
        stored = live.login if name == "phone_login" else live.fields.get(name, "")
        if stored != value:
            return False
    return fold(live.login) == fold(want.login)


def same(live: LivePhone | None, seen: LivePhone | None) -> bool:
    """Whether the live row is still the one the plan saw: its key, login and the fields the plan
    saw (passwords aside; a row the plan expects from a create in the same run knows only those)."""
    if live is None or seen is None:
        return live is seen
    return ((live.login, live.key) == (seen.login, seen.key)
            and all(live.fields.get(name, "") == value for name, value in seen.fields.items()))


def shown(live: LivePhone | None) -> str:
    if live is None:
        return ABSENT
    fields = ", ".join(f"{name} {value!r}" for name, value in sorted(live.fields.items()))
    return f"phone {live.login} at {_where(live)}" + (f" ({fields})" if fields else "")


def asked(action: Action) -> str:
    if action.kind == "delete":
        return ABSENT
    want = action.after
    fields = ", ".join(f"{name} {value!r}" for name, value in sorted(want.fields.items()))
    return f"phone {want.login} at extension {want.extension} on {want.server_ip}" + (f" ({fields})" if fields else "")
