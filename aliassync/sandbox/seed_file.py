"""Reads the file of `aliassync sandbox init` (schema/phones.schema.json):
the dialer's servers, its phones (whole rows, by VICIdial's column names;
`login` alone is enough), the templates phones may name, and optionally
aliases that already exist and agents' default phone logins, as made by
hand or by SQL.

The rows are stored as given: nothing the API checks is checked here.
Two phones may share a login, as VICIdial's bulk insert and update_phone
let them (vicidial-api.md); what the tables themselves refuse (a server_id
or server_ip listed twice, a phone on a server not listed) is reported at
its place in the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.model import LiveAlias
from ..errors import LoadError, Problem
from ..files.loader import load_document
from ..files.yaml_reader import locate

# Y/N columns that also take YAML's true/false.
FLAG_KEYS = frozenset({"active", "active_asterisk_server", "generate_vicidial_conf", "rebuild_conf_files",
                       "active_agent_login_server"})


@dataclass(frozen=True)
class SandboxSeed:
    phones: tuple[dict[str, str], ...]   # `phones` rows: `login` and any other column given
    aliases: tuple[LiveAlias, ...]       # stored exactly as given
    users: tuple[dict[str, str], ...] = ()   # agents: `user` and `phone_login`
    servers: tuple[dict[str, str], ...] | None = None   # the whole `servers` table; None: one per phone server_ip
    templates: tuple[str, ...] = ()      # vicidial_conf_templates ids


def load(name: str) -> SandboxSeed:
    data = load_document(name, "phones.schema.json", typed_keys=FLAG_KEYS)
    phones = tuple(_flags(entry) for entry in data["phones"])
    servers = None if data.get("servers") is None else tuple(_flags(entry) for entry in data["servers"])
    _check_places(name, phones, servers)
    aliases = tuple(LiveAlias(alias_id, entry["alias_name"], entry["logins_list"])
                    for alias_id, entry in (data.get("aliases") or {}).items())
    users = tuple(dict(entry) for entry in data.get("users") or ())
    return SandboxSeed(phones, aliases, users, servers, tuple(data.get("templates") or ()))


def _flags(entry: dict[str, Any]) -> dict[str, str]:
    """true/false written for a Y/N column, as Y/N."""
    return {key: ("Y" if value else "N") if isinstance(value, bool) else value for key, value in entry.items()}


def _check_places(name: str, phones: tuple[dict[str, str], ...],
                  servers: tuple[dict[str, str], ...] | None) -> None:
    """A server_id or server_ip listed twice, or a phone on a server not listed: refused at its place."""
    found: list[tuple[tuple, str]] = []
    if servers is not None:
        for key in ("server_id", "server_ip"):
            first: dict[str, int] = {}
            for index, server in enumerate(servers):
                if key not in server:
                    continue
                seen = first.setdefault(server[key].casefold(), index)
                if seen != index:
                    found.append((("servers", index, key),
                                  f"{key} {server[key]} is listed twice (also server {seen + 1})"))
        known = {server["server_ip"].casefold() for server in servers}
        default_ip = servers[0]["server_ip"] if servers else None
        for index, phone in enumerate(phones):
            server_ip = phone.get("server_ip", default_ip)
            if server_ip is None:
                found.append((("phones", index), f"phone {phone['login']} names no server_ip and "
                                                 "`servers` lists none"))
            elif server_ip.casefold() not in known:
                found.append((("phones", index, "server_ip"), f"phone {phone['login']}: server_ip {server_ip} "
                                                              "is not one of the servers listed under `servers`"))
    if not found:
        return
    with open(name, encoding="utf-8-sig") as handle:
        places = locate(handle.read(), name, [path for path, _ in found])
    raise LoadError([Problem(places[path].value, message) for path, message in found])
