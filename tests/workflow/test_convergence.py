"""Convergence under faults, as properties (hypothesis).

Each example draws a live state and a desired state within VICIdial's rules (ids that differ only
in case, ignored and protected ids, prune on or off), and a schedule of faulty runs (any fault
mode, rate and seed, on writes only or on every call, one worker or four). Every run plans
afresh and applies through the real stack minus the network: the API client, the sandbox's API
emulator behind the fault middleware, and the SQL state reader on the sandbox's SQLite file.
After the faulty runs, one run without faults. Then:

- the live state is the desired state, and a new plan is empty;
- no alias outside the managed set was ever sent a write, and every alias the files do not
  manage is exactly as it was;
- no alias was ever deleted that the files did not ask to delete;
- in every run, the writes sent are the actions started plus the resends that reading back
  justified (a resend only ever follows a call that never reached the database), each action
  is committed at most once, and an action reported done holds what was asked.

CI runs a fixed, bounded set of examples (derandomized). For a longer run:

    ALIASSYNC_PROPERTY_EXAMPLES=2000 python -m pytest tests/workflow/test_convergence.py
"""
from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from dataclasses import dataclass

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aliassync import redaction
from aliassync.workflow.applier import Applier, ApplyOptions, ApplyReport
from aliassync.errors import TargetError
from aliassync.core.model import matches_any
from aliassync.core.model import Desired, DesiredAlias, LiveAlias, Settings, fold
from aliassync.core.planner import plan
from aliassync.sandbox.emulator import make_app
from aliassync.sandbox.faults import MODES, SCOPES, FaultEvent, FaultSpec, with_faults
from aliassync.sandbox.store import init_sandbox, open_store
from aliassync.vicidial.state_reader import SqlStateReader
from aliassync.vicidial.api import ApiClient, ApiWriter

EXAMPLES = int(os.environ.get("ALIASSYNC_PROPERTY_EXAMPLES", "100"))
LOGINS = ("100a", "100b", "100c", "100d", "200a")
IDS = ("s1", "s2", "s3", "s4", "tmp1", "tmp2", "vip1", "vip2")
NAMES = ("Sales", "Support desk", "Team two")
IGNORE, PROTECTED = ("tmp*",), ("vip*",)
ALIAS_WRITES = ("add_phone_alias", "update_phone_alias")

Rows = dict[str, tuple[str, str]]     # live aliases: exact id -> (alias_name, logins_list)


def no_sleep(seconds: float) -> None:
    pass


# ------------------------------------------------------------------ what is drawn

@dataclass(frozen=True)
class Scenario:
    live: Rows
    desired: Desired
    schedule: tuple[FaultSpec, ...]     # one faulty run per spec, then one run without faults
    workers: int


def spelled(alias_id: str) -> st.SearchStrategy[str]:
    return st.sampled_from((alias_id, alias_id.upper()))


values = st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(LOGINS), min_size=1, max_size=3, unique=True))
fault_specs = st.builds(FaultSpec, mode=st.sampled_from(MODES), rate=st.sampled_from((0.25, 0.5, 1.0)),
                        seed=st.integers(0, 2 ** 16), calls=st.sampled_from(SCOPES))


@st.composite
def scenarios(draw) -> Scenario:
    live: Rows = {}
    for alias_id in draw(st.lists(st.sampled_from(IDS), unique=True)):
        name, logins = draw(values)
        live[draw(spelled(alias_id))] = (name, ",".join(logins))
    declared = [draw(declaration(alias_id, live))
                for alias_id in draw(st.lists(st.sampled_from([i for i in IDS if not matches_any(i, IGNORE)]),
                                              unique=True))]
    desired = Desired(tuple(declared), Settings(prune=draw(st.booleans()), ignore=IGNORE, protected=PROTECTED))
    return Scenario(live, desired, tuple(draw(st.lists(fault_specs, min_size=1, max_size=3))),
                    draw(st.sampled_from((1, 4))))


@st.composite
def declaration(draw, alias_id: str, live: Rows) -> DesiredAlias:
    """An alias as the files may declare it: a protected id keeps its live spelling and is never absent."""
    live_id = next((i for i in live if fold(i) == alias_id), None)
    protected = matches_any(alias_id, PROTECTED) is not None
    declared_id = live_id if protected and live_id else draw(spelled(alias_id))
    if not protected and draw(st.booleans()):
        return DesiredAlias(declared_id, None, (), present=False)
    if live_id and draw(st.booleans()):
        name, logins = live[live_id]                        # already as declared
        return DesiredAlias(declared_id, name, tuple(logins.split(",")))
    name, logins = draw(values)
    return DesiredAlias(declared_id, name, tuple(logins))


# ------------------------------------------------------------------ what the files ask for

def managed(live: Rows, desired: Desired) -> set[str]:
    """Folded ids the files manage: those declared, and under prune every live id neither ignored nor protected."""
    declared = {fold(a.alias_id) for a in desired.aliases}
    pruned = {fold(i) for i in live if desired.settings.prune and fold(i) not in declared
              and not matches_any(i, IGNORE) and not matches_any(i, PROTECTED)}
    return declared | pruned


def deletable(live: Rows, desired: Desired) -> set[str]:
    """Folded ids the files ask to delete: absent, pruned, or declared with another case (a replacement)."""
    declared = {fold(a.alias_id): a for a in desired.aliases}
    asked = set()
    for live_id in live:
        want = declared.get(fold(live_id))
        if want is None:
            if fold(live_id) in managed(live, desired):
                asked.add(fold(live_id))
        elif not want.present or want.alias_id != live_id:
            asked.add(fold(live_id))
    return asked


def converged(live: Rows, desired: Desired) -> Rows:
    """The live aliases once the files are applied."""
    final = {fold(i): (i, values) for i, values in live.items()}
    for folded in deletable(live, desired):
        final.pop(folded, None)
    for alias in desired.aliases:
        if alias.present:
            final[fold(alias.alias_id)] = (alias.alias_id, (alias.alias_name, alias.logins_list))
    return dict(final.values())


# ------------------------------------------------------------------ the sandbox

class Dialer:
    """A sandbox file, its state reader, and an API whose faults change from run to run."""

    def __init__(self, directory: str, live: Rows):
        self.path = os.path.join(directory, "dialer.sqlite")
        init_sandbox(self.path, [{"login": login} for login in LOGINS],
                     aliases=[LiveAlias(i, name, logins) for i, (name, logins) in live.items()])
        self.store = open_store(self.path)
        self.reader = SqlStateReader(lambda: sqlite3.connect(self.path, check_same_thread=False), "?",
                                     "sandbox", errors=(sqlite3.Error,), sleep=no_sleep)

    def rows(self) -> Rows:
        return {a.alias_id: (a.alias_name, a.logins_list) for a in self.reader.read().aliases.values()}

    def admin_log(self) -> list[tuple[str, str]]:
        with closing(sqlite3.connect(self.path)) as db:
            return db.execute("SELECT event_type, record_id FROM vicidial_admin_log "
                              "WHERE event_section = 'PHONEALIASES' ORDER BY admin_log_id").fetchall()

    def apply(self, desired: Desired, spec: FaultSpec, workers: int) -> tuple[ApplyReport | None, list[FaultEvent]]:
        """Plan afresh and apply under `spec`; the report (None when the run stopped before writing) and the calls."""
        events: list[FaultEvent] = []
        app = with_faults(make_app(self.store), spec, events.append)
        client = ApiClient("http://sandbox/vicidial/non_agent_api.php", "6666", "1234",
                           transport=httpx.WSGITransport(app=app), sleep=no_sleep)
        applier = Applier(self.reader, ApiWriter(client), ApplyOptions(workers=workers), sleep=no_sleep,
                          rng=random.Random(0))
        try:
            return applier.apply(plan(desired, self.reader.read())), events
        except TargetError:
            return None, events         # the version probe or the access check met the fault
        finally:
            client.close()

    def close(self) -> None:
        self.reader.close()
        self.store.close()


def alias_writes(events: list[FaultEvent]) -> list[FaultEvent]:
    return [e for e in events if e.function in ALIAS_WRITES and e.alias_id]   # the access probes name no alias


# ------------------------------------------------------------------ the properties

def check_run(report: ApplyReport | None, events: list[FaultEvent], committed: list[tuple[str, str]],
              dialer: Dialer, allowed: set[str], unmanaged: Rows) -> None:
    """What holds after every run, faulty or not."""
    writes, rows = alias_writes(events), dialer.rows()
    assert {fold(e.alias_id) for e in writes} <= allowed, "a write to an alias the files do not manage"
    assert {i: rows.get(i) for i in unmanaged} == unmanaged, "an alias the files do not manage changed"
    if report is None:
        assert writes == [] and committed == [], "a run that stopped at the version probe or access check wrote"
        return
    check_writes_were_justified(report, writes, committed)
    check_done_means_done(report, rows)


def check_writes_were_justified(report: ApplyReport, writes: list[FaultEvent],
                                committed: list[tuple[str, str]]) -> None:
    """Writes sent = actions started + resends, and a resend only follows a call that wrote nothing."""
    by_call: dict[tuple[str, str], list[FaultEvent]] = {}
    for event in writes:
        by_call.setdefault((event.function, event.alias_id), []).append(event)
    resends = [e for sent in by_call.values() for e in sent[:-1]]
    assert not any(e.carried_out for e in resends), "a write sent again after one that reached the database"
    assert len(writes) == len(by_call) + len(resends) == sum(r.attempts for r in report.results)
    commits = Counter((kind, fold(record)) for kind, record in committed)
    assert max(commits.values(), default=0) <= 1, "an action committed twice"


def check_done_means_done(report: ApplyReport, rows: Rows) -> None:
    """An action reported done holds what it asked for (a replaced id: what its create asked for)."""
    live = {fold(i): values for i, values in rows.items()}
    created = {fold(r.action.name) for r in report.results if r.action.kind == "create"}
    for result in report.results:
        action = result.action
        if result.status != "done" or (action.kind == "delete" and fold(action.name) in created):
            continue
        asked = None if action.kind == "delete" else (action.after.alias_name, action.after.logins_list)
        held = live.get(fold(action.name))
        assert held == asked, f"{action.key} reported done, but the database holds {held}"


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_faulty_runs_then_one_clean_run_converge_without_collateral(scenario: Scenario):
    redaction.forget_all()
    allowed = managed(scenario.live, scenario.desired)
    unmanaged = {i: values for i, values in scenario.live.items() if fold(i) not in allowed}
    with tempfile.TemporaryDirectory() as directory:
        dialer = Dialer(directory, scenario.live)

        def run(spec: FaultSpec) -> ApplyReport | None:
            before = len(dialer.admin_log())
            report, events = dialer.apply(scenario.desired, spec, scenario.workers)
            check_run(report, events, dialer.admin_log()[before:], dialer, allowed, unmanaged)
            return report

        try:
            for spec in scenario.schedule:
                run(spec)
            clean = run(FaultSpec())
            assert clean is not None and clean.complete, "the run without faults did not finish"
            assert dialer.rows() == converged(scenario.live, scenario.desired)
            assert plan(scenario.desired, dialer.reader.read()).actions == ()
            deleted = {fold(record) for kind, record in dialer.admin_log() if kind == "DELETE"}
            assert deleted <= deletable(scenario.live, scenario.desired)
        finally:
            dialer.close()
    redaction.forget_all()
