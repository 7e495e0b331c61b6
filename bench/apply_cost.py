"""Apply cost: `aliassync apply` against the emulator over HTTP, each call `latency` seconds late.

Each run starts from a freshly seeded MariaDB database: the emulator
writes to it through its non_agent_api.php, and aliassync reads it with a
read-only account, exactly as it would a real VICIdial. Counted, from the
outside: the calls the server answered (by kind) and the SELECTs the
database received from aliassync's account. After each run the database
must hold exactly what the files declare.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import fleet as fleets
from . import cpu, mariadb, process
from .emulator_http import Served, index_phone_logins, serving
from .mariadb import ScratchDatabase
from .plan_cost import planned_actions

API_USER, API_PASS = "benchapi", "benchApiPass2"
ACTION_DONE = re.compile(r"^aliassync: apply: (create|update|delete) \S+: ")
WRITES_START = "aliassync: apply: VICIdial"


@dataclass(frozen=True)
class ApplyRun:
    aliases: int
    concurrency: int
    seconds: float                  # the whole command, files to verification
    writes_seconds: float | None    # from the version check before the first write to the last action's result
    cpu_seconds: float              # aliassync's own CPU time, the whole command
    emulator_cpu_seconds: float | None   # the emulator's worker processes' CPU time meanwhile
    database_cpu_seconds: float | None   # MariaDB's CPU time meanwhile (None: not visible)
    emulator_ms: float              # the emulator's own work per call, median (injected latency excluded)
    actions: int                    # planned
    calls: dict[str, int]           # answered by the server, by kind
    queries: int                    # SELECTs from aliassync's read-only account
    report: str                     # aliassync's last line: "Apply: N done, ..."

    @property
    def writes(self) -> int:
        return self.calls.get("write", 0)


def _writes_phase(run: process.Run) -> float | None:
    start = run.first_line_at(WRITES_START)
    ends = [at for at, line in run.stderr if ACTION_DONE.match(line)]
    return ends[-1] - start if start is not None and ends else None


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def check_final_state(db: ScratchDatabase, fleet: fleets.Fleet, who: str) -> None:
    """The database holds exactly the declared aliases, or RuntimeError."""
    rows = db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias")
    held = {alias_id: (name, logins) for alias_id, name, logins in rows}
    wanted = fleet.final_state()
    if held != wanted:
        wrong = sorted(set(held.items()) ^ set(wanted.items()))[:3]
        raise RuntimeError(f"after {who}, the database differs from the files, e.g. {wrong}")


@contextmanager
def seeded_dialer(fleet: fleets.Fleet, server_url: str, latency: float) -> Iterator[tuple[ScratchDatabase, Served]]:
    """A scratch database holding `fleet`'s live state, and the emulator serving it."""
    with mariadb.scratch_database(server_url) as db:
        fleets.seed_mariadb(fleet, db.url, api_user=API_USER, api_pass=API_PASS)
        index_phone_logins(db.execute)
        with serving(db.url, latency) as served:
            yield db, served


def api_env(db: ScratchDatabase, url: str) -> dict[str, str]:
    """What aliassync needs to reach a real VICIdial: the API, its user, the read-only database account."""
    return {"ALIASSYNC_DB_URL": db.reader_url, "ALIASSYNC_API_URL": url,
            "ALIASSYNC_API_USER": API_USER, "ALIASSYNC_API_PASS": API_PASS}


def apply_once(fleet: fleets.Fleet, desired: Path, concurrency: int, latency: float,
               server_url: str) -> ApplyRun:
    """One `aliassync apply --yes --concurrency N` on a fresh copy of the fleet's live state."""
    with seeded_dialer(fleet, server_url, latency) as (db, served):
        before = db.selects_by_reader()
        emulator_cpu, database_cpu = cpu.total_seconds(served.pids), cpu.database_seconds()
        run = process.aliassync("apply", str(desired), "--yes", "--concurrency", str(concurrency),
                                env=api_env(db, served.url))
        emulator_cpu = _spent(emulator_cpu, cpu.total_seconds(served.pids))
        database_cpu = _spent(database_cpu, cpu.database_seconds())
        queries = db.selects_by_reader() - before
        calls = served.calls()
        emulator_ms = served.median_work_ms()
        check_final_state(db, fleet, f"aliassync apply --concurrency {concurrency}")
    report = run.stdout.strip().splitlines()[-1]
    return ApplyRun(fleet.aliases, concurrency, run.seconds, _writes_phase(run), run.cpu_seconds, emulator_cpu,
                    database_cpu, emulator_ms, sum(planned_actions(run).values()), calls, queries, report)


def best_of(repeat: int, fleet: fleets.Fleet, desired: Path, concurrency: int, latency: float,
            server_url: str) -> ApplyRun:
    """The fastest of `repeat` runs, each on a fresh dialer; every run must have made the same calls."""
    runs = [apply_once(fleet, desired, concurrency, latency, server_url) for _ in range(repeat)]
    if len({(run.actions, tuple(sorted(run.calls.items())), run.queries) for run in runs}) != 1:
        raise RuntimeError(f"runs at concurrency {concurrency} made different calls or queries: {runs}")
    return min(runs, key=lambda run: run.seconds)


def measure(aliases: int, changed: float, concurrencies: tuple[int, ...], latency: float,
            workdir: Path, server_url: str, repeat: int = 1) -> list[ApplyRun]:
    """The same changes applied at each concurrency."""
    fleet = fleets.generate(aliases, changed)
    desired = workdir / f"apply-{aliases}-{changed:g}" / "desired"
    fleets.write_desired(fleet, desired)
    return [best_of(repeat, fleet, desired, workers, latency, server_url) for workers in concurrencies]


def measure_cost_model(sizes: tuple[int, ...], changes: tuple[int, ...], concurrency: int, latency: float,
                       workdir: Path, server_url: str) -> list[ApplyRun]:
    """Calls and queries for a fixed number of changes at each fleet size."""
    runs = []
    for aliases in sizes:
        for count in changes:
            fleet = fleets.generate(aliases, count / aliases)
            desired = workdir / f"model-{aliases}-{count}" / "desired"
            fleets.write_desired(fleet, desired)
            runs.append(apply_once(fleet, desired, concurrency, latency, server_url))
    return runs
