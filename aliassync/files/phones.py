"""Phones from the files: `phone_defaults`, `phones`, `servers`, `stations` and `settings.phones`.

The schema checks each entry's shape; this module adds what it cannot
say, each problem at its place and naming the other place where two are
involved: a phone login declared twice (case-insensitively, across files
and between `phones:` and what stations make), a login equal to an alias
id, one (extension, server_ip) twice, a station id equal to a declared
alias id, a station on a server with no letter, two servers with one
letter, files that disagree (servers, phone_defaults, settings.phones),
patterns that contradict declarations, and secret references that cannot
be read. What stations make is checked by the same rules as what is
declared.

Entries the schema refused are checked as far as they go (the load fails
anyway), so that one run reports every problem.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.model import DesiredAlias, PhoneSettings, fold, matches_any
from ..core.phone import COLUMNS, LOCAL_GMT, SECRET_COLUMNS, SecretRef
from . import secrets, stations
from .yaml_reader import Plain

BOOLEAN_FIELDS = frozenset({"active", "webphone_auto_answer", "use_external_server_ip", "on_hook_agent"})
MAX_PHONES = 200_000
MAX_LIST_CHARS = 255          # phones_alias.logins_list is VARCHAR(255)

# What a rule asks for, as messages about what a station makes say it.
_RULES = {
    "login": "a phone login is 1 to 15 characters of letters, digits, '-' and '_'",
    "dialplan_number": "a dialplan_number is 3 to 20 characters of letters, digits, '*' and '#'",
    "voicemail_id": "a voicemail_id is 2 to 10 letters and digits",
    "phone_full_name": "a phone_full_name is 2 to 30 characters of letters, digits, space, '-', '.' and '_'",
}


@dataclass(frozen=True)
class Rules:
    """The schema's whole-value patterns this module applies itself (one source of truth: the schema)."""

    login: Callable[[str], Any]
    extension: Callable[[str], Any]
    server_ip: Callable[[str], Any]
    letter: Callable[[str], Any]
    dialplan_number: Callable[[str], Any]
    voicemail_id: Callable[[str], Any]
    phone_full_name: Callable[[str], Any]
    env_name: Callable[[str], Any]

    @classmethod
    def from_schema(cls, schema: dict) -> "Rules":
        defs = schema["$defs"]

        def pattern(node: dict) -> Callable[[str], Any]:
            then = node["then"]
            return re.compile(then["pattern"] if "pattern" in then else then["allOf"][0]["pattern"]).search

        return cls(login=pattern(defs["phone_login"]), extension=pattern(defs["extension"]),
                   server_ip=pattern(defs["server_ip"]), letter=pattern(defs["server_letter"]),
                   dialplan_number=pattern(defs["dialplan_number"]), voicemail_id=pattern(defs["voicemail_id"]),
                   phone_full_name=pattern(defs["phone_full_name"]), env_name=pattern(defs["env_name"]))

    def ok(self, name: str, value: Any) -> bool:
        return isinstance(value, str) and getattr(self, name)(value) is not None

    def reference(self, value: Any) -> bool:
        """Whether the schema accepts this `{env: NAME}` / `{file: PATH}` (only those are looked up)."""
        if not isinstance(value, dict) or len(value) != 1:
            return False
        (kind, name), = value.items()
        if kind == "env":
            return self.ok("env_name", name)
        return kind == "file" and isinstance(name, str) and name != "" and name.isprintable()


@dataclass
class Made:
    """A phone (declared, or made by a station) before it becomes a DesiredPhone: where it stands."""

    login: str
    extension: str | None
    server_ip: str | None
    fields: dict[str, str]
    secrets: dict[str, SecretRef]
    present: bool
    station: str | None
    source: Any
    path: tuple                 # ("phones", login) or ("stations", id): located at the key

    def who(self) -> str:
        return f"phone {self.login}" if self.station is None else f"station {self.station}: its phone {self.login}"

    def named(self) -> str:
        return f"phone {self.login}" if self.station is None else f"phone {self.login} of station {self.station}"


@dataclass
class Collected:
    phones: list[Made] = field(default_factory=list)
    aliases: list[tuple[DesiredAlias, Any, tuple]] = field(default_factory=list)   # stations' aliases, placed
    servers: dict[str, str] = field(default_factory=dict)
    settings: PhoneSettings = PhoneSettings()


def mapping(source, key: str) -> dict:
    """The mapping under `key` at the top of a file, or {} where there is none to check."""
    data = source.data
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, SecretRef) else json.dumps(value)


def count(sources: list) -> int:
    """How many phones the files would make at most (declared, and each station on each server)."""
    servers = {ip for source in sources for ip in mapping(source, "servers")}
    total = sum(len(mapping(source, "phones")) for source in sources)
    for source in sources:
        for entry in mapping(source, "stations").values():
            listed = entry.get("servers") if isinstance(entry, dict) else None
            total += len(listed) if isinstance(listed, list) else len(servers)
    return total


class _Collector:
    def __init__(self, sources: list, rules: Rules):
        self.sources = sources
        self.rules = rules
        self.secret_problems: dict[SecretRef, str | None] = {}
        self.out = Collected()

    # ------------------------------------------------------------ values as the API takes them

    def _field(self, source, path: tuple, name: str, value: Any) -> str | SecretRef | None:
        """A field's value as DesiredPhone holds it, or None where the schema refused its shape."""
        if name in SECRET_COLUMNS:
            if not self.rules.reference(value):
                return None   # the schema refused it
            ref = secrets.reference(value, source.name)
            if ref not in self.secret_problems:
                self.secret_problems[ref] = secrets.problem(ref)
            problem = self.secret_problems[ref]
            if problem:
                source.flag(path + (name,), f"{_what(path, name)}: {problem}")
            return ref
        if name in BOOLEAN_FIELDS:
            return ("Y" if value else "N") if isinstance(value, bool) else None
        if name == "local_gmt" and isinstance(value, Plain) and value in LOCAL_GMT:
            source.flag(path + (name,), f"{_what(path, name)} {value} is a number to YAML; write it in quotes, "
                                        f'"{value}", so that it stays exactly as VICIdial lists it')
        if isinstance(value, (dict, list)) or value is None:
            return None
        return str(value)

    def _fields(self, source, path: tuple, entry: dict) -> tuple[dict[str, str], dict[str, SecretRef]]:
        fields: dict[str, str] = {}
        refs: dict[str, SecretRef] = {}
        for name, value in entry.items():
            if name in COLUMNS or name in SECRET_COLUMNS:
                converted = self._field(source, path, name, value)
                if isinstance(converted, SecretRef):
                    refs[name] = converted
                elif converted is not None:
                    fields[name] = converted
        return fields, refs

    @staticmethod
    def _in_order(*layers: dict[str, str]) -> dict[str, str]:
        """Fields merged, later layers winning, in the order of COLUMNS; `active` true unless said."""
        merged: dict[str, str] = {"active": "Y"}
        for layer in layers:
            merged.update(layer)
        return {name: merged[name] for name in COLUMNS if name in merged}

    @staticmethod
    def _secrets_in_order(*layers: dict[str, SecretRef]) -> dict[str, SecretRef]:
        merged: dict[str, SecretRef] = {}
        for layer in layers:
            merged.update(layer)
        return {name: merged[name] for name in SECRET_COLUMNS if name in merged}

    # ------------------------------------------------------------ what several files must agree on

    def servers(self) -> dict[str, tuple[str, Any]]:
        """ip -> (letter, source) from every file; the same ip with two letters, or two ips with one."""
        by_ip: dict[str, tuple[str, Any]] = {}
        by_letter: dict[str, tuple[str, Any]] = {}
        for source in self.sources:
            for ip, letter in mapping(source, "servers").items():
                if not (self.rules.ok("server_ip", ip) and self.rules.ok("letter", letter)):
                    continue
                path = ("servers", ip)
                if ip in by_ip:
                    first_letter, first_source = by_ip[ip]
                    if first_letter != letter:
                        source.flag(path, f"server {ip} has letter {letter} here but {first_letter} at {{ref}}; "
                                          "a server's letter is for good, and files must agree",
                                    ref=(first_source, path, False))
                    continue
                if letter in by_letter:
                    first_ip, first_source = by_letter[letter]
                    source.flag(path, f"server {ip} has letter {letter}, as server {first_ip} at {{ref}}; "
                                      "each server needs its own letter",
                                ref=(first_source, ("servers", first_ip), False))
                    continue
                by_ip[ip] = (letter, source)
                by_letter[letter] = (ip, source)
        ordered = stations.by_letter({ip: letter for ip, (letter, _) in by_ip.items()})
        self.out.servers = {ip: by_ip[ip][0] for ip in ordered}
        return by_ip

    def defaults(self) -> tuple[dict[str, str], dict[str, SecretRef]]:
        fields: dict[str, str] = {}
        refs: dict[str, SecretRef] = {}
        first: dict[str, tuple[Any, Any]] = {}
        for source in self.sources:
            entry = mapping(source, "phone_defaults")
            own_fields, own_refs = self._fields(source, ("phone_defaults",), entry)
            for name, value in list(own_fields.items()) + list(own_refs.items()):
                path = ("phone_defaults", name)
                if name in first:
                    first_value, first_source = first[name]
                    if first_value != value:
                        source.flag(path, f"phone_defaults.{name} is {_shown(value)} here but {_shown(first_value)} "
                                          "at {ref}; phone_defaults from several files must agree",
                                    ref=(first_source, path, False))
                    continue
                first[name] = (value, source)
                (refs if isinstance(value, SecretRef) else fields)[name] = value   # type: ignore[index]
        return fields, refs

    def settings(self) -> dict[str, Any]:
        merged: dict[str, tuple[Any, Any]] = {}
        for source in self.sources:
            settings = mapping(source, "settings").get("phones")
            if not isinstance(settings, dict):
                continue
            for key, value in settings.items():
                if key not in PhoneSettings.__dataclass_fields__ or value is None:
                    continue
                path = ("settings", "phones", key)
                if key not in merged:
                    merged[key] = (value, source)
                    continue
                first_value, first_source = merged[key]
                if first_value != value:
                    source.flag(path, f"settings.phones.{key} is {json.dumps(value)} here but {json.dumps(first_value)}"
                                      " at {ref}; settings from several files must agree",
                                ref=(first_source, path, False))
        values = {key: value for key, (value, _) in merged.items()}
        for key in ("ignore", "protected"):   # as far as the schema accepted them (else the load fails)
            patterns = values.get(key)
            if key in values:
                values[key] = tuple(p for p in patterns if isinstance(p, str)) if isinstance(patterns, list) else ()
        if not isinstance(values.get("prune", False), bool):
            values.pop("prune")
        self.out.settings = PhoneSettings(**values)
        return values

    # ------------------------------------------------------------ declared phones

    def declared(self, defaults: tuple[dict, dict], logins: dict[str, Made]) -> None:
        for source in self.sources:
            for login, entry in mapping(source, "phones").items():
                if not isinstance(login, str) or not isinstance(entry, dict):
                    continue
                path = ("phones", login)
                key = fold(login)
                if key in logins:
                    first = logins[key]
                    source.flag(path, f"phone {login} is declared twice (case-insensitively); first at {{ref}}",
                                at_key=True, ref=(first.source, first.path, True))
                    continue
                if entry.get("ensure") == "absent":
                    made = Made(login, None, None, {}, {}, False, None, source, path)
                else:
                    own_fields, own_refs = self._fields(source, path, entry)
                    extension, server_ip = entry.get("extension"), entry.get("server_ip")
                    made = Made(login, extension if self.rules.ok("extension", extension) else None,
                                server_ip if self.rules.ok("server_ip", server_ip) else None,
                                self._in_order(defaults[0], own_fields), self._secrets_in_order(defaults[1], own_refs),
                                True, None, source, path)
                logins[key] = made
                self.out.phones.append(made)

    # ------------------------------------------------------------ stations

    def stations(self, defaults: tuple[dict, dict], servers: dict[str, tuple[str, Any]],
                 alias_owner: dict[str, tuple[Any, str]], logins: dict[str, Made]) -> None:
        letters = {ip: letter for ip, (letter, _) in servers.items()}
        seen: dict[str, tuple[Any, str]] = {}
        for source in self.sources:
            for station, entry in mapping(source, "stations").items():
                if not isinstance(station, str) or not isinstance(entry, dict):
                    continue
                path = ("stations", station)
                key = fold(station)
                if key in seen:
                    first_source, first_id = seen[key]
                    source.flag(path, f"station {station} is declared twice (case-insensitively); first at {{ref}}",
                                at_key=True, ref=(first_source, ("stations", first_id), True))
                    continue
                seen[key] = (source, station)
                makes_alias = True
                if key in alias_owner:
                    alias_source, alias_id = alias_owner[key]
                    source.flag(path, f"station {station} has the id of alias {alias_id} at {{ref}} "
                                      "(case-insensitively); a station makes its own alias",
                                at_key=True, ref=(alias_source, ("aliases", alias_id), True))
                    makes_alias = False
                server_ips = self._station_servers(source, station, entry.get("servers"), letters)
                extension = entry.get("extension", station)
                if server_ips is None or not self.rules.ok("extension", extension):
                    continue
                self._expand(source, station, entry, extension, server_ips, letters, defaults, logins, makes_alias)

    def _station_servers(self, source, station: str, listed: Any, letters: dict[str, str]) -> list[str] | None:
        path = ("stations", station, "servers")
        if listed == stations.ALL:
            if not letters:
                source.flag(path, f"station {station}: servers is all, but no server is declared under servers:")
                return None
            return stations.by_letter(letters)
        if not isinstance(listed, list) or not listed:
            return None
        ips: list[str] = []
        for index, ip in enumerate(listed):
            if not self.rules.ok("server_ip", ip):
                continue
            if ip in ips:
                source.flag(path + (index,), f"station {station}: server {ip} is listed twice")
            elif ip not in letters:
                source.flag(path + (index,), f"station {station}: server {ip} is not under servers:, "
                                             "so it has no letter")
            else:
                ips.append(ip)
        return ips if len(ips) == len(listed) else None

    def _expand(self, source, station: str, entry: dict, extension: str, server_ips: list[str],
                letters: dict[str, str], defaults: tuple[dict, dict], logins: dict[str, Made],
                makes_alias: bool) -> None:
        path = ("stations", station)
        # what a station makes comes from its extension: shown there, or at the station if it has none
        at, at_key = ((path + ("extension",), False) if "extension" in entry else (path, True))
        own_fields, own_refs = self._fields(source, path, entry)
        phones = stations.expand(extension, server_ips, letters, set(entry))
        shared: dict[str, str] = {}     # what every phone of the station gets alike: told once, after the rest
        for phone in phones:
            where = f"station {station}: its phone on {phone.server_ip} (letter {phone.letter})"
            if not self.rules.login(phone.login):
                source.flag(at, f"{where} would get login {phone.login!r}; {_RULES['login']}: "
                                "use a shorter extension", at_key=at_key)
            for name, value in phone.made.items():
                if getattr(self.rules, name)(value):
                    continue
                if name == "dialplan_number":
                    how = "the extension's digits" + (", after the letter's place" if phone.letter != "a" else "")
                    source.flag(at, f"{where} would get dialplan_number {value!r} ({how}); "
                                    f"{_RULES[name]}: set dialplan_number on the station", at_key=at_key)
                else:
                    shared[name] = value
        for name, value in shared.items():
            how = " (the extension's digits)" if name == "voicemail_id" else ""
            source.flag(at, f"station {station}: its phones would get {name} {value!r}{how}; "
                            f"{_RULES[name]}: set {name} on the station", at_key=at_key)
        made_phones = []
        for phone in phones:
            made = Made(phone.login, phone.extension, phone.server_ip,
                        self._in_order(defaults[0], phone.made, own_fields),
                        self._secrets_in_order(defaults[1], own_refs), True, station, source, path)
            key = fold(phone.login)
            if key in logins:
                first = logins[key]
                source.flag(path, f"{made.who()} has the login of {first.named()} at {{ref}}; "
                                  "phone logins are unique, case-insensitively",
                            at_key=True, ref=(first.source, first.path, True))
                continue
            logins[key] = made
            made_phones.append(made)
        self.out.phones.extend(made_phones)
        alias_name = entry.get("alias_name")
        if not makes_alias or not isinstance(alias_name, str):
            return
        members = tuple(phone.login for phone in phones)
        joined = len(",".join(members))
        if joined > MAX_LIST_CHARS:
            source.flag(path, f"station {station}: its alias would list {len(members)} logins, {joined} characters "
                              f"joined with commas; VICIdial stores at most {MAX_LIST_CHARS}", at_key=True)
        self.out.aliases.append((DesiredAlias(station, alias_name, members), source, path))

    # ------------------------------------------------------------ across kinds

    def across(self, alias_owner: dict[str, tuple[Any, str]]) -> None:
        """Logins that are alias ids (of aliases that stay), and (extension, server_ip) pairs held twice.

        Looks each phone up (a file of 100,000 aliases and no phones costs nothing here)."""
        station_aliases = {fold(alias.alias_id): (f"the alias of station {alias.alias_id}", source, path)
                           for alias, source, path in self.out.aliases}

        def alias_named(login: str) -> tuple[str, Any, tuple] | None:
            key = fold(login)
            if key in alias_owner:
                source, alias_id = alias_owner[key]
                if mapping(source, "aliases")[alias_id].get("ensure") != "absent":
                    return f"alias {alias_id}", source, ("aliases", alias_id)
            return station_aliases.get(key)

        keys: dict[tuple[str, str], Made] = {}
        for phone in self.out.phones:
            if not phone.present:
                continue
            clash = alias_named(phone.login)
            if clash:
                named, source, path = clash
                phone.source.flag(phone.path, f"{phone.who()} has the login of {named} at {{ref}} "
                                              "(case-insensitively); agents typing it would get the alias, "
                                              "never this phone", at_key=True, ref=(source, path, True))
            if phone.extension is None or phone.server_ip is None:
                continue
            key = (fold(phone.extension), phone.server_ip)
            if key in keys:
                first = keys[key]
                phone.source.flag(phone.path, f"{phone.who()} has extension {phone.extension} on server "
                                              f"{phone.server_ip}, as {first.named()} at {{ref}}; VICIdial keys a "
                                              "phone by extension and server_ip (extensions case-insensitively)",
                                  at_key=True, ref=(first.source, first.path, True))
            else:
                keys[key] = phone

    def patterns(self, settings: dict[str, Any], alias_patterns: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        ignore, protect = settings.get("ignore", ()), settings.get("protected", ())
        for phone in self.out.phones:
            ignored = matches_any(phone.login, ignore)
            if ignored:
                what = f"phone {phone.login} is declared but" if phone.station is None else phone.who()
                phone.source.flag(phone.path, f"{what} matches settings.phones.ignore pattern {ignored!r}; "
                                              "an ignored phone is never touched", at_key=True)
            protected = matches_any(phone.login, protect)
            if not phone.present and protected:
                phone.source.flag(phone.path + ("ensure",),
                                  f"phone {phone.login} has ensure: absent but matches settings.phones.protected "
                                  f"pattern {protected!r}; protected phones are never deleted", at_key=True)
        alias_ignore = alias_patterns[0]
        for alias, source, path in self.out.aliases:
            ignored = matches_any(alias.alias_id, alias_ignore)
            if ignored:
                source.flag(path, f"station {alias.alias_id}: its alias matches ignore pattern {ignored!r}; "
                                  "an ignored alias is never touched", at_key=True)


def _what(path: tuple, name: str) -> str:
    """How a message names a field at `path`: `phone 100a: phone_pass`, `phone_defaults.local_gmt`."""
    if path[0] == "phones":
        return f"phone {path[1]}: {name}"
    if path[0] == "stations":
        return f"station {path[1]}: {name}"
    return f"{'.'.join(path)}.{name}"


def collect(sources: list, rules: Rules, alias_owner: dict[str, tuple[Any, str]],
            alias_settings: dict[str, Any]) -> Collected:
    """Every phone, station alias, server letter and phone setting of `sources`; problems flagged on them.

    `alias_owner`: the declared aliases, folded id -> (source, id as written)."""
    collector = _Collector(sources, rules)
    servers = collector.servers()
    defaults = collector.defaults()
    settings = collector.settings()
    logins: dict[str, Made] = {}
    collector.declared(defaults, logins)
    collector.stations(defaults, servers, alias_owner, logins)
    collector.across(alias_owner)
    alias_patterns = tuple(tuple(p for p in alias_settings.get(key, ()) if isinstance(p, str))
                           for key in ("ignore", "protected"))
    collector.patterns(settings, alias_patterns)   # type: ignore[arg-type]
    return collector.out
