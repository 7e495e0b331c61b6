"""The dependency graph runner: order, skipping, fail-fast, stop, cycles."""
import threading

import pytest

from aliassync.core import graph
from aliassync.errors import PlanError
from aliassync.core.graph import ActionResult
from aliassync.core.plan import Action


def act(key, kind="create", deps=()):
    return Action(key, kind, key.split(":")[1], "declared", depends_on=tuple(deps))


PLAN = [act("create:a"), act("update:b", "update"), act("delete:c", "delete", ["all:create", "all:update"]),
        act("delete:d", "delete", ["all:update"]), act("create:d", deps=["delete:d"])]


def runner(outcomes=None, seen=None):
    outcomes = outcomes or {}

    def perform(action):
        if seen is not None:
            seen.append(action.key)
        status, stop = outcomes.get(action.key, ("done", False))
        return ActionResult(action, status, "msg", stop=stop)
    return perform


def test_gates_expand_to_every_action_of_the_kind():
    assert graph.expand_gates(PLAN)["delete:c"] == ("create:a", "create:d", "update:b")


def test_everything_runs_in_dependency_order():
    seen = []
    results = graph.run(PLAN, runner(seen=seen))
    assert [r.status for r in results] == ["done"] * 5
    assert seen.index("delete:d") < seen.index("create:d") < seen.index("delete:c")
    assert seen.index("update:b") < seen.index("delete:d")


def test_dependents_of_a_failure_are_skipped_and_independent_actions_go_on():
    seen = []
    results = graph.run(PLAN, runner({"update:b": ("failed", False)}, seen))
    assert {r.action.key: r.status for r in results} == {
        "create:a": "done", "update:b": "failed", "delete:c": "skipped", "delete:d": "skipped",
        "create:d": "skipped"}
    assert seen == ["create:a", "update:b"]
    skipped = {r.action.key: r.message for r in results if r.status == "skipped"}
    assert skipped["create:d"] == "not run: update:b ended failed"   # the cause, not the chain


def test_fail_fast_starts_nothing_after_the_first_failure():
    plan = [act("create:a"), act("create:b"), act("create:c")]
    results = graph.run(plan, runner({"create:a": ("failed", False)}), fail_fast=True)
    assert [r.status for r in results] == ["failed", "skipped", "skipped"]
    assert results[1].message == "not run: --fail-fast after create:a ended failed"


def test_a_stop_outcome_halts_the_run():
    plan = [act("create:a"), act("create:b")]
    results = graph.run(plan, runner({"create:a": ("failed", True)}))
    assert [r.status for r in results] == ["failed", "skipped"]
    assert results[1].message == "not run: the run stopped after create:a (msg)"


def test_a_cycle_is_refused_before_anything_runs():
    seen = []
    with pytest.raises(PlanError, match="cycle: create:a, create:b"):
        graph.run([act("create:a", deps=["create:b"]), act("create:b", deps=["create:a"])], runner(seen=seen))
    assert seen == []


def test_an_unknown_dependency_is_refused():
    with pytest.raises(PlanError, match="create:a depends on create:zz, which is not in the plan"):
        graph.run([act("create:a", deps=["create:zz"])], runner())


def test_independent_actions_run_on_several_workers_at_once():
    barrier = threading.Barrier(3, timeout=5)

    def perform(action):
        barrier.wait()   # only returns once three actions run at the same time
        return ActionResult(action, "done")

    results = graph.run([act("create:a"), act("create:b"), act("create:c")], perform, workers=3)
    assert [r.status for r in results] == ["done"] * 3
