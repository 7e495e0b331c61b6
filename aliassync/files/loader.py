"""Loads desired-state files into a `Desired`, or fails with every problem.

The JSON Schema in `schema/aliassync.schema.json` is the source of truth
for the shape of one file; this module adds what a schema cannot say:
ids duplicated across files (case-insensitively, as VICIdial compares),
a login listed twice in one alias, the 255-character limit of the joined
list, settings that disagree between files, and patterns that contradict
declarations. Phones, servers and stations (their expansion and their
checks across files and kinds) are in `phones.py`. Every problem names
file:line:column; all are reported in one run.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from . import phones, yaml_reader
from ..bulk import collector_paused
from .fast_accept import FastAccept
from ..errors import LoadError, Problem
from ..core.model import Desired, DesiredAlias, Location, Settings, fold, matches_any
from ..core.phone import LOCAL_GMT, DesiredPhone

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_ALIASES = 200_000
MAX_LIST_CHARS = phones.MAX_LIST_CHARS   # phones_alias.logins_list is VARCHAR(255)
MIN_LIST_CHARS = 2            # VICIdial refuses a shorter phone_logins
YAML_SUFFIXES = (".yaml", ".yml")
MAX_SHOWN = 60                # characters of a value quoted in a message
MAX_MESSAGE = 400             # characters of one problem's message
DESIRED_SCHEMA = "aliassync.schema.json"
PLACED_SECTIONS = ("phones", "stations")   # their entries keep their place in Desired (noted while reading)

def schema_path(name: str) -> Path:
    """A schema file: packaged in a wheel, or `schema/` beside the package."""
    packaged = resources.files("aliassync") / "schema" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schema" / name


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(name: str):
    from jsonschema import Draft202012Validator   # only imported when a document needs it (see fast_accept)

    return Draft202012Validator(load_schema(name))


@lru_cache(maxsize=None)
def _fast_accept() -> FastAccept:
    return FastAccept(load_schema(DESIRED_SCHEMA))


@lru_cache(maxsize=None)
def _phone_rules() -> phones.Rules:
    return phones.Rules.from_schema(load_schema(DESIRED_SCHEMA))



def collect_files(paths: Sequence[str]) -> list[str]:
    """The files named: a directory stands for its `*.yaml`/`*.yml`, sorted.

    Every entry of a directory named like a desired-state file must be one:
    a dangling link, a directory or anything else that cannot be read as a
    file is an error, never skipped (with prune on, skipping it would delete
    the aliases it declares).
    """
    files: list[str] = []
    problems: list[Problem] = []
    for given in paths:
        if os.path.isdir(given):
            try:
                entries = sorted(entry for entry in os.listdir(given) if entry.endswith(YAML_SUFFIXES))
            except OSError as exc:
                problems.append(Problem(None, f"cannot read this directory: {exc.strerror}", given))
                continue
            if not entries:
                problems.append(Problem(None, "no *.yaml or *.yml files in this directory", given))
            for entry in entries:
                _collect_file(os.path.join(given, entry), files, problems)
        elif os.path.lexists(given):
            _collect_file(given, files, problems)
        else:
            problems.append(Problem(None, "no such file or directory", given))
    if not paths:
        problems.append(Problem(None, "no desired-state file given"))
    if problems:
        raise LoadError(problems)
    return files


_NOT_A_FILE = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def _collect_file(path: str, files: list[str], problems: list[Problem]) -> None:
    """`path` added to `files` if it is a regular file (or a link to one), else the reason it is not."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.islink(path):
            problems.append(Problem(None, f"cannot read: dangling symbolic link to {_link_target(path)}", path))
        else:
            problems.append(Problem(None, f"cannot read: {exc.strerror}", path))
        return
    if stat.S_ISREG(mode):
        files.append(path)
        return
    kind = next((name for test, name in _NOT_A_FILE if test(mode)), "a special file")
    problems.append(Problem(None, f"is {kind}, not a file", path))


def _link_target(path: str) -> str:
    try:
        return _printable(os.readlink(path))
    except OSError:
        return "a missing file"


@dataclass
class _Pending:
    """A problem whose position is found after all checks, one read per file.

    `ref` points at another place the message names (as `{ref}`), such as
    the first declaration of a duplicated alias.
    """

    path: tuple
    message: str
    at_key: bool = False
    ref: tuple["_Source", tuple, bool] | None = None


@dataclass(eq=False)
class _Source:
    name: str
    text: str = ""
    data: Any = None
    pending: list[_Pending] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)     # the file could not be read
    duplicates: list[Problem] = field(default_factory=list)   # read, keeping the first of each key
    places: dict[str, dict[str, Location]] = field(default_factory=dict)   # where phones and stations stand

    def flag(self, path: tuple, message: str, at_key: bool = False,
             ref: tuple["_Source", tuple, bool] | None = None) -> None:
        self.pending.append(_Pending(path, message, at_key, ref))


def _pick(place: yaml_reader.Place, at_key: bool) -> Location:
    return place.key if at_key and place.key else place.value


def _resolve(sources: list[_Source]) -> list[Problem]:
    """Every problem with its position; each file is read again at most once."""
    wanted: dict[_Source, set[tuple]] = {}
    for source in sources:
        for item in source.pending:
            wanted.setdefault(source, set()).add(item.path)
            if item.ref:
                wanted.setdefault(item.ref[0], set()).add(item.ref[1])
    places = {s: yaml_reader.locate(s.text, s.name, paths) for s, paths in wanted.items()}
    problems: list[Problem] = []
    for source in sources:
        found = source.problems + source.duplicates
        for item in source.pending:
            message = item.message
            if item.ref:
                other, path, at_key = item.ref
                message = message.replace("{ref}", str(_pick(places[other][path], at_key)))
            found.append(Problem(_pick(places[source][item.path], item.at_key),
                                 _clip(_printable(message), MAX_MESSAGE)))
        problems.extend(sorted(found, key=_problem_order))
    return problems


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise yaml_reader.YamlProblem(Location(name, line, column),
                                      f"not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None


def _read_source(name: str) -> _Source:
    source = _Source(name)
    try:
        size = os.path.getsize(name)
        if size > MAX_FILE_BYTES:
            source.problems.append(Problem(Location(name, 1, 1),
                                           f"file is {size} bytes; the limit is {MAX_FILE_BYTES}"))
            return source
        with open(name, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:   # it grew since its size was taken
            source.problems.append(Problem(Location(name, 1, 1), f"file is over the limit of {MAX_FILE_BYTES} bytes"))
            return source
        source.text = _decode(raw, name)
        duplicates: list[yaml_reader.YamlProblem] = []
        source.places = {section: {} for section in PLACED_SECTIONS}
        source.data = yaml_reader.read(source.text, name, duplicates, source.places)
        source.duplicates = [Problem(d.location, d.message) for d in duplicates]
    except yaml_reader.YamlProblem as problem:
        source.problems.append(Problem(problem.location, problem.message))
    except OSError as exc:
        source.problems.append(Problem(None, f"cannot read: {exc.strerror}", name))
    return source


TYPED_KEYS = frozenset({"version", "prune", "max_deletes", "max_delete_percent",
                        "active", "webphone_auto_answer", "use_external_server_ip", "on_hook_agent"})
# Values that must be written as text: a plain scalar stays a `Plain` so that the loader can tell
# `local_gmt: -5.00` (a number to YAML, and to any editor checking the schema) from `"-5.00"`.
PLAIN_KEYS = frozenset({"local_gmt"})


def as_text(value: Any, typed_keys: frozenset[str] = TYPED_KEYS, key: Any = None,
            plain_keys: frozenset[str] = frozenset()) -> Any:
    """Plain scalars become their text, except the values of `typed_keys` (what YAML reads them as)
    and of `plain_keys` (kept as `Plain`: text that knows it was not quoted).

    VICIdial ids, logins and names are text even when YAML 1.1 would read
    them otherwise: `0100` must stay `0100` (not octal 64), `no` must stay
    `no` (not false). Keys are always text.
    """
    if isinstance(value, yaml_reader.Plain):
        if key in typed_keys:
            typed = value.value
            return str(value) if _is_nan(typed) else typed
        # str(): a plain str is half the size of a Plain, and the collector need not track it
        return value if key in plain_keys else str(value)
    if _is_nan(value):
        return str(value)   # `!!float .nan` passes every numeric bound: make it text, which none accepts
    if isinstance(value, dict):
        return {(str(k) if isinstance(k, yaml_reader.Plain) else k): as_text(v, typed_keys, k, plain_keys)
                for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(item, typed_keys, key, plain_keys) for item in value]
    return value


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class _Shown:
    """A value as a message quotes it: its repr, cut to MAX_SHOWN characters."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return _clip(repr(self.value), MAX_SHOWN)

    __str__ = __repr__


def _schema_message(error) -> str:
    """jsonschema's message, with the value it starts by quoting cut short."""
    quoted = repr(error.instance)
    if len(quoted) > MAX_SHOWN and error.message.startswith(quoted):
        return repr(_Shown(error.instance)) + error.message[len(quoted):]
    return error.message


def _schema_problems(source: _Source, schema_name: str) -> None:
    if source.data is None:
        source.problems.append(Problem(Location(source.name, 1, 1), "the file is empty"))
        return
    unchecked = _fast_accept().unchecked(source.data) if schema_name == DESIRED_SCHEMA else source.data
    if unchecked is None:
        return
    for error in _validator(schema_name).iter_errors(unchecked):
        _flag_schema_error(source, error)


_NAMED = {"aliases": "alias", "phones": "phone", "stations": "station", "servers": "server"}


def _describe(path: tuple) -> str:
    """`aliases.sales1.phone_logins.2` reads as `alias sales1: phone_logins item 3`
    (and `phone 100a: local_gmt`, `station 200: servers item 2`, `server 10.10.10.15`)."""
    if len(path) >= 2 and path[0] in _NAMED:
        rest = path[2:]
        return f"{_NAMED[path[0]]} {_key_text(path[1])}" + (": " + _dotted(rest) if rest else "")
    return _dotted(path) or "the top level"


def _dotted(path: tuple) -> str:
    """`settings.ignore.0` reads as `settings.ignore item 1`."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int) and parts:
            parts[-1] += f" item {part + 1}"
        else:
            parts.append(_key_text(part))
    return ".".join(parts)


def _key_text(key: Any) -> str:
    """A key as a message names it: as written, or quoted when it holds what cannot be shown."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def _printable(message: str) -> str:
    """The message on one line: line breaks and other unprintable characters escaped."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


_EXPECTED = {"string": "text", "array": "a list", "object": "a mapping", "boolean": "true or false",
             "integer": "a whole number", "number": "a number"}
_CONTROL_NAMES = {0x00: "NUL", 0x09: "tab", 0x0A: "line feed", 0x0D: "carriage return", 0x1B: "escape",
                  0x7F: "delete", 0x85: "next line"}


def _expected(error) -> str:
    """What a type, const or enum rule asks for, in words: `text`, `1`, `present or absent`."""
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return " or ".join(_EXPECTED.get(kind, kind) for kind in kinds)
    values = [error.validator_value] if error.validator == "const" else list(error.validator_value)
    return " or ".join(v if isinstance(v, str) else json.dumps(v) for v in values)


def _control(value: Any) -> str:
    """The first control character in `value`, named: `U+000A (line feed)`."""
    found = next((c for c in value if unicodedata.category(c) == "Cc"), None) if isinstance(value, str) else None
    if found is None:
        return "(none)"
    code = ord(found)
    return f"U+{code:04X}" + (f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else "")


def _timezone(instance: Any) -> str:
    """How to write a time zone VICIdial lists: the one `instance` means, or all 33."""
    if isinstance(instance, str) and re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)", instance):
        meant = [zone for zone in LOCAL_GMT if float(zone) == float(instance)]
        if meant:
            return f'must be written exactly as VICIdial lists it, in quotes: "{meant[0]}"'
    return ("is not one of VICIdial's 33 time zones; write one in quotes, as \"-5.00\": " + " ".join(LOCAL_GMT))


_TIMEZONE_FIELD = "{timezone}"


def _custom(template: str, instance: Any, what: str) -> str:
    """A schema's x-message filled in: {instance} the value, {what} what it is, {control} its control
    character, {timezone} how to write the time zone it means."""
    control = _control(instance) if "{control}" in template else ""
    timezone = _timezone(instance) if _TIMEZONE_FIELD in template else ""
    return template.format(instance=_Shown(instance), what=what, control=control, timezone=timezone)


def _flag_schema_error(source: _Source, error) -> None:
    path = tuple(error.absolute_path)
    where = _describe(path)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for key in error.instance:
            if key not in allowed:
                expected = f" (expected one of: {', '.join(allowed)})" if allowed else ""
                source.flag(path + (key,), f"unknown key {key!r} in {where}{expected}", at_key=True)
        return
    if "propertyNames" in error.absolute_schema_path:
        # jsonschema checks a key as an instance found at its mapping's path: report it at the key itself
        name = error.instance
        what = {("aliases",): "alias id", ("phones",): "phone login", ("stations",): "station id",
                ("servers",): "server"}.get(path, f"key of {where}")
        message = _custom(custom, name, what) if custom else f"{what} {_schema_message(error)}"
        source.flag(path + (name,), message, at_key=True)
        return
    if error.validator == "required":
        source.flag(path, f"{where}: {error.message}", at_key=True)
        return
    if error.validator in ("if", "then", "else"):
        return
    if error.instance is None and error.validator in ("type", "const", "enum"):
        source.flag(path, f"{where} has no value (null); expected {_expected(error)}")
        return
    if custom and error.validator != "type":
        message = _custom(custom, error.instance, where)
    else:
        message = f"{where}: {_schema_message(error)}"
    source.flag(path, message)


def _declared(source: _Source) -> dict:
    """The `aliases` mapping of a file, or {} where the file has none to check."""
    data = source.data
    if isinstance(data, dict) and isinstance(data.get("aliases"), dict):
        return data["aliases"]
    return {}


def _check_aliases(source: _Source, seen: dict[str, tuple[_Source, str]], out: list[DesiredAlias]) -> None:
    """Cross-alias rules; entries the schema already refused are checked as far as they go."""
    for alias_id, entry in _declared(source).items():
        if not isinstance(alias_id, str) or not isinstance(entry, dict):
            continue
        key = fold(alias_id)
        if key in seen:
            first_source, first_id = seen[key]
            source.flag(("aliases", alias_id),
                        f"alias {alias_id} is declared twice (case-insensitively); first at {{ref}}",
                        at_key=True, ref=(first_source, ("aliases", first_id), True))
            continue
        seen[key] = (source, alias_id)
        if entry.get("ensure") == "absent":
            out.append(DesiredAlias(alias_id, None, (), present=False))
            continue
        logins = entry.get("phone_logins")
        if not isinstance(logins, list) or not all(isinstance(x, str) for x in logins):
            continue
        _check_logins(source, alias_id, tuple(logins))
        out.append(DesiredAlias(alias_id, entry.get("alias_name"), tuple(logins)))


def _check_logins(source: _Source, alias_id: str, logins: tuple[str, ...]) -> None:
    first_index: dict[str, int] = {}
    for index, login in enumerate(logins):
        key = fold(login)
        if key in first_index:
            source.flag(("aliases", alias_id, "phone_logins", index),
                        f"alias {alias_id}: login {login} is listed twice "
                        f"(also item {first_index[key] + 1}; logins are case-insensitive)")
        else:
            first_index[key] = index
    joined = len(",".join(logins))
    if not logins:
        return  # the schema reports an empty list
    if joined > MAX_LIST_CHARS:
        source.flag(("aliases", alias_id, "phone_logins"),
                    f"alias {alias_id}: phone_logins joined with commas is {joined} characters; "
                    f"VICIdial stores at most {MAX_LIST_CHARS}")
    elif joined < MIN_LIST_CHARS:
        source.flag(("aliases", alias_id, "phone_logins"),
                    f"alias {alias_id}: phone_logins joined with commas must be at least "
                    f"{MIN_LIST_CHARS} characters; VICIdial refuses {logins[0]!r} alone")


SETTING_KEYS = frozenset(Settings.__dataclass_fields__) - {"phones"}   # settings.phones: see _phone_settings


def _merge_settings(sources: list[_Source]) -> dict[str, Any]:
    """Settings from all files; the same key with two values is a problem."""
    merged: dict[str, tuple[Any, _Source]] = {}
    for source in sources:
        data = source.data
        settings = data.get("settings") if isinstance(data, dict) else None
        if not isinstance(settings, dict):
            continue
        for key, value in settings.items():
            if key not in SETTING_KEYS or value is None:   # a null is refused by the schema already
                continue
            if key not in merged:
                merged[key] = (value, source)
                continue
            first_value, first_source = merged[key]
            if first_value != value:
                source.flag(("settings", key),
                            f"settings.{key} is {json.dumps(value)} here but "
                            f"{json.dumps(first_value)} at {{ref}}; settings from several files must agree",
                            ref=(first_source, ("settings", key), False))
    return {key: value for key, (value, _) in merged.items()}


def _patterns(values: dict[str, Any], key: str) -> tuple[str, ...]:
    patterns = values.get(key)
    if not isinstance(patterns, list):
        return ()
    return tuple(p for p in patterns if isinstance(p, str))


def _check_patterns(values: dict[str, Any], aliases: list[DesiredAlias],
                    owner: dict[str, tuple[_Source, str]]) -> None:
    ignore, protect = _patterns(values, "ignore"), _patterns(values, "protected")
    for alias in aliases:
        source, alias_id = owner[fold(alias.alias_id)]
        ignored = matches_any(alias.alias_id, ignore)
        if ignored:
            source.flag(("aliases", alias_id),
                        f"alias {alias_id} is declared but matches ignore pattern {ignored!r}; "
                        "an ignored alias is never touched", at_key=True)
        protected = matches_any(alias.alias_id, protect)
        if not alias.present and protected:
            source.flag(("aliases", alias_id, "ensure"),
                        f"alias {alias_id} has ensure: absent but matches protected pattern "
                        f"{protected!r}; protected aliases are never deleted", at_key=True)


def load_document(name: str, schema_name: str, typed_keys: frozenset[str] = frozenset()) -> Any:
    """One YAML file checked against one of our schemas, or LoadError with every problem."""
    source = _read_source(name)
    if not source.problems:
        source.data = as_text(source.data, typed_keys)
        _schema_problems(source, schema_name)
    problems = _resolve([source])
    if problems:
        raise LoadError(problems)
    return source.data


@collector_paused()
def load(paths: Sequence[str]) -> Desired:
    """The desired state declared in `paths`, or LoadError listing every problem."""
    names = collect_files(paths)
    sources = [_read_source(name) for name in names]
    _check_alias_count(sources)
    for source in sources:
        if not source.problems:
            source.data = as_text(source.data, TYPED_KEYS, None, PLAIN_KEYS)
            _schema_problems(source, DESIRED_SCHEMA)
    readable = [s for s in sources if not s.problems]

    aliases: list[DesiredAlias] = []
    owner: dict[str, tuple[_Source, str]] = {}
    for source in readable:
        _check_aliases(source, owner, aliases)
    values = _merge_settings(readable)
    _check_patterns(values, aliases, owner)
    collected = phones.collect(readable, _phone_rules(), owner, values)

    problems = _resolve(sources)
    if problems:
        raise LoadError(problems)
    for key in ("ignore", "protected"):
        if key in values:
            values[key] = tuple(values[key])
    station_aliases = tuple(_placed(collected.aliases))
    return Desired(tuple(aliases) + station_aliases, Settings(**values, phones=collected.settings), tuple(names),
                   phones=_desired_phones(collected.phones), servers=collected.servers)


def _located(placed: list[tuple[_Source, tuple]]) -> list[Location]:
    """The key location of each (source, ("phones" or "stations", key)), as noted while reading
    (a mapping reached through a YAML alias was not: its file is read again for it)."""
    unnoted: dict[_Source, set[tuple]] = {}
    for source, (section, key) in placed:
        if key not in source.places.get(section, {}):
            unnoted.setdefault(source, set()).add((section, key))
    for source, paths in unnoted.items():
        for (section, key), place in yaml_reader.locate(source.text, source.name, paths).items():
            source.places.setdefault(section, {})[key] = _pick(place, True)
    return [source.places[section][key] for source, (section, key) in placed]


def _placed(aliases: list[tuple[DesiredAlias, _Source, tuple]]) -> list[DesiredAlias]:
    locations = _located([(source, path) for _, source, path in aliases])
    return [DesiredAlias(alias.alias_id, alias.alias_name, alias.phone_logins, location=location)
            for (alias, _, _), location in zip(aliases, locations)]


def _desired_phones(made: list[phones.Made]) -> tuple[DesiredPhone, ...]:
    locations = _located([(phone.source, phone.path) for phone in made])
    return tuple(DesiredPhone(phone.login, phone.extension, phone.server_ip, phone.fields, phone.secrets,
                              phone.present, phone.station, location)
                 for phone, location in zip(made, locations))


def _check_alias_count(sources: list[_Source]) -> None:
    """Refuse too many aliases or phones before checking any of them: the checks cost time and memory
    per alias and per phone."""
    readable = [source for source in sources if not source.problems]
    declared = sum(len(_declared(source)) + len(phones.mapping(source, "stations")) for source in readable)
    made = phones.count(readable)
    too_many = []
    if declared > MAX_ALIASES:
        too_many.append(Problem(None, f"{declared} aliases declared; the limit is {MAX_ALIASES}"))
    if made > phones.MAX_PHONES:
        too_many.append(Problem(None, f"{made} phones declared (stations' included); the limit is {phones.MAX_PHONES}"))
    if too_many:
        unreadable = [problem for source in sources for problem in source.problems]
        raise LoadError(unreadable + too_many)


def _problem_order(problem: Problem) -> tuple:
    loc = problem.location
    return (loc.file, loc.line, loc.column) if loc else (problem.source, 0, 0)
