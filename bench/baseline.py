"""aliassync side by side with the operator's loop (bench/operator_loop.py).

Same fixture, same latency, same kind of dialer (a freshly seeded MariaDB
behind the emulator over HTTP), one run each: `aliassync apply` at its
default concurrency and at 1, and the loop. Both must leave the database
holding exactly what the files declare. Counted for each: the calls the
server answered and the rows VICIdial's admin log gained (VICIdial logs
every successful write, including one that changes nothing).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import fleet as fleets
from . import process
from .apply_cost import API_PASS, API_USER, api_env, check_final_state, seeded_dialer
from .plan_cost import planned_actions


@dataclass(frozen=True)
class Contender:
    name: str
    seconds: float
    calls: int               # answered by the server
    admin_log_rows: int      # VICIdial's record of writes


@dataclass(frozen=True)
class SideBySide:
    aliases: int
    changed: int             # actions a correct plan needs
    contenders: tuple[Contender, ...]


def _admin_log_rows(db) -> int:
    return int(db.execute("SELECT COUNT(*) FROM vicidial_admin_log")[0][0])


def _aliassync(fleet: fleets.Fleet, desired: Path, concurrency: int, latency: float,
               server_url: str) -> Contender:
    with seeded_dialer(fleet, server_url, latency) as (db, served):
        run = process.aliassync("apply", str(desired), "--yes", "--concurrency", str(concurrency),
                                env=api_env(db, served.url))
        if sum(planned_actions(run).values()) != sum(fleet.changes.values()):
            raise RuntimeError("aliassync planned another number of changes than the fixture holds")
        check_final_state(db, fleet, "aliassync apply")
        return Contender(f"aliassync apply --concurrency {concurrency}", run.seconds,
                         served.total_calls(), _admin_log_rows(db))


def _operator(fleet: fleets.Fleet, desired: Path, latency: float, server_url: str) -> Contender:
    with seeded_dialer(fleet, server_url, latency) as (db, served):
        env = {"ALIASSYNC_API_USER": API_USER, "ALIASSYNC_API_PASS": API_PASS}
        run = process.run_module("bench.operator_loop", served.url, str(desired), env=env)
        sent, answered = sum(json.loads(run.stdout)["calls"].values()), served.total_calls()
        if sent != answered:
            raise RuntimeError(f"the loop sent {sent} calls, the server answered {answered}")
        check_final_state(db, fleet, "the operator's loop")
        return Contender("operator loop (every alias, one at a time)", run.seconds, sent, _admin_log_rows(db))


def measure(aliases: int, changed: float, default_concurrency: int, latency: float, workdir: Path,
            server_url: str) -> SideBySide:
    fleet = fleets.generate(aliases, changed)
    desired = workdir / f"baseline-{aliases}-{changed:g}" / "desired"
    fleets.write_desired(fleet, desired)
    contenders = (
        _aliassync(fleet, desired, default_concurrency, latency, server_url),
        _aliassync(fleet, desired, 1, latency, server_url),
        _operator(fleet, desired, latency, server_url),
    )
    return SideBySide(aliases, sum(fleet.changes.values()), contenders)
