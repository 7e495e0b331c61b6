"""The cluster benchmark: VICIdial's load-balanced pattern at size (issue 10's target).

    python -m bench.cluster [--servers 3] [--stations 2000] [--repeat 3]

A sandbox holding only the agent servers, and one desired file declaring
`--stations` stations on every server (a phone per station and server, an
alias per station). It measures:

- plan, as a process of its own, beside the C loader's floor for the same
  file (python -m bench.yaml_floor): the target is within 3x;
- the reader's queries for the whole plan at two sizes: the same count;
- apply from nothing: the API writes sent, which must be exactly one per
  phone and one per alias (counted in VICIdial's admin log), and a second
  plan that is empty.

Prints a markdown table; `--json FILE` keeps the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORDS = {"BENCH_PHONE_PASS": "BenchPhone1", "BENCH_SIP_SECRET": "BenchSip22"}


def write_cluster(directory: Path, servers: int, stations: int) -> tuple[str, str]:
    """(the sandbox seed file, the desired file) for `stations` stations on `servers` servers."""
    ips = [f"10.10.10.{15 + n}" for n in range(servers)]
    seed = directory / "servers.yaml"
    seed.write_text("servers:\n" + "".join(f"  - {{server_ip: {ip}, server_id: agent{n + 1}}}\n"
                                           for n, ip in enumerate(ips)) + "phones: []\n", encoding="utf-8")
    letters = "abcdefghijklmnopqrstuvwxyz"
    lines = ["version: 1", "phone_defaults:", "  protocol: SIP", '  local_gmt: "-5.00"',
             '  outbound_cid: "3125550100"', "  phone_pass: {env: BENCH_PHONE_PASS}",
             "  registration_password: {env: BENCH_SIP_SECRET}", "servers:"]
    lines += [f"  {ip}: {letters[n]}" for n, ip in enumerate(ips)]
    lines.append("stations:")
    lines += [f'  "{4000 + n}": {{alias_name: Desk {4000 + n}, servers: all}}' for n in range(stations)]
    desired = directory / "cluster.yaml"
    desired.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(seed), str(desired)


def _environment() -> dict[str, str]:
    return {**os.environ, **PASSWORDS, "PYTHONPATH": str(ROOT)}


def compile_bytecode() -> None:
    """Write aliassync's bytecode once, as an install does: a machine that sets PYTHONDONTWRITEBYTECODE
    would otherwise compile every module again in every measured run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "aliassync")], check=True,
                   capture_output=True)


def _process_seconds(argv: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=_environment(), capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def _sandbox(directory: Path, seed: str, name: str) -> str:
    path = str(directory / name)
    subprocess.run([sys.executable, "-m", "aliassync", "sandbox", "init", path, "--phones", seed], cwd=ROOT,
                   env=_environment(), capture_output=True, check=True)
    return path


def queries_for_a_plan(desired: str, sandbox: str) -> int:
    """The reader's queries for one whole plan, in process."""
    os.environ.update(PASSWORDS)
    from aliassync.workflow.manager import Manager
    from aliassync.workflow.targets import TargetOptions

    manager = Manager(TargetOptions(sandbox=sandbox))
    target = manager.target(writes=False)
    try:
        manager._plan(manager.load([desired]), target)
        return target.reader.queries
    finally:
        target.close()


def apply_from_nothing(desired: str, sandbox: str) -> dict[str, int]:
    """Apply once, then count the writes that reached the dialer and plan again."""
    env = _environment()
    run = [sys.executable, "-m", "aliassync"]
    applied = subprocess.run(run + ["apply", desired, "--sandbox", sandbox, "--yes", "-q"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    again = subprocess.run(run + ["plan", desired, "--sandbox", sandbox, "-q"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    with closing(sqlite3.connect(sandbox)) as db:
        counts = dict(db.execute("SELECT event_section, COUNT(*) FROM vicidial_admin_log GROUP BY event_section"))
        phones = db.execute("SELECT COUNT(*) FROM phones").fetchone()[0]
        aliases = db.execute("SELECT COUNT(*) FROM phones_alias").fetchone()[0]
    return {"apply_exit": applied.returncode, "second_plan_exit": again.returncode,
            "phone_writes": counts.get("PHONES", 0), "alias_writes": counts.get("PHONEALIASES", 0),
            "phones": phones, "aliases": aliases}


def measure(servers: int, stations: int, repeat: int, directory: Path) -> dict:
    seed, desired = write_cluster(directory, servers, stations)
    small_seed, small = write_cluster(directory / "small", servers, max(1, stations // 100)) if stations >= 100 \
        else write_cluster(directory / "small", servers, 1)
    sandbox = _sandbox(directory, seed, "cluster.sqlite")
    compile_bytecode()
    plan_seconds = _process_seconds([sys.executable, "-m", "aliassync", "plan", desired, "--sandbox", sandbox,
                                     "-q"], repeat)
    floor = _process_seconds([sys.executable, "-m", "bench.yaml_floor", desired], repeat)
    startup = _process_seconds([sys.executable, "-c", "import aliassync.cli"], repeat)
    figures = {
        "servers": servers, "stations": stations, "phones": servers * stations, "aliases": stations,
        "plan_seconds": round(plan_seconds, 3), "floor_seconds": round(floor, 3),
        "plan_over_floor": round(plan_seconds / floor, 2), "startup_seconds": round(startup, 3),
        "queries": queries_for_a_plan(desired, sandbox),
        "queries_small": queries_for_a_plan(small, _sandbox(directory / "small", small_seed, "small.sqlite")),
    }
    figures.update(apply_from_nothing(desired, sandbox))
    return figures


def table(figures: dict) -> str:
    f = figures
    return "\n".join([
        "| servers x stations | phones + aliases | plan | C-loader floor | ratio | start and imports "
        "| queries (1/100 size) | writes: phones + aliases | second plan |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {f['servers']} x {f['stations']} | {f['phones']} + {f['aliases']} | {f['plan_seconds']} s "
        f"| {f['floor_seconds']} s | {f['plan_over_floor']}x | {f['startup_seconds']} s "
        f"| {f['queries']} ({f['queries_small']}) "
        f"| {f['phone_writes']} + {f['alias_writes']} | exit {f['second_plan_exit']} |",
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--stations", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aliassync-cluster-") as scratch:
        directory = Path(scratch)
        (directory / "small").mkdir()
        figures = measure(args.servers, args.stations, args.repeat, directory)
    print(table(figures), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
