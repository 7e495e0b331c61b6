"""Reads the file of `aliassync sandbox init` (schema/phones.schema.json):
phones, and optionally aliases that already exist, as made by hand."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import LoadError, Problem
from ..files.loader import load_document
from ..core.model import LiveAlias, fold
from ..files.yaml_reader import locate


@dataclass(frozen=True)
class SandboxSeed:
    phones: tuple[dict[str, str], ...]   # `login` and, where given, `active`, `pass`, `server_ip`, `extension`
    aliases: tuple[LiveAlias, ...]       # stored exactly as given
    users: tuple[dict[str, str], ...] = ()   # agents: `user` and `phone_login`


def load(name: str) -> SandboxSeed:
    data = load_document(name, "phones.schema.json", typed_keys=frozenset({"active"}))
    phones: list[dict[str, str]] = []
    first: dict[str, int] = {}
    repeated: list[int] = []
    for index, entry in enumerate(data["phones"]):
        phone = dict(entry)
        if isinstance(phone.get("active"), bool):
            phone["active"] = "Y" if phone["active"] else "N"
        key = fold(phone["login"])
        if key in first:
            repeated.append(index)
        first.setdefault(key, index)
        phones.append(phone)
    if repeated:
        with open(name, encoding="utf-8-sig") as handle:
            places = locate(handle.read(), name, [("phones", i, "login") for i in repeated])
        raise LoadError([
            Problem(places[("phones", i, "login")].value,
                    f"phone login {phones[i]['login']} is listed twice (also item "
                    f"{first[fold(phones[i]['login'])] + 1}); VICIdial refuses a second phone with one login")
            for i in repeated])
    aliases = tuple(LiveAlias(alias_id, entry["alias_name"], entry["logins_list"])
                    for alias_id, entry in (data.get("aliases") or {}).items())
    users = tuple(dict(entry) for entry in data.get("users") or ())
    return SandboxSeed(tuple(phones), aliases, users)
