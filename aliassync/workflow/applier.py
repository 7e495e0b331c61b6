"""Carries a Plan out against a target.

Order of business:
1. preflight on a fresh read of the live state: every login that a create
   or update names must be a phone (case-insensitively), the deletes must
   be within the limits, and no delete may strand an agent whose default
   phone login is the alias (unless the run allows it); otherwise the whole
   apply is refused before any write;
2. the writer proves the API answers (`version`), and that the login may
   call each API function the plan needs, with probes that write nothing;
   a plan that deletes also needs the delete right, read from the database
   (no probe can show it without deleting);
3. the actions run as a dependency graph, one API call each; just before
   each write, one cheap read checks that the alias is still what the plan
   saw: if someone else changed it meanwhile, the action is skipped as a
   conflict and their change is never overwritten;
4. a write whose answer is lost is settled by the state, never by a second
   write: the alias is read back until it shows the write or the settle
   time (counted from the send) has passed; as asked, it is done; changed
   otherwise, a conflict; untouched after the settle time, it is sent again
   within the retry budget. A refusal that depends on the state (ALREADY
   EXISTS, DOES NOT EXIST) is checked against the state too: after a lost
   answer it usually means the first write landed;
5. every alias written is read back (only those) and compared with what
   was asked: VICIdial answers SUCCESS even when the database cut a value.

A run that loses the API or the database, or is interrupted, starts
nothing new; what is in flight is finished and settled, and every action
gets a status (`unknown` when a write was sent and its outcome could not
be settled).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from ..core import graph, refusals
from ..errors import AliassyncError, RefusedError
from ..files import secrets
from ..core.graph import ActionResult
from ..core import phone as phone_kind
from ..core.kinds import KINDS
from ..core.model import Current, fold
from ..core.plan import Action, Plan, counted
from ..retry import Backoff
from ..core.target import StateReader, Writer

log = logging.getLogger("aliassync.apply")

DEFAULT_SETTLE = 10.0   # seconds a write whose answer was lost is given to show in the state
FIRST_LOOK = 0.1        # seconds before the first read-back after a lost answer; the gaps double
LONGEST_LOOK = 2.0      # ... up to this


@dataclass(frozen=True)
class ApplyOptions:
    allow_deletes: int | None = None     # --allow-deletes N: up to N deletes whatever the limits say
    allow_in_use: bool = False           # --allow-in-use-deletes: delete aliases agents log in with
    fail_fast: bool = False
    workers: int = 1
    backoff: Backoff = field(default_factory=Backoff)   # resends after an unanswered write or no connection
    settle: float = DEFAULT_SETTLE


class Interruption:
    """Ctrl-C / SIGTERM during the writes: the first stops new work, a second stops waiting.

    Set from a signal handler; read by the graph runner (start nothing new)
    and by the applier (send nothing again; a second signal also ends the
    wait for a lost answer to show, leaving that action `unknown`).
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.reason = ""

    def signal(self, name: str) -> None:
        if self.stop.is_set():
            self.abort.set()
        else:
            self.reason = name
            self.stop.set()


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ActionResult, ...]
    version: str | None = None
    unverified: str | None = None      # why the read-back after the writes could not be done

    @property
    def counts(self) -> dict[str, int]:
        return graph.summarize(self.results)

    @property
    def complete(self) -> bool:
        return self.unverified is None and all(r.status == "done" for r in self.results)

    @property
    def wrote(self) -> bool:
        """Whether anything may have been written."""
        return any(r.wrote for r in self.results)


def missing_phones(plan: Plan, current: Current) -> dict[str, list[str]]:
    """Each login that is not a phone (nor one the plan creates), with the aliases (in plan order) naming it."""
    created = {fold(a.name) for a in plan.actions if a.resource == "phone" and a.kind == "create"}
    missing: dict[str, list[str]] = {}
    for action in plan.actions:
        if action.after is None or action.resource != "alias":
            continue
        for login in action.after.phone_logins:
            if not current.has_phone(login) and fold(login) not in created:
                missing.setdefault(login, []).append(action.name)
    return missing


def check_phones(plan: Plan, current: Current) -> None:
    missing = missing_phones(plan, current)
    if missing:
        listed = "; ".join(f"{login} (in {', '.join(aliases)})" for login, aliases in missing.items())
        raise RefusedError(f"apply refused, nothing written: {len(missing)} login(s) are not phones: {listed}")


def check_references(plan: Plan, current: Current) -> None:
    """Refuse phone actions naming a server or conf template the dialer does not have (a saved plan's
    too: the dialer may have lost one since it was made)."""
    unknown = [found for action in plan.actions if (found := phone_kind.unknown_references(action, current))]
    if unknown:
        raise RefusedError(f"apply refused, nothing written: {'; '.join(unknown)}")


def check_passwords(plan: Plan) -> None:
    """Refuse a plan whose password references cannot be read now (a saved plan applied where a
    variable is not set or a file is missing): found before the first write, not at that phone's turn."""
    unreadable = [f"phone {action.name}: {field} {ref}: {found}" for action in plan.actions
                  if action.resource == "phone" and action.after is not None
                  for field, ref in action.after.secrets.items() if (found := secrets.problem(ref))]
    if unreadable:
        raise RefusedError(f"apply refused, nothing written: {'; '.join(unreadable)}")


def check_delete_limits(plan: Plan, max_deletes: int | None, max_percent: float | None,
                        allow: int | None) -> None:
    """Refuse more deletes than the settings allow, unless the run allows that many."""
    reason = refusals.delete_limit(plan, max_deletes, max_percent, allow)
    if reason:
        raise RefusedError(f"apply refused, nothing written: {reason}")


def check_in_use(plan: Plan, current: Current, allowed: bool) -> None:
    """Refuse deletes of aliases agents log in with, or that cannot be checked, unless allowed."""
    reason = refusals.agents_stranded(plan, current, allowed)
    if reason:
        raise RefusedError(f"apply refused, nothing written: {reason}")


def _kind(action: Action):
    return KINDS[action.resource]


def _matches(live, action: Action) -> bool:
    """Whether the live row is what the action asked for (see core/alias.py, core/phone.py)."""
    return _kind(action).matches(live, action)


def _same(live, action: Action) -> bool:
    """Whether the live row is still the one the plan saw."""
    return _kind(action).same(live, action.before)


def _shown(live, action: Action) -> str:
    return _kind(action).shown(live)


class _Tracked:
    """What one action has done so far, for an outcome decided by an exception."""

    def __init__(self) -> None:
        self.attempts = 0
        self.uncertain: str | None = None   # the last write's outcome is not known (yet)
        self.lost: str | None = None        # an earlier write's answer was lost and it did not show in time


def functions_needed(plan: Plan) -> dict[str, str]:
    """Each API function the plan calls, with what it is needed for.

    Aliases: add_phone_alias creates, update_phone_alias updates and
    deletes. Phones: add_phone creates, update_phone updates and deletes
    (`delete_phone=Y`).
    """
    needed: dict[str, str] = {}
    for resource, add, update, noun in (("alias", "add_phone_alias", "update_phone_alias", ""),
                                        ("phone", "add_phone", "update_phone", "phone ")):
        counts = {kind: 0 for kind in ("create", "update", "delete")}
        for action in plan.actions:
            if action.resource == resource:
                counts[action.kind] += 1
        creates, updates, deletes = counts["create"], counts["update"], counts["delete"]
        if creates:
            needed[add] = f"{creates} {noun}create(s)"
        if updates or deletes:
            needed[update] = ", ".join(part for part in (updates and f"{updates} {noun}update(s)",
                                                         deletes and f"{deletes} {noun}delete(s)") if part)
    return needed


class Applier:
    def __init__(self, reader: StateReader, writer: Writer, options: ApplyOptions = ApplyOptions(),
                 on_result: Callable[[ActionResult], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic, interruption: Interruption | None = None):
        self.reader = reader
        self.writer = writer
        self.options = options
        self.on_result = on_result
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self.interruption = interruption or Interruption()

    def _live(self, action: Action):
        """The row the action is about, read just before or after the write."""
        if action.resource == "phone":
            return self.reader.read_phone_at(action.name, *phone_kind.action_key(action))
        return self.reader.read_aliases([action.name]).get(fold(action.name))

    def _wait(self, seconds: float, until: threading.Event) -> bool:
        """Sleep `seconds`, or less if `until` is set; whether it was set."""
        if until.is_set():
            return True
        if self._sleep is time.sleep:
            return until.wait(seconds)
        self._sleep(seconds)
        return until.is_set()

    def perform(self, action: Action) -> ActionResult:
        """Check for a foreign change, write, and settle the outcome; see the module doc."""
        tracked = _Tracked()
        try:
            return self._perform(action, tracked)
        except AliassyncError as error:   # the live state could not be read: the run cannot go on safely
            if tracked.uncertain is not None:
                return ActionResult(action, "unknown", f"{tracked.uncertain}; then the state could not be read "
                                    f"to settle it: {error}", stop=True, attempts=tracked.attempts)
            if tracked.attempts == 0:
                return ActionResult(action, "failed", f"not sent: the live state could not be read: {error}",
                                    stop=True)
            return ActionResult(action, "failed", f"not written; then the live state could not be read: {error}",
                                stop=True, attempts=tracked.attempts)

    def _perform(self, action: Action, tracked: _Tracked) -> ActionResult:
        live = self._live(action)
        if not _same(live, action):
            if _matches(live, action):
                return ActionResult(action, "done", "already as asked; nothing sent")
            return ActionResult(action, "conflict",
                                f"changed since the plan: it saw {_shown(action.before, action)}, now {_shown(live, action)}; "
                                "not overwritten")
        backoff = self.options.backoff
        while True:
            tracked.attempts += 1
            attempts = tracked.attempts
            started = self._clock()
            try:
                outcome = self.writer.write(action)
            except AliassyncError as error:   # refused before sending (a password that cannot be read)
                tracked.attempts -= 1
                if tracked.lost is not None:   # a resend: the first write's answer was lost, and it did not land
                    return ActionResult(action, "failed", f"{tracked.lost}; read back: not written; not sent again: "
                                        f"{error}", stop=True, attempts=tracked.attempts)
                return ActionResult(action, "failed", f"not sent: {error}", stop=True)   # a first send: none made
            took = self._clock() - started
            if outcome.status == "success":
                return ActionResult(action, "done", outcome.answer, attempts=attempts)
            if outcome.status == "refused" and outcome.sent:
                # (a lost answer is settled, or moved to `tracked.lost`, before anything is sent again)
                if not outcome.settle_by_state:
                    return ActionResult(action, "failed", outcome.answer, stop=outcome.fatal, attempts=attempts)
                return self._settle_refusal(action, outcome.answer, tracked)   # never fatal: it is about the state
            if outcome.status == "unknown":
                tracked.uncertain = f"outcome unknown ({outcome.answer})"
                live, settled = self._settle(action, took)
                if not settled:
                    return ActionResult(action, "unknown", f"{tracked.uncertain}; the apply was stopped before "
                                        f"the write showed; read back: {_shown(live, action)}", attempts=attempts)
                if _matches(live, action):
                    log.warning("%s: %s; read back: as asked", action.key, outcome.answer)
                    return ActionResult(action, "done", f"{tracked.uncertain}; read back: as asked",
                                        attempts=attempts)
                if not _same(live, action):
                    return ActionResult(action, "conflict",
                                        f"{tracked.uncertain}; read back: {_shown(live, action)}, "
                                        "neither what the plan saw nor what was asked", attempts=attempts)
                # not shown within the settle time: sending it again is safe (a refusal of the resend
                # that depends on the state then tells the first write landed late)
                tracked.lost, tracked.uncertain = tracked.uncertain, None
            # not written: no connection, or a lost answer the state proves did not land
            if attempts > backoff.retries:
                if not outcome.sent:
                    return ActionResult(action, "failed", f"{outcome.answer}; gave up after {attempts} attempts; "
                                        "the run stops", stop=True, attempts=attempts)
                return ActionResult(action, "failed", f"{outcome.answer}; gave up after {attempts} attempts "
                                    "(read back: not written)", attempts=attempts)
            delay = backoff.delay(attempts, self._rng)
            if self._wait(delay, self.interruption.stop):
                return ActionResult(action, "failed", f"{outcome.answer}; not sent again: the apply was "
                                    "interrupted (read back: not written)", attempts=attempts)
            log.warning("%s: %s; not written, sending again in %.1fs", action.key, outcome.answer, delay)

    def _settle(self, action: Action, waited: float) -> tuple[object, bool]:
        """Read the row back until it shows the write, or the settle time has passed since the send.

        Returns the last row read and whether the look was completed (False
        when a second interrupt ended it early). A row that shows neither
        what the plan saw nor what was asked ends the look at once.
        """
        gap = FIRST_LOOK
        while True:
            live = self._live(action)
            if _matches(live, action) or not _same(live, action):
                return live, True
            if waited >= self.options.settle:
                return live, True
            step = min(gap, LONGEST_LOOK, self.options.settle - waited)
            if self._wait(step, self.interruption.abort):
                return live, False
            waited += step
            gap *= 2

    def _settle_refusal(self, action: Action, answer: str, tracked: _Tracked) -> ActionResult:
        """A refusal after a lost answer, or one that depends on the state: the state decides."""
        live = self._live(action)
        attempts = tracked.attempts
        earlier = tracked.lost
        if _matches(live, action):
            if earlier is not None:
                message = f"{earlier}; the resend was refused ({answer}): read back: as asked, so the first write landed"
            else:
                message = f"already as asked (VICIdial answered: {answer})"
            return ActionResult(action, "done", message, attempts=attempts)
        if _same(live, action):
            return ActionResult(action, "failed", answer, attempts=attempts)
        return ActionResult(action, "conflict", f"{answer}; read back: {_shown(live, action)}, neither what the plan saw "
                            "nor what was asked; not overwritten", attempts=attempts)

    def verify(self, results: Sequence[ActionResult]) -> tuple[list[ActionResult], str | None]:
        """Read back what was written (only that) and fail the actions whose row differs from what was asked."""
        written = [r for r in results if r.status == "done"]
        if not written:
            return list(results), None
        try:
            aliases = self.reader.read_aliases([r.action.name for r in written if r.action.resource == "alias"])
            phone_logins = [r.action.name for r in written if r.action.resource == "phone"]
            phones = self.reader.read_phone_rows(phone_logins) if phone_logins else {}
        except AliassyncError as error:
            log.warning("apply: the read-back of %d written action(s) failed: %s", len(written), error)
            return list(results), str(error)
        recreated = {(r.action.resource, fold(r.action.name)) for r in written if r.action.kind == "create"}
        checked: list[ActionResult] = []
        for result in results:
            action = result.action
            # the delete half of a replacement is proven by its create's row
            superseded = action.kind == "delete" and (action.resource, fold(action.name)) in recreated
            if result.status == "done" and not superseded:
                if action.resource == "phone":
                    live = phone_kind.row_for(action, phones.get(fold(action.name), ()))
                else:
                    live = aliases.get(fold(action.name))
                if not _matches(live, action):
                    kind = _kind(action)
                    result = replace(result, status="failed",
                                     message=f"VICIdial answered SUCCESS but the database holds "
                                             f"{kind.shown(live)}, not {kind.asked(action)}")
            checked.append(result)
        return checked, None

    def prove_access(self, plan: Plan) -> None:
        """Every API function the plan calls, and the delete right if it deletes; nothing is written."""
        self.writer.check_access(functions_needed(plan))
        deletes = [a for a in plan.actions if a.kind == "delete"]
        if not deletes:
            return
        what = " and ".join(dict.fromkeys("phones" if a.resource == "phone" else "phone aliases" for a in deletes))
        deletes = counted(a.resource for a in deletes)
        user = self.writer.user
        right = self.reader.delete_right(user)
        if right is None:
            raise RefusedError(f"apply refused, nothing written: the plan deletes {deletes}, but whether "
                               f"API user {user} may delete cannot be read (vicidial_users.ast_delete_phones); "
                               f"{self.reader.delete_right_remedy}")
        if not right:
            raise RefusedError(f"apply refused, nothing written: the plan deletes {deletes}, but API user "
                               f"{user} may not delete {what} (vicidial_users.ast_delete_phones is not 1)")

    def apply(self, plan: Plan) -> ApplyReport:
        version = self.writer.version()
        log.info("apply: VICIdial %s", version)
        self.prove_access(plan)
        results = graph.run(plan.actions, self.perform, workers=self.options.workers,
                            fail_fast=self.options.fail_fast, on_result=self.on_result,
                            interrupted=self.interruption.stop)
        checked, unverified = self.verify(results)
        return ApplyReport(tuple(checked), version, unverified)


def preflight(plan: Plan, current: Current, max_deletes: int | None, max_percent: float | None,
              options: ApplyOptions) -> None:
    """Everything that refuses an apply before its first write, on a fresh read of the live state."""
    check_phones(plan, current)
    check_references(plan, current)
    check_passwords(plan)
    check_delete_limits(plan, max_deletes, max_percent, options.allow_deletes)
    check_in_use(plan, current, options.allow_in_use)
