"""The benchmark's results as markdown tables, each with the targets it is judged by."""
from __future__ import annotations

import os
import platform
from typing import Sequence

import yaml

from .apply_cost import ApplyRun
from .baseline import SideBySide
from .phases import Phases
from .plan_cost import PlanCost

PLAN_FLOOR_RATIO_TARGET = 2.5     # plan of 10,000 aliases within 2.5x of the C loader's floor
PEAK_MB_TARGET = 300              # plan of 100,000 aliases
LINEARITY_TARGET = 12             # plan time at 100,000 / at 10,000
SPEEDUP_TARGET = 3.5              # apply at 4 workers against 1


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f}"


def _n(number: int) -> str:
    return f"{number:,}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# ---------------------------------------------------------------- the machine

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kb = int(info.readline().split()[1])
        return f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        return "unknown memory"


def machine(mariadb_version: str | None, other_code: bool) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    parts = [
        f"- aliassync measured: {'another checkout (--code)' if other_code else 'this checkout'}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; {_memory_gb()} RAM",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"PyYAML {yaml.__version__} (libyaml: {'yes' if yaml.__with_libyaml__ else 'no'})",
        f"- MariaDB {mariadb_version}" if mariadb_version else "- MariaDB: not used",
        f"- load average when it started: {load}",
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- plan cost

def plan_table(results: Sequence[PlanCost]) -> str:
    rows = []
    for result in results:
        for run in result.runs:
            rows.append([_n(result.aliases), _n(result.phones), f"{result.files_mb:.1f}", _n(result.changed),
                         run.target, _s(run.seconds), f"{run.peak_mb:.0f}",
                         "n/a" if run.queries is None else run.queries,
                         _s(result.floor.seconds), _s(result.floor.parse_seconds), _s(result.floor.events_seconds),
                         f"{run.seconds / result.floor.seconds:.2f}"])
    return table(["aliases", "phones", "files (MB)", "changed", "target", "plan (s)", "peak memory (MB)",
                  "SELECTs", "floor: C loader process (s)", "of which yaml.load (s)", "C parser events only (s)",
                  "plan / floor"], rows)


def plan_targets(results: Sequence[PlanCost]) -> str:
    by_size = {result.aliases: result for result in results}
    lines = []
    if 10_000 in by_size:
        ten = by_size[10_000]
        for run in ten.runs:
            ratio = run.seconds / ten.floor.seconds
            lines.append(f"- plan of 10,000 aliases ({run.target}) / floor: {ratio:.2f} "
                         f"(target <= {PLAN_FLOOR_RATIO_TARGET}): {_verdict(ratio <= PLAN_FLOOR_RATIO_TARGET)}")
    if 100_000 in by_size:
        for run in by_size[100_000].runs:
            lines.append(f"- peak memory of plan at 100,000 aliases ({run.target}): {run.peak_mb:.0f} MB "
                         f"(target < {PEAK_MB_TARGET}): {_verdict(run.peak_mb < PEAK_MB_TARGET)}")
    if 10_000 in by_size and 100_000 in by_size:
        for small, large in zip(by_size[10_000].runs, by_size[100_000].runs):
            ratio = large.seconds / small.seconds
            lines.append(f"- time at 100,000 / time at 10,000 ({small.target}): {ratio:.1f} "
                         f"(target < {LINEARITY_TARGET}): {_verdict(ratio < LINEARITY_TARGET)}")
    return "\n".join(lines) + "\n" if lines else ""


def phases_table(results: Sequence[tuple[int, Phases]]) -> str:
    rows = []
    for aliases, p in results:
        share = lambda part: f"{part:.2f} ({100 * part / p.total:.0f}%)"  # noqa: E731
        rows.append([_n(aliases), share(p.imports), share(p.load), share(p.read), share(p.plan),
                     share(p.render), _s(p.total)])
    return table(["aliases", "import", "load files", "read state", "plan + warnings", "render", "total (s)"], rows)


# ---------------------------------------------------------------- apply cost

def _other_calls(run: ApplyRun) -> str:
    others = {kind: count for kind, count in sorted(run.calls.items()) if kind != "write"}
    return ", ".join(f"{count} {kind}" for kind, count in others.items())


def apply_table(runs: Sequence[ApplyRun]) -> str:
    one = next((run for run in runs if run.concurrency == 1), None)
    rows = []
    for run in runs:
        speedup = (f"{one.seconds / run.seconds:.2f} / "
                   + (f"{one.writes_seconds / run.writes_seconds:.2f}" if one.writes_seconds and run.writes_seconds
                      else "n/a")) if one else "n/a"
        rows.append([run.concurrency, _s(run.seconds), _s(run.writes_seconds), speedup, _n(run.actions),
                     _n(run.writes), _other_calls(run), _n(run.queries), run.report])
    return table(["concurrency", "whole run (s)", "writes (s)", "faster than 1 (whole / writes)",
                  "actions planned", "writes sent", "other calls", "SELECTs", "aliassync's report"], rows)


def apply_cpu_table(runs: Sequence[ApplyRun]) -> str:
    """CPU seconds per party, and the emulator's own time per call: who sets the pace."""
    rows = []
    for run in runs:
        total = run.cpu_seconds + (run.emulator_cpu_seconds or 0.0) + (run.database_cpu_seconds or 0.0)
        rows.append([run.concurrency, _s(run.cpu_seconds), _s(run.emulator_cpu_seconds), _s(run.database_cpu_seconds),
                     f"{1000 * total / max(1, run.actions):.1f}", f"{run.emulator_ms:.1f}",
                     f"{100 * total / (run.seconds * (os.cpu_count() or 1)):.0f}%"])
    return table(["concurrency", "aliassync CPU (s)", "emulator CPU (s)", "MariaDB CPU (s)",
                  "CPU per action, all three (ms)", "emulator's work per call, median (ms)",
                  "machine busy (all cores)"], rows)


def apply_targets(runs: Sequence[ApplyRun]) -> str:
    by_workers = {run.concurrency: run for run in runs}
    lines = []
    if 1 in by_workers and 4 in by_workers:
        one, four = by_workers[1], by_workers[4]
        whole = one.seconds / four.seconds
        lines.append(f"- 4 workers against 1, whole run: {whole:.2f}x (target >= {SPEEDUP_TARGET}): "
                     f"{_verdict(whole >= SPEEDUP_TARGET)}")
        if one.writes_seconds and four.writes_seconds:
            writes = one.writes_seconds / four.writes_seconds
            lines.append(f"- 4 workers against 1, writes only: {writes:.2f}x (target >= {SPEEDUP_TARGET}): "
                         f"{_verdict(writes >= SPEEDUP_TARGET)}")
    equal = all(run.writes == run.actions for run in runs)
    lines.append(f"- writes sent == actions planned in every run: {_verdict(equal)}")
    return "\n".join(lines) + "\n"


def cost_model_table(runs: Sequence[ApplyRun]) -> str:
    rows = []
    for run in runs:
        calls = sum(run.calls.values())
        rows.append([_n(run.aliases), _n(run.actions), _n(calls), f"3 + {run.actions} = {3 + run.actions}",
                     _n(run.queries), f"4 + {run.actions} = {4 + run.actions}", _s(run.seconds)])
    return table(["aliases", "changes", "API calls", "model: 3 + changes", "SELECTs", "model: 4 + changes",
                  "whole run (s)"], rows)


def cost_model_targets(runs: Sequence[ApplyRun]) -> str:
    calls_ok = all(sum(run.calls.values()) == 3 + run.actions for run in runs)
    queries_ok = all(run.queries == 4 + run.actions for run in runs)
    return (f"- API calls = 3 + changes in every run: {_verdict(calls_ok)}\n"
            f"- SELECTs = 4 + changes in every run, whatever the fleet size: {_verdict(queries_ok)}\n")


# ---------------------------------------------------------------- side by side

def side_by_side_table(results: Sequence[SideBySide]) -> str:
    rows = []
    for result in results:
        first = result.contenders[0]
        for contender in result.contenders:
            rows.append([_n(result.aliases), f"{_n(result.changed)} ({100 * result.changed / result.aliases:g}%)",
                         contender.name, _s(contender.seconds), _n(contender.calls), _n(contender.admin_log_rows),
                         f"{contender.seconds / first.seconds:.1f}x"])
    return table(["aliases", "changed", "who", "seconds", "API calls", "admin log rows written",
                  "time against aliassync (default)"], rows)
