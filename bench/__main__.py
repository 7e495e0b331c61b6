"""The benchmark suite in one command: `python -m bench` from the repository's root.

Sections (all by default; `--only` picks some):

    plan       plan cost at each size, sandbox and MariaDB, beside the C loader's floor
    phases     where a plan's time goes, stage by stage (sandbox)
    apply      apply cost of one set of changes at each concurrency
    model      API calls and SELECTs for a fixed number of changes at each size
    baseline   aliassync side by side with the operator's loop

Fixtures are generated into a temporary directory and scratch databases,
all removed afterwards. Results print as markdown tables as each section
ends (docs/performance.md holds a full run); `--json FILE` keeps them.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import apply_cost, baseline, mariadb, plan_cost, process, report
from .fleet import write_desired, generate, seed_sqlite
from .phases import Phases

SECTIONS = ("plan", "phases", "apply", "model", "baseline")
DEFAULT_CONCURRENCY = 4      # aliassync's default (cli.DEFAULT_CONCURRENCY), the one judged against 1


def _numbers(kind: Callable[[str], float]) -> Callable[[str], tuple]:
    return lambda text: tuple(kind(part) for part in text.split(",") if part)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=lambda t: tuple(t.split(",")), default=SECTIONS,
                        help=f"comma-separated sections (default: all of {','.join(SECTIONS)})")
    parser.add_argument("--sizes", type=_numbers(int), default=(1_000, 10_000, 100_000),
                        help="fleet sizes for plan and phases (default 1000,10000,100000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per plan and per apply measurement; the fastest is kept (default 3)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every API call (0.02)")
    parser.add_argument("--apply-aliases", type=int, default=10_000, help="fleet size for apply (10000)")
    parser.add_argument("--apply-changed", type=float, default=0.1, help="changed fraction for apply (0.1)")
    parser.add_argument("--concurrency", type=_numbers(int), default=(1, 4, 16), help="(default 1,4,16)")
    parser.add_argument("--model-sizes", type=_numbers(int), default=(1_000, 10_000, 100_000))
    parser.add_argument("--model-changes", type=_numbers(int), default=(10, 100))
    parser.add_argument("--baseline-aliases", type=int, default=10_000, help="fleet size for baseline (10000)")
    parser.add_argument("--baseline-changed", type=_numbers(float), default=(0.01, 0.1))
    parser.add_argument("--db-url", default=mariadb.DEFAULT_SERVER_URL,
                        help="MariaDB server to create scratch databases on (no database in the URL)")
    parser.add_argument("--no-mariadb", action="store_true", help="sandbox only: skip everything needing MariaDB")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--code", metavar="CHECKOUT",
                        help="measure the aliassync of another checkout (say, before a change); "
                             "fixtures are still made by this one")
    return parser


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _section(title: str, started: float) -> None:
    _say(f"\n## {title}\n")
    sys.stderr.write(f"bench: {title} ({time.perf_counter() - started:.0f}s since start)\n")


def run_plan(args, workdir: Path, results: dict, started: float) -> None:
    _section("Plan cost (10% changed)", started)
    server = None if args.no_mariadb else args.db_url
    measured = [plan_cost.measure(size, workdir, args.repeat, server) for size in args.sizes]
    results["plan"] = [asdict(m) for m in measured]
    _say(report.plan_table(measured))
    _say(report.plan_targets(measured))


def run_phases(args, workdir: Path, results: dict, started: float) -> None:
    _section("Where the time goes (sandbox, one process, stage by stage)", started)
    measured = []
    for size in args.sizes:
        fleet = generate(size, 0.1)
        desired = workdir / f"phases-{size}" / "desired"
        write_desired(fleet, desired)
        sandbox = desired.parent / "sandbox.sqlite"
        seed_sqlite(fleet, sandbox)
        run = process.run_module("bench.phases", str(desired), str(sandbox))
        measured.append((size, Phases(**json.loads(run.stdout))))
    results["phases"] = [{"aliases": size, **asdict(p)} for size, p in measured]
    _say(report.phases_table(measured))


def run_apply(args, workdir: Path, results: dict, started: float) -> None:
    _section(f"Apply cost ({args.apply_aliases:,} aliases, {args.apply_changed:g} changed, "
             f"{args.latency * 1000:g} ms per API call)", started)
    runs = apply_cost.measure(args.apply_aliases, args.apply_changed, args.concurrency, args.latency,
                              workdir, args.db_url, args.repeat)
    results["apply"] = [asdict(run) for run in runs]
    _say(report.apply_table(runs))
    _say(report.apply_targets(runs))
    _say(report.apply_cpu_table(runs))


def run_model(args, workdir: Path, results: dict, started: float) -> None:
    _section(f"Cost model check (apply --concurrency {DEFAULT_CONCURRENCY})", started)
    runs = apply_cost.measure_cost_model(args.model_sizes, args.model_changes, DEFAULT_CONCURRENCY,
                                         args.latency, workdir, args.db_url)
    results["model"] = [asdict(run) for run in runs]
    _say(report.cost_model_table(runs))
    _say(report.cost_model_targets(runs))


def run_baseline(args, workdir: Path, results: dict, started: float) -> None:
    _section(f"Side by side with the operator's loop ({args.latency * 1000:g} ms per API call)", started)
    measured = [baseline.measure(args.baseline_aliases, changed, DEFAULT_CONCURRENCY, args.latency, workdir,
                                 args.db_url) for changed in args.baseline_changed]
    results["baseline"] = [asdict(m) for m in measured]
    _say(report.side_by_side_table(measured))


RUNNERS = {"plan": run_plan, "phases": run_phases, "apply": run_apply, "model": run_model,
           "baseline": run_baseline}
NEEDS_MARIADB = ("apply", "model", "baseline")


def _exit_on_terminate(signum: int, frame) -> None:
    raise SystemExit(128 + signum)     # so that scratch databases and worker processes are cleaned up


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    args = build_parser().parse_args(argv)
    process.measure_code_from(args.code)
    unknown = [name for name in args.only if name not in SECTIONS]
    if unknown:
        build_parser().error(f"unknown section(s): {', '.join(unknown)}")
    sections = [name for name in args.only if not (args.no_mariadb and name in NEEDS_MARIADB)]
    version = None if args.no_mariadb else mariadb.server_version(args.db_url)
    _say("# aliassync benchmark\n")
    _say("Command: `" + " ".join(["python -m bench", *map(shlex.quote, argv or sys.argv[1:])]) + "`\n")
    _say(report.machine(version, bool(args.code)))
    results: dict = {"argv": argv or sys.argv[1:]}
    started = time.perf_counter()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aliassync-bench-")))
        if version:
            stack.enter_context(mariadb.user_statistics(args.db_url))
        for name in sections:
            RUNNERS[name](args, workdir, results, started)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    _say(f"\nFinished in {time.perf_counter() - started:.0f} s; load average at the end: {load}.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
