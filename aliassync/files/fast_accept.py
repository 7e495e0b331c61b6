"""A fast path past schema validation for what the desired-state schema certainly accepts.

jsonschema walks every alias entry through some thirty keyword checks:
on a fleet of 10,000 aliases that was half of a whole `plan`. Most
entries are plainly well formed, and the desired-state schema is simple
enough to prove that with a few type checks and the schema's own
regular expressions (applied as jsonschema applies them, `re.search`;
text is any `str`, as for jsonschema, `yaml_reader.Plain` included).

So the loader hands jsonschema only what this module cannot accept: the
document without the entries proven valid, or nothing at all when the
whole document is. jsonschema then reports every problem exactly as it
would have (same paths, same messages, same order), because the schema
has no rule spanning several entries.

Accepting is the only thing this module does; it never rejects. It is
written for one version of the schema: a fingerprint of the schema's
rules (titles, descriptions and messages left out) is compared once, and
any other schema switches the fast path off, so a changed schema can
never let a wrong entry through (tests/files/test_fast_accept.py fails until
this module is brought up to date).
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable

# sha256 of the rules of schema/aliassync.schema.json this module implements (see fingerprint()).
IMPLEMENTED_SCHEMA = "8bb86c81caf2f627ace2d52c8f6dc88b0ccc4b2f94c849cd6c153cb045fb9e0d"
DOCUMENTATION_KEYS = frozenset({"title", "description", "x-message"})
# Only these: a document with phone_defaults, phones, servers, stations or settings.phones is never
# accepted whole; those parts (and the alias entries not proven) go to jsonschema.
TOP_KEYS = frozenset({"version", "settings", "aliases"})


def fingerprint(schema: Any) -> str:
    """A hash of what the schema checks, ignoring what it only says to people."""
    def rules(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: rules(v) for k, v in node.items() if k not in DOCUMENTATION_KEYS}
        if isinstance(node, list):
            return [rules(v) for v in node]
        return node
    canonical = json.dumps(rules(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


class FastAccept:
    """Decides, for one schema, which parts of a document it certainly accepts."""

    def __init__(self, schema: dict):
        self.enabled = fingerprint(schema) == IMPLEMENTED_SCHEMA
        if not self.enabled:
            return
        alias = schema["$defs"]["alias"]["properties"]
        # Ids, names and logins: `if` no control character `then` the whole-value pattern `else` refused.
        # Each whole-value pattern admits no control character, so a value it matches passes the `if`.
        self._id = re.compile(schema["properties"]["aliases"]["propertyNames"]["then"]["pattern"]).search
        name = alias["alias_name"]["then"]          # if not blank then the pattern else refused as blank
        self._not_blank = re.compile(name["if"]["pattern"]).search
        self._name = re.compile(name["then"]["pattern"]).search
        self._login = re.compile(alias["phone_logins"]["items"]["then"]["pattern"]).search
        self._control = re.compile(schema["$defs"]["no_control_character"]["not"]["pattern"]).search
        self._min_logins = alias["phone_logins"]["minItems"]
        settings = schema["properties"]["settings"]["properties"]
        percent = settings["max_delete_percent"]
        self._settings: dict[str, Callable[[Any], bool]] = {
            "prune": lambda v: type(v) is bool,
            "ignore": self._patterns,
            "protected": self._patterns,
            "max_deletes": lambda v: _is_int(v) and v >= settings["max_deletes"]["minimum"],
            "max_delete_percent": lambda v: _is_number(v) and percent["minimum"] <= v <= percent["maximum"],
        }

    def _patterns(self, value: Any) -> bool:
        return type(value) is list and all(isinstance(p, str) and p and not self._control(p) for p in value)

    def entry(self, alias_id: Any, entry: Any) -> bool:
        """Whether `aliases: {alias_id: entry}` certainly passes the schema."""
        if not isinstance(alias_id, str) or not self._id(alias_id) or type(entry) is not dict:
            return False
        if len(entry) == 1:
            return entry.get("ensure") == "absent"
        if len(entry) != 2:
            return False
        name, logins = entry.get("alias_name"), entry.get("phone_logins")
        return (isinstance(name, str) and self._name(name) is not None and self._not_blank(name) is not None
                and type(logins) is list and len(logins) >= self._min_logins
                and all(isinstance(login, str) and self._login(login) for login in logins))

    def top(self, data: Any) -> bool:
        """Whether everything but the alias entries certainly passes the schema."""
        if type(data) is not dict or not TOP_KEYS.issuperset(data) or "version" not in data:
            return False
        if not (_is_int(data["version"]) and data["version"] == 1):
            return False
        settings = data.get("settings", {})
        if type(settings) is not dict or not all(
                key in self._settings and self._settings[key](value) for key, value in settings.items()):
            return False
        return type(data.get("aliases", {})) is dict

    def unchecked(self, data: Any) -> Any | None:
        """What jsonschema must still check: None if nothing, else `data` less its proven entries."""
        if not self.enabled:
            return data
        if not self.top(data):
            return self._without_proven_entries(data)
        aliases = data.get("aliases", {})
        if all(self.entry(alias_id, entry) for alias_id, entry in aliases.items()):
            return None
        return self._without_proven_entries(data)

    def _without_proven_entries(self, data: Any) -> Any:
        if type(data) is not dict or type(data.get("aliases")) is not dict:
            return data
        rest = {alias_id: entry for alias_id, entry in data["aliases"].items()
                if not self.entry(alias_id, entry)}
        return {**data, "aliases": rest}
