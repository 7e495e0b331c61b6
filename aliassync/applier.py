"""Carries a Plan out against a target.

Order of business:
1. preflight on a fresh read of the live state: every login that a create
   or update names must be a phone (case-insensitively), and the deletes
   must be within the limits; otherwise the whole apply is refused before
   any write;
2. the writer proves the API answers (`version`) and that the login works
   (`check_access`, one call, never repeated);
3. the actions run as a dependency graph, one API call each; just before
   each write, one cheap read checks that the alias is still what the plan
   saw: if someone else changed it meanwhile, the action is skipped as a
   conflict and their change is never overwritten;
4. a write whose outcome is unknown (no parseable answer) is never sent
   again blindly: the alias is read back: as asked, it is done; untouched,
   it is sent again within the retry budget, after a jittered backoff;
   anything else is a conflict;
5. every alias written is read back (one read of the whole state, however
   many aliases) and compared with what was asked: VICIdial answers
   SUCCESS even when the database cut a value.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from . import graph
from .errors import RefusedError
from .graph import ActionResult
from .model import Current, LiveAlias, fold
from .plan import Action, Plan
from .retry import Backoff
from .target import StateReader, Writer

log = logging.getLogger("aliassync.apply")


@dataclass(frozen=True)
class ApplyOptions:
    allow_deletes: int | None = None     # --allow-deletes N: up to N deletes whatever the limits say
    fail_fast: bool = False
    workers: int = 1
    backoff: Backoff = field(default_factory=Backoff)   # resends after an unknown outcome or no connection


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ActionResult, ...]
    version: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        return graph.summarize(self.results)

    @property
    def complete(self) -> bool:
        return all(r.status == "done" for r in self.results)


def missing_phones(plan: Plan, current: Current) -> dict[str, list[str]]:
    """Each login that is not a phone, with the aliases (in plan order) naming it."""
    missing: dict[str, list[str]] = {}
    for action in plan.actions:
        if action.after is None:
            continue
        for login in action.after.phone_logins:
            if not current.has_phone(login):
                missing.setdefault(login, []).append(action.alias_id)
    return missing


def check_phones(plan: Plan, current: Current) -> None:
    missing = missing_phones(plan, current)
    if missing:
        listed = "; ".join(f"{login} (in {', '.join(aliases)})" for login, aliases in missing.items())
        raise RefusedError(f"apply refused, nothing written: {len(missing)} login(s) are not phones: {listed}")


def check_delete_limits(plan: Plan, max_deletes: int | None, max_percent: float | None,
                        allow: int | None) -> None:
    """Refuse more deletes than the settings allow, unless the run allows that many."""
    deletes = plan.count("delete")
    if deletes == 0 or (allow is not None and deletes <= allow):
        return
    hint = f"; to allow it, run with --allow-deletes {deletes}"
    if max_deletes is not None and deletes > max_deletes:
        raise RefusedError(f"apply refused, nothing written: {deletes} deletes is over max_deletes "
                           f"{max_deletes}{hint}")
    if max_percent is not None and plan.managed_live:
        percent = 100.0 * deletes / plan.managed_live
        if percent > max_percent:
            raise RefusedError(
                f"apply refused, nothing written: {deletes} deletes is {percent:.1f}% of the "
                f"{plan.managed_live} managed live aliases, over max_delete_percent {max_percent:g}{hint}")


def _matches(live: LiveAlias | None, action: Action) -> bool:
    """Whether the live row is what the action asked for."""
    if action.kind == "delete":
        return live is None
    want = action.after
    return (live is not None and live.alias_id == want.alias_id
            and live.alias_name == want.alias_name and live.logins_list == want.logins_list)


def _shown(live: LiveAlias | None) -> str:
    if live is None:
        return "no such alias"
    return f"{live.alias_id} name {live.alias_name!r} logins {live.logins_list!r}"


def _asked(action: Action) -> str:
    if action.kind == "delete":
        return "no such alias"
    want = action.after
    return f"{want.alias_id} name {want.alias_name!r} logins {want.logins_list!r}"


def _same(live: LiveAlias | None, seen: LiveAlias | None) -> bool:
    """Whether the live row is still the one the plan saw (None: no alias)."""
    return live == seen


class Applier:
    def __init__(self, reader: StateReader, writer: Writer, options: ApplyOptions = ApplyOptions(),
                 on_result: Callable[[ActionResult], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.reader = reader
        self.writer = writer
        self.options = options
        self.on_result = on_result
        self._sleep = sleep
        self._rng = rng

    def _live(self, action: Action) -> LiveAlias | None:
        return self.reader.read_aliases([action.alias_id]).get(fold(action.alias_id))

    def perform(self, action: Action) -> ActionResult:
        """Check for a foreign change, write, and settle the outcome; see the module doc."""
        live = self._live(action)
        if not _same(live, action.before):
            if _matches(live, action):
                return ActionResult(action, "done", "already as asked; nothing sent")
            return ActionResult(action, "conflict",
                                f"changed since the plan: it saw {_shown(action.before)}, now {_shown(live)}; "
                                "not overwritten")
        attempts = 0
        while True:
            attempts += 1
            outcome = self.writer.write(action)
            if outcome.status == "success":
                return ActionResult(action, "done", outcome.answer, attempts=attempts)
            if outcome.status == "refused" and (outcome.sent or outcome.fatal):
                return ActionResult(action, "failed", outcome.answer, stop=outcome.fatal, attempts=attempts)
            if outcome.status == "unknown":
                live = self._live(action)
                if _matches(live, action):
                    log.warning("%s: %s; read back: as asked", action.key, outcome.answer)
                    return ActionResult(action, "done", f"outcome unknown ({outcome.answer}); read back: as asked",
                                        attempts=attempts)
                if not _same(live, action.before):
                    return ActionResult(action, "conflict",
                                        f"outcome unknown ({outcome.answer}); read back: {_shown(live)}, "
                                        "neither what the plan saw nor what was asked", attempts=attempts)
            if attempts > self.options.backoff.retries:
                return ActionResult(action, "failed",
                                    f"{outcome.answer}; gave up after {attempts} attempts (alias untouched)",
                                    attempts=attempts)
            delay = self.options.backoff.delay(attempts, self._rng)
            log.warning("%s: %s; alias untouched, sending again in %.1fs", action.key, outcome.answer, delay)
            self._sleep(delay)

    def verify(self, results: Sequence[ActionResult]) -> list[ActionResult]:
        """Read back every alias written and fail those that differ from what was asked."""
        written = [r for r in results if r.status == "done"]
        if not written:
            return list(results)
        current = self.reader.read()
        recreated = {fold(r.action.alias_id) for r in written if r.action.kind == "create"}
        checked: list[ActionResult] = []
        for result in results:
            action = result.action
            # the delete half of a replacement is proven by its create's row
            superseded = action.kind == "delete" and fold(action.alias_id) in recreated
            if result.status == "done" and not superseded:
                live = current.aliases.get(fold(action.alias_id))
                if not _matches(live, action):
                    result = replace(result, status="failed",
                                     message=f"VICIdial answered SUCCESS but the database holds "
                                             f"{_shown(live)}, not {_asked(action)}")
            checked.append(result)
        return checked

    def apply(self, plan: Plan) -> ApplyReport:
        version = self.writer.version()
        log.info("apply: VICIdial %s", version)
        self.writer.check_access()
        results = graph.run(plan.actions, self.perform, workers=self.options.workers,
                            fail_fast=self.options.fail_fast, on_result=self.on_result)
        return ApplyReport(tuple(self.verify(results)), version)


def preflight(plan: Plan, current: Current, max_deletes: int | None, max_percent: float | None,
              options: ApplyOptions) -> None:
    """Everything that refuses an apply before its first write."""
    check_phones(plan, current)
    check_delete_limits(plan, max_deletes, max_percent, options.allow_deletes)
