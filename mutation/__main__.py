"""Mutation testing of aliassync's core: would the tests notice a small wrong change?

    python -m mutation [MODULE ...] [--workers N] [--list]

For each core module (MODULES below; all of them when none is named), every
mutant (mutation/operators.py) is written into a private copy of the
project and the tests that cover that module are run on it, stopping at the
first failure (`pytest -x`). A mutant the tests fail on is killed; one they
pass survives. Known equivalent mutants (mutation/equivalent.py: changes
that cannot alter behaviour, each with the reason) are left out of the
score. Prints each module's score and its surviving mutants; exits 1 when
any module scores under --minimum (95 by default) or a listed equivalent
mutant no longer exists (so the list cannot rot), else 0.

It takes minutes, not hours (about 1,000 mutants, one to three seconds
each, spread over --workers copies); it is not part of CI's default run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .equivalent import EQUIVALENT
from .operators import Mutant, mutants, mutated

ROOT = Path(__file__).resolve().parent.parent
# Each core module (and the outputs a pipeline relies on), and the tests that pin its behaviour
# (run with -x, in this order).
MODULES: dict[str, tuple[str, ...]] = {
    "aliassync/core/planner.py": ("tests/core/test_planner.py", "tests/core/test_unaddressable.py",
                                  "tests/core/test_phone.py", "tests/core/test_checks.py",
                                  "tests/core/test_safety.py"),
    "aliassync/core/graph.py": ("tests/core/test_graph.py", "tests/core/test_safety.py",
                                "tests/workflow/test_applier.py"),
    "aliassync/core/checks.py": ("tests/core/test_checks.py",),
    "aliassync/core/refusals.py": ("tests/core/test_safety.py", "tests/core/test_planner.py",
                                   "tests/core/test_phone.py", "tests/workflow/test_applier.py"),
    "aliassync/core/phone.py": ("tests/core/test_phone.py", "tests/workflow/test_applier_phones.py",
                                "tests/output/test_render_phones.py"),
    "aliassync/core/alias.py": ("tests/workflow/test_applier.py",),
    "aliassync/core/addressing.py": ("tests/core/test_unaddressable.py",),
    "aliassync/workflow/applier.py": ("tests/workflow/test_applier.py", "tests/workflow/test_applier_phones.py",
                                      "tests/core/test_safety.py", "tests/workflow/test_settlement.py"),
    "aliassync/output/drift.py": ("tests/output/test_drift.py", "tests/output/test_gitops.py",
                                  "tests/output/test_render_phones.py", "tests/output/test_markdown_fit.py"),
    "aliassync/output/planfile.py": ("tests/output/test_planfile.py", "tests/output/test_gitops.py",
                                     "tests/output/test_show.py"),
    "aliassync/output/fit.py": ("tests/output/test_fit.py", "tests/output/test_markdown_fit.py"),
    "aliassync/output/chart.py": ("tests/output/test_chart.py", "tests/output/test_markdown_fit.py"),
    "aliassync/output/show.py": ("tests/output/test_show.py",),
}
COPIED = ("aliassync", "schema", "tests", "examples", "docs", "action", "action.yml", "pyproject.toml", "README.md")
KILLED, SURVIVED, TIMEOUT, BROKEN = "killed", "survived", "timeout", "broken"


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str
    seconds: float


def _copy(into: Path) -> Path:
    """A private copy of the project for one worker: mutants are written there, never here."""
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite"))
        elif source.exists():
            shutil.copy2(source, into / name)
    return into


def _pytest(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[int | None, float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "CI": os.environ.get("CI", "")}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               "-o", "addopts=", *tests], cwd=copy, env=env, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started
    return done.returncode, time.monotonic() - started


def _run_one(copy: Path, mutant: Mutant, original: str, tests: tuple[str, ...], timeout: float) -> Outcome:
    path = copy / mutant.module
    path.write_text(mutated(original, mutant), encoding="utf-8")
    try:
        code, seconds = _pytest(copy, tests, timeout)
    finally:
        path.write_text(original, encoding="utf-8")
    if code is None:
        return Outcome(mutant, TIMEOUT, seconds)
    if code == 0:
        return Outcome(mutant, SURVIVED, seconds)
    if code == 1:
        return Outcome(mutant, KILLED, seconds)
    return Outcome(mutant, BROKEN, seconds)   # 2-5: the tests could not run (an import error is a kill too)


def run(modules: list[str], workers: int, out=sys.stdout) -> dict[str, list[Outcome]]:
    with tempfile.TemporaryDirectory(prefix="aliassync-mutation-") as scratch:
        copies = [_copy(Path(scratch) / f"worker{n}") for n in range(workers)]
        results: dict[str, list[Outcome]] = defaultdict(list)
        for module in modules:
            tests = tuple(t for t in MODULES[module] if (ROOT / t).exists())
            original = (ROOT / module).read_text(encoding="utf-8")
            baseline, seconds = _pytest(copies[0], tests, timeout=600)
            if baseline != 0:
                raise SystemExit(f"mutation: the tests of {module} fail before any mutation (exit {baseline})")
            timeout = max(30.0, 10 * seconds)
            found = [m for m in mutants(module, original) if m.name not in EQUIVALENT]
            free = list(copies)
            lock = threading.Lock()

            def one(mutant: Mutant) -> Outcome:
                with lock:
                    copy = free.pop()
                try:
                    return _run_one(copy, mutant, original, tests, timeout)
                finally:
                    with lock:
                        free.append(copy)

            with ThreadPoolExecutor(max_workers=workers) as pool:
                results[module] = list(pool.map(one, found))
            print(_module_line(module, results[module]), file=out, flush=True)
            for outcome in results[module]:
                if outcome.status == SURVIVED:
                    print(f"  survived: {outcome.mutant}", file=out, flush=True)
    return results


def _score(outcomes: list[Outcome]) -> float:
    if not outcomes:
        return 100.0
    return 100.0 * sum(o.status != SURVIVED for o in outcomes) / len(outcomes)


def _module_line(module: str, outcomes: list[Outcome]) -> str:
    survivors = [o for o in outcomes if o.status == SURVIVED]
    equivalent = sum(1 for name in EQUIVALENT if name.startswith(module + ":"))
    return (f"{module}: {_score(outcomes):.1f}% ({len(outcomes) - len(survivors)} of {len(outcomes)} killed; "
            f"{equivalent} equivalent left out)")


def report(results: dict[str, list[Outcome]]) -> str:
    lines = ["| module | mutants | killed | survived | equivalent (left out) | score |", "|---|---|---|---|---|---|"]
    for module, outcomes in results.items():
        survived = sum(o.status == SURVIVED for o in outcomes)
        equivalent = sum(1 for name in EQUIVALENT if name.startswith(module + ":"))
        lines.append(f"| {module} | {len(outcomes)} | {len(outcomes) - survived} | {survived} | {equivalent} "
                     f"| {_score(outcomes):.1f}% |")
    survivors = [o for outcomes in results.values() for o in outcomes if o.status == SURVIVED]
    if survivors:
        lines += ["", "Survivors:"] + [f"- {o.mutant}" for o in survivors]
    return "\n".join(lines) + "\n"


def stale_equivalents(modules: list[str]) -> list[str]:
    """Listed equivalent mutants of these modules that no longer exist (the code changed)."""
    names = {m.name for module in modules for m in mutants(module, (ROOT / module).read_text(encoding="utf-8"))}
    return sorted(name for name in EQUIVALENT if name.split(":", 1)[0] in modules and name not in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help="e.g. aliassync/core/graph.py (default: all)")
    parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    parser.add_argument("--minimum", type=float, default=95.0, help="the score each module must reach (percent)")
    parser.add_argument("--list", action="store_true", help="list the mutants by name and run nothing")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)} (one of: {', '.join(MODULES)})")
    if args.list:
        for module in modules:
            for mutant in mutants(module, (ROOT / module).read_text(encoding="utf-8")):
                mark = "  (equivalent)" if mutant.name in EQUIVALENT else ""
                print(f"{mutant}{mark}\n    {mutant.name}")
        return 0
    stale = stale_equivalents(modules)
    results = run(modules, args.workers)
    print()
    print(report(results), end="")
    for name in stale:
        print(f"stale: {name} is listed as equivalent but no longer exists; remove it from mutation/equivalent.py")
    low = [m for m, outcomes in results.items() if _score(outcomes) < args.minimum]
    return 1 if low or stale else 0


if __name__ == "__main__":
    sys.exit(main())
