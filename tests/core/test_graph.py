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


def test_one_worker_runs_one_action_at_a_time():
    # --concurrency 1 is how an operator asks for one call at a time (a fragile dialer): never two in flight.
    in_flight, most = [], []
    lock = threading.Lock()

    def perform(action):
        with lock:
            in_flight.append(action.key)
            most.append(len(in_flight))
        with lock:
            in_flight.remove(action.key)
        return ActionResult(action, "done")

    plan = [act(f"create:p{n}") for n in range(6)]
    for workers in (1, 0, -3):   # 0 and less mean one, never none
        most.clear()
        assert [r.status for r in graph.run(plan, perform, workers=workers)] == ["done"] * 6
        assert max(most) == 1


def test_ready_actions_start_in_plan_order_whatever_order_they_became_ready_in():
    # Plan order is the order the reviewer read (here not the keys' alphabetical order): with one worker,
    # d, c, then b (after c) before a (after d), although a became ready first.
    plan = [act("create:d"), act("create:c"), act("create:b", deps=["create:c"]), act("create:a", deps=["create:d"])]
    seen = []
    graph.run(plan, runner(seen=seen))
    assert seen == ["create:d", "create:c", "create:b", "create:a"]


def test_a_slot_freed_by_one_action_is_used_while_another_is_still_in_flight():
    # Two workers: a finishes at once, b waits until c has started. c must start in a's freed slot while b is
    # still in flight, not after every action in flight has ended.
    c_started = threading.Event()

    def perform(action):
        if action.key == "create:b":
            return ActionResult(action, "done" if c_started.wait(timeout=10) else "failed", "c never started")
        if action.key == "create:c":
            c_started.set()
        return ActionResult(action, "done")

    results = graph.run([act("create:a"), act("create:b"), act("create:c")], perform, workers=2)
    assert [r.status for r in results] == ["done", "done", "done"]


def test_a_skipped_action_is_reported_once_when_two_of_its_dependencies_fail():
    # The progress line and the result file get each action once: c waits for a and b, both fail.
    plan = [act("create:a"), act("create:b"), act("update:c", "update", ["create:a", "create:b"]),
            act("update:d", "update", ["update:c"])]
    reported = []
    results = graph.run(plan, runner({"create:a": ("failed", False), "create:b": ("failed", False)}),
                        on_result=reported.append)
    assert sorted(r.action.key for r in reported) == ["create:a", "create:b", "update:c", "update:d"]
    assert [(r.action.key, r.status, r.message) for r in results] == [
        ("create:a", "failed", "msg"), ("create:b", "failed", "msg"),
        ("update:c", "skipped", "not run: create:a ended failed"),
        ("update:d", "skipped", "not run: create:a ended failed")]


def test_a_dependent_already_skipped_does_not_stop_the_others_from_being_skipped_with_their_cause():
    # z fails first, so x (after z and a) is skipped; then a fails: y (after a) must be skipped naming a,
    # although x, met first among a's dependents, was skipped already.
    plan = [act("create:z"), act("create:a"), act("update:y", "update", ["create:a"]),
            act("update:x", "update", ["create:z", "create:a"])]
    results = graph.run(plan, runner({"create:z": ("failed", False), "create:a": ("failed", False)}))
    assert [(r.action.key, r.message) for r in results if r.status == "skipped"] == [
        ("update:y", "not run: create:a ended failed"), ("update:x", "not run: create:z ended failed")]


def test_every_dependent_of_a_failure_is_skipped_with_its_cause_down_the_whole_chain():
    # A branching chain under one failure: every action below it is skipped naming that failure, not "not run".
    plan = [act("create:a"), act("update:b", "update", ["create:a"]), act("update:c", "update", ["create:a"]),
            act("update:d", "update", ["update:b"]), act("update:e", "update", ["update:c"])]
    results = graph.run(plan, runner({"create:a": ("failed", False)}))
    assert {r.action.key: r.message for r in results if r.status == "skipped"} == {
        key: "not run: create:a ended failed" for key in ("update:b", "update:c", "update:d", "update:e")}


def test_without_fail_fast_independent_actions_go_on_after_a_failure():
    plan = [act("create:a"), act("create:b"), act("create:c")]
    assert [r.status for r in graph.run(plan, runner({"create:a": ("failed", False)}))] == ["failed", "done", "done"]


def test_an_interruption_starts_nothing_new_and_finishes_what_is_in_flight():
    interrupted = threading.Event()
    seen = []

    def perform(action):
        seen.append(action.key)
        if action.key == "create:b":
            interrupted.set()            # the signal arrives while b is being written
        return ActionResult(action, "done")

    plan = [act("create:a"), act("create:b"), act("create:c"), act("create:d")]
    results = graph.run(plan, perform, interrupted=interrupted)
    assert seen == ["create:a", "create:b"]
    assert [(r.status, r.message) for r in results] == [
        ("done", ""), ("done", ""), ("skipped", "not run: the apply was interrupted"),
        ("skipped", "not run: the apply was interrupted")]


def test_what_may_have_changed_the_dialer():
    # apply exits 3 (something written) or 1 (nothing written) by this: a refusal or a write never sent wrote nothing.
    action = act("create:a")
    assert ActionResult(action, "done", attempts=1).wrote
    assert ActionResult(action, "unknown", attempts=2).wrote
    assert not ActionResult(action, "done", attempts=0).wrote          # settled without a call (already so)
    assert not ActionResult(action, "failed", attempts=1).wrote
    assert not ActionResult(action, "conflict", attempts=1).wrote
    assert not ActionResult(action, "skipped").wrote
