"""A realistic fleet for the benchmarks: phones, live aliases, and desired-state files.

Each alias has 2 to 8 members (5 on average), every member a phone of its
own, plus a few spare phones, so a fleet of N aliases holds about 5.1 N
phones. Logins are numeric, as VICIdial extensions usually are (which is
also the costlier case for the loader: YAML reads `8000123` as a number,
and aliassync keeps it as text).

A chosen fraction of the aliases differs between the files and the live
state, by one of seven changes, in equal shares:

    member-replaced   one member swapped for a spare phone       -> update
    members-reordered the members rotated by one                  -> update
    name-changed      a new alias_name                            -> update
    member-added      a spare phone appended                      -> update
    member-removed    the last member dropped                     -> update
    alias-added       declared, not on the dialer                 -> create
    alias-removed     `ensure: absent`, still on the dialer       -> delete

so every changed alias is exactly one planned action. The same seed gives
the same fleet, byte for byte.

    python -m bench.fleet OUT --aliases 1000 --changed 0.1

writes OUT/desired/*.yaml, OUT/phones.yaml (for `aliassync sandbox init`),
OUT/sandbox.sqlite (unless --no-sandbox) and OUT/fleet.json (the counts).
"""
from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from aliassync.core.model import LiveAlias
from aliassync.sandbox.store import init_mysql, init_sandbox

CHANGE_KINDS = ("member-replaced", "members-reordered", "name-changed", "member-added",
                "member-removed", "alias-added", "alias-removed")
ACTION_OF = {"alias-added": "create", "alias-removed": "delete"}     # every other kind is an update
DEPARTMENTS = ("sales", "support", "billing", "collect", "survey")
FIRST_LOGIN = 8_000_000
ALIASES_PER_FILE = 10_000
MIN_MEMBERS, MAX_MEMBERS = 2, 8
SPARE_PHONES_PER_ALIAS = 0.1


@dataclass(frozen=True)
class Alias:
    alias_id: str
    alias_name: str
    logins: tuple[str, ...]

    @property
    def logins_list(self) -> str:
        return ",".join(self.logins)


@dataclass(frozen=True)
class Declared:
    """One entry of the desired-state files: an alias, or `ensure: absent` for its id."""

    alias_id: str
    alias: Alias | None


@dataclass
class Fleet:
    aliases: int
    changed_fraction: float
    seed: int
    phones: list[str] = field(default_factory=list)          # logins
    live: list[Alias] = field(default_factory=list)
    declared: list[Declared] = field(default_factory=list)
    changes: Counter = field(default_factory=Counter)       # change kind -> aliases

    @property
    def expected_actions(self) -> Counter:
        """create/update/delete counts a correct plan must show."""
        actions: Counter = Counter()
        for kind, count in self.changes.items():
            actions[ACTION_OF.get(kind, "update")] += count
        return actions

    def final_state(self) -> dict[str, tuple[str, str]]:
        """alias_id -> (alias_name, logins_list) once the files are applied."""
        return {d.alias.alias_id: (d.alias.alias_name, d.alias.logins_list)
                for d in self.declared if d.alias is not None}

    def summary(self) -> dict:
        return {"aliases": self.aliases, "changed_fraction": self.changed_fraction, "seed": self.seed,
                "phones": len(self.phones), "live_aliases": len(self.live),
                "members": sum(len(a.logins) for a in self.live),
                "changes": dict(sorted(self.changes.items())),
                "expected_actions": dict(sorted(self.expected_actions.items()))}


def _alias_id(number: int) -> str:
    return f"{DEPARTMENTS[number % len(DEPARTMENTS)]}{number:06d}"


def _alias_name(number: int) -> str:
    return f"{DEPARTMENTS[number % len(DEPARTMENTS)].capitalize()} team {number}"


def _login(number: int) -> str:
    return str(FIRST_LOGIN + number)


def _spare(rng: random.Random, spares: Sequence[str], taken: Sequence[str]) -> str:
    while True:
        login = rng.choice(spares)
        if login not in taken:
            return login


def _changed(alias: Alias, kind: str, rng: random.Random, spares: Sequence[str]) -> Alias:
    """`alias` as the files declare it after one change of `kind` (member and name changes)."""
    logins = list(alias.logins)
    if kind == "member-replaced":
        logins[rng.randrange(len(logins))] = _spare(rng, spares, logins)
    elif kind == "members-reordered":
        logins = logins[1:] + logins[:1]
    elif kind == "name-changed":
        return Alias(alias.alias_id, alias.alias_name + " moved", alias.logins)
    elif kind == "member-added":
        logins.append(_spare(rng, spares, logins))
    elif kind == "member-removed":
        logins.pop()
    return Alias(alias.alias_id, alias.alias_name, tuple(logins))


def generate(aliases: int, changed: float, seed: int = 6) -> Fleet:
    """A fleet of `aliases` declared aliases, `changed` of them (a fraction) differing from the dialer."""
    rng = random.Random(seed)
    fleet = Fleet(aliases, changed, seed)
    wanted: list[Alias] = []
    next_login = 0
    for number in range(1, aliases + 1):
        size = rng.randint(MIN_MEMBERS, MAX_MEMBERS)
        logins = tuple(_login(next_login + i) for i in range(size))
        next_login += size
        wanted.append(Alias(_alias_id(number), _alias_name(number), logins))
    spares = [_login(next_login + i) for i in range(max(10, int(aliases * SPARE_PHONES_PER_ALIAS)))]
    fleet.phones = [_login(i) for i in range(next_login)] + spares

    picked = rng.sample(range(aliases), round(aliases * changed))
    kind_of = {index: CHANGE_KINDS[i % len(CHANGE_KINDS)] for i, index in enumerate(picked)}
    for index, alias in enumerate(wanted):
        kind = kind_of.get(index)
        if kind is not None:
            fleet.changes[kind] += 1
        if kind != "alias-added":
            fleet.live.append(alias)
        if kind == "alias-removed":
            fleet.declared.append(Declared(alias.alias_id, None))
        elif kind in (None, "alias-added"):
            fleet.declared.append(Declared(alias.alias_id, alias))
        else:
            fleet.declared.append(Declared(alias.alias_id, _changed(alias, kind, rng, spares)))
    return fleet


# ---------------------------------------------------------------- writing it out

def _entry_lines(entry: Declared) -> Iterator[str]:
    if entry.alias is None:
        yield f"  {entry.alias_id}: {{ensure: absent}}"
        return
    yield f"  {entry.alias_id}:"
    yield f"    alias_name: {entry.alias.alias_name}"
    yield f"    phone_logins: [{', '.join(entry.alias.logins)}]"


def write_desired(fleet: Fleet, directory: Path) -> list[Path]:
    """The declared aliases as desired-state files of up to ALIASES_PER_FILE aliases each."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for start in range(0, max(1, len(fleet.declared)), ALIASES_PER_FILE):
        chunk = fleet.declared[start:start + ALIASES_PER_FILE]
        lines = ["# yaml-language-server: $schema=../../schema/aliassync.schema.json", "version: 1"]
        if start == 0:
            lines += ["settings:", "  prune: false"]
        lines.append("aliases:" if chunk else "aliases: {}")
        for entry in chunk:
            lines.extend(_entry_lines(entry))
        path = directory / f"aliases-{start // ALIASES_PER_FILE + 1:02d}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_phones_file(fleet: Fleet, path: Path) -> None:
    """The phones and live aliases as a file for `aliassync sandbox init PATH --phones FILE`."""
    lines = ["phones:"]
    lines += [f"  - {{login: '{login}'}}" for login in fleet.phones]
    lines.append("aliases:" if fleet.live else "aliases: {}")
    lines += [f"  {a.alias_id}: {{alias_name: {a.alias_name}, logins_list: '{a.logins_list}'}}"
              for a in fleet.live]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _phone_rows(fleet: Fleet) -> list[dict[str, str]]:
    return [{"login": login} for login in fleet.phones]


def _live_rows(fleet: Fleet) -> list[LiveAlias]:
    return [LiveAlias(a.alias_id, a.alias_name, a.logins_list) for a in fleet.live]


def seed_sqlite(fleet: Fleet, path: Path, api_user: str = "6666", api_pass: str = "1234") -> None:
    """The live state as a new sandbox file, made by the sandbox's own seeding."""
    init_sandbox(path, _phone_rows(fleet), api_user=api_user, api_pass=api_pass, aliases=_live_rows(fleet))


def seed_mariadb(fleet: Fleet, url: str, api_user: str = "6666", api_pass: str = "1234") -> None:
    """The live state in the empty MariaDB database at `url`, with VICIdial's tables."""
    init_mysql(url, _phone_rows(fleet), api_user=api_user, api_pass=api_pass, aliases=_live_rows(fleet))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="directory to create")
    parser.add_argument("--aliases", type=int, required=True)
    parser.add_argument("--changed", type=float, default=0.1, help="fraction of aliases changed (default 0.1)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--no-sandbox", action="store_true", help="do not create OUT/sandbox.sqlite")
    args = parser.parse_args(argv)
    fleet = generate(args.aliases, args.changed, args.seed)
    args.out.mkdir(parents=True, exist_ok=False)
    write_desired(fleet, args.out / "desired")
    write_phones_file(fleet, args.out / "phones.yaml")
    if not args.no_sandbox:
        seed_sqlite(fleet, args.out / "sandbox.sqlite")
    (args.out / "fleet.json").write_text(json.dumps(fleet.summary(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(fleet.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
