"""Plan cost: the whole `aliassync plan` at each fleet size, against the sandbox and MariaDB.

Beside it, in the same run and on the same files, the floor: a process that
only parses the files with PyYAML's C loader. Every measurement is a fresh
process; the time reported is the best of `repeat` runs (the one least
disturbed by whatever else the machine did), the memory the highest peak.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import fleet as fleets
from . import mariadb, process
from .emulator_http import serving

PLANNED = re.compile(r"^aliassync: plan: (\d+) to create, (\d+) to update, (\d+) to delete")


@dataclass(frozen=True)
class Floor:
    seconds: float           # the parsing process, start to exit
    parse_seconds: float     # of which parsing the files
    events_seconds: float    # walking the C parser's events only, building nothing (in process)


@dataclass(frozen=True)
class PlanRun:
    target: str              # "sandbox" or "MariaDB"
    seconds: float
    peak_mb: float
    actions: int
    queries: int | None      # SELECTs the database received from one plan (MariaDB only)


@dataclass(frozen=True)
class PlanCost:
    aliases: int
    phones: int
    files_mb: float
    changed: int
    floor: Floor
    runs: tuple[PlanRun, ...]


def planned_actions(run: process.Run) -> dict[str, int]:
    """The counts of the `plan:` log line."""
    for _, line in run.stderr:
        match = PLANNED.match(line)
        if match:
            return dict(zip(("create", "update", "delete"), map(int, match.groups())))
    raise RuntimeError("no 'plan:' line in the output of aliassync")


def _check_plan(run: process.Run, fleet: fleets.Fleet) -> int:
    """The plan's number of actions, after checking it is the one the fixture was built to need."""
    found = planned_actions(run)
    expected = {kind: fleet.expected_actions.get(kind, 0) for kind in found}
    if found != expected:
        raise RuntimeError(f"plan found {found}, the fixture needs {expected}")
    return sum(found.values())


def measure_floor(files: Sequence[Path], repeat: int) -> Floor:
    runs = [process.run_module("bench.yaml_floor", *map(str, files)) for _ in range(repeat)]
    events = [process.run_module("bench.yaml_floor", "--events", *map(str, files)) for _ in range(repeat)]
    best = min(runs, key=lambda r: r.seconds)
    return Floor(best.seconds, min(float(r.stdout) for r in runs), min(float(r.stdout) for r in events))


def _best_plan(target: str, args: Sequence[str], fleet: fleets.Fleet, repeat: int, env: dict[str, str],
               queries: Callable[[], int] | None = None) -> PlanRun:
    runs, selects = [], []
    for _ in range(repeat):
        before = queries() if queries else 0
        runs.append(process.aliassync("plan", *args, env=env, expect=(2,)))
        selects.append(queries() - before if queries else None)
    best = min(runs, key=lambda r: r.seconds)
    return PlanRun(target, best.seconds, max(r.peak_rss_mb for r in runs), _check_plan(best, fleet),
                   max(selects) if queries else None)


def measure(aliases: int, workdir: Path, repeat: int, server_url: str | None,
            changed: float = 0.1) -> PlanCost:
    """Plan cost at one fleet size; `server_url` None skips MariaDB."""
    fleet = fleets.generate(aliases, changed)
    desired = workdir / f"plan-{aliases}" / "desired"
    files = fleets.write_desired(fleet, desired)
    sandbox = workdir / f"plan-{aliases}" / "sandbox.sqlite"
    fleets.seed_sqlite(fleet, sandbox)
    floor = measure_floor(files, repeat)
    runs = [_best_plan("sandbox", [str(desired), "--sandbox", str(sandbox)], fleet, repeat, {})]
    if server_url is not None:
        runs.append(_plan_on_mariadb(fleet, desired, repeat, server_url))
    size = sum(path.stat().st_size for path in files) / 1e6
    return PlanCost(aliases, len(fleet.phones), size, sum(fleet.changes.values()), floor, tuple(runs))


def _plan_on_mariadb(fleet: fleets.Fleet, desired: Path, repeat: int, server_url: str) -> PlanRun:
    with mariadb.scratch_database(server_url) as db:
        fleets.seed_mariadb(fleet, db.url)
        with serving(db.url, latency=0.0, workers=1) as served:     # plan asks the API for VICIdial's version
            env = {"ALIASSYNC_DB_URL": db.reader_url, "ALIASSYNC_API_URL": served.url}
            return _best_plan("MariaDB", [str(desired)], fleet, repeat, env, db.selects_by_reader)
