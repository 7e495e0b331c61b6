"""Runs actions as a dependency graph.

An action may run once everything it depends on is done. A dependency is
an action key, or a gate `all:<kind>` standing for every action of that
kind (so "deletes wait for every create and update" stays one entry, not a
list as long as the plan). Dependents of an action that did not end done
are skipped, transitively; `fail_fast` skips everything not yet started
after the first failure; an outcome marked `stop` (a refused login, the
API or the database gone) stops the whole run, and so does `interrupted`
being set (Ctrl-C, SIGTERM): nothing new starts, what is in flight is
finished and settled. Actions that are ready together may run on several
workers.
"""
from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Sequence

from ..errors import PlanError
from .plan import Action

# unknown: a write was sent and its outcome could not be settled (the state could not be read).
Status = Literal["done", "failed", "skipped", "conflict", "unknown"]
STATUSES: tuple[Status, ...] = ("done", "failed", "skipped", "conflict", "unknown")
GATE_PREFIX = "all:"


@dataclass(frozen=True)
class ActionResult:
    action: Action
    status: Status
    message: str = ""
    stop: bool = False          # the run must not go on (bad login, lockout, API or database gone)
    attempts: int = 0           # API writes sent for this action

    @property
    def wrote(self) -> bool:
        """Whether this action may have changed the live system."""
        return self.status in ("done", "unknown") and self.attempts > 0


def expand_gates(actions: Sequence[Action]) -> dict[str, tuple[str, ...]]:
    """Each action's dependencies as plain action keys."""
    by_kind: dict[str, list[str]] = {}
    for action in actions:
        by_kind.setdefault(action.kind, []).append(action.key)
    keys = {a.key for a in actions}
    expanded: dict[str, tuple[str, ...]] = {}
    for action in actions:
        deps: list[str] = []
        for dep in action.depends_on:
            if dep.startswith(GATE_PREFIX):
                deps.extend(k for k in by_kind.get(dep[len(GATE_PREFIX):], ()) if k != action.key)
            elif dep in keys:
                deps.append(dep)
            else:
                raise PlanError(f"action {action.key} depends on {dep}, which is not in the plan")
        expanded[action.key] = tuple(dict.fromkeys(deps))
    return expanded


def check_acyclic(actions: Sequence[Action]) -> None:
    """Refuse a graph with a cycle (it could never finish)."""
    deps = expand_gates(actions)
    remaining = {key: set(d) for key, d in deps.items()}
    ready = [k for k, d in remaining.items() if not d]
    dependents: dict[str, list[str]] = {}
    for key, d in deps.items():
        for dep in d:
            dependents.setdefault(dep, []).append(key)
    seen = 0
    while ready:
        key = ready.pop()
        seen += 1
        for child in dependents.get(key, ()):
            remaining[child].discard(key)
            if not remaining[child]:
                ready.append(child)
    if seen != len(deps):
        stuck = sorted(k for k, d in remaining.items() if d)
        raise PlanError(f"the plan's actions depend on each other in a cycle: {', '.join(stuck)}")


def run(actions: Sequence[Action], perform: Callable[[Action], ActionResult], *,
        workers: int = 1, fail_fast: bool = False,
        on_result: Callable[[ActionResult], None] | None = None,
        interrupted: threading.Event | None = None) -> list[ActionResult]:
    """Carry out `actions` in dependency order; one result per action, in plan order."""
    check_acyclic(actions)
    deps = expand_gates(actions)
    waiting = {key: set(d) for key, d in deps.items()}
    dependents: dict[str, list[str]] = {}
    for key, d in deps.items():
        for dep in d:
            dependents.setdefault(dep, []).append(key)
    by_key = {a.key: a for a in actions}
    results: dict[str, ActionResult] = {}
    halted: str | None = None

    def finish(result: ActionResult) -> None:
        results[result.action.key] = result
        if on_result:
            on_result(result)

    def skip_dependents(key: str, why: str) -> None:
        stack = list(dependents.get(key, ()))
        while stack:
            child = stack.pop()
            if child in results:
                continue
            finish(ActionResult(by_key[child], "skipped", why))
            stack.extend(dependents.get(child, ()))

    order = {a.key: i for i, a in enumerate(actions)}
    ready = sorted((k for k, d in waiting.items() if not d), key=order.__getitem__)
    running: dict[Future, str] = {}
    slots = max(1, workers)
    with ThreadPoolExecutor(max_workers=slots) as pool:
        while ready or running:
            # Looked at before each start: an interruption while actions are in flight only keeps
            # the ones ready from starting, and those wait for a slot, that is for a completion.
            if interrupted is not None and interrupted.is_set() and halted is None:
                halted = "not run: the apply was interrupted"
            while ready and len(running) < slots and halted is None:
                key = ready.pop(0)
                if key not in results:
                    running[pool.submit(perform, by_key[key])] = key
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: order[running[f]]):
                key = running.pop(future)
                result = future.result()
                finish(result)
                if result.status == "done":
                    for child in dependents.get(key, ()):
                        waiting[child].discard(key)
                        if not waiting[child] and child not in results:
                            ready.append(child)
                    ready.sort(key=order.__getitem__)
                else:
                    skip_dependents(key, f"not run: {key} ended {result.status}")
                    if result.stop:
                        halted = f"not run: the run stopped after {key} ({result.message})"
                    elif fail_fast and halted is None:
                        halted = f"not run: --fail-fast after {key} ended {result.status}"
    for action in actions:
        if action.key not in results:
            finish(ActionResult(action, "skipped", halted or "not run"))
    return [results[a.key] for a in actions]


def summarize(results: Iterable[ActionResult]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return counts
