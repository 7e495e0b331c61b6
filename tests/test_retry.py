"""Backoff and retrying: exponential with full jitter, bounded in count and in time."""
from __future__ import annotations

import random

import pytest

from aliassync.retry import READS, Backoff, retrying


class Passing(Exception):
    pass


class Lasting(Exception):
    pass


def failing(*failures: Exception, then: str = "answer"):
    """A call that raises each of `failures` in turn, then returns `then`; `.calls` counts the calls."""
    queue = list(failures)

    def call() -> str:
        call.calls += 1
        if queue:
            raise queue.pop(0)
        return then

    call.calls = 0
    return call


def transient(failure: Exception) -> bool:
    return isinstance(failure, Passing)


def test_each_delay_is_drawn_below_a_doubling_bound_up_to_the_cap():
    backoff = Backoff(base=0.5, cap=2.0)
    rng = random.Random(1)
    delays = [backoff.delay(attempt, rng) for attempt in (1, 2, 3, 4, 5) for _ in range(200)]
    bounds = [0.5, 1.0, 2.0, 2.0, 2.0]
    for attempt, bound in enumerate(bounds):
        drawn = delays[attempt * 200:(attempt + 1) * 200]
        assert 0 <= min(drawn) and max(drawn) <= bound
        assert max(drawn) > 0.9 * bound          # full jitter: the whole range, not a fixed step


def test_transient_failures_are_retried_until_the_call_answers():
    call, sleeps, told = failing(Passing("503"), Passing("reset")), [], []

    assert retrying(call, transient, READS, sleep=sleeps.append,
                    on_retry=lambda failure, n, delay: told.append((str(failure), n))) == "answer"

    assert call.calls == 3
    assert told == [("503", 1), ("reset", 2)]
    assert len(sleeps) == 2 and sleeps[0] <= READS.base and sleeps[1] <= 2 * READS.base


def test_a_lasting_failure_is_raised_at_once():
    call, sleeps = failing(Lasting("access denied")), []

    with pytest.raises(Lasting):
        retrying(call, transient, READS, sleep=sleeps.append)

    assert (call.calls, sleeps) == (1, [])


def test_retries_stop_at_the_count():
    call, sleeps = failing(*[Passing(f"try {n}") for n in range(10)]), []

    with pytest.raises(Passing) as last:
        retrying(call, transient, Backoff(retries=3), sleep=sleeps.append)

    assert (call.calls, len(sleeps), str(last.value)) == (4, 3, "try 3")


def test_retries_stop_at_the_time_budget():
    now = [0.0]
    call = failing(*[Passing("slow") for _ in range(10)])

    def sleep(seconds: float) -> None:
        now[0] += seconds + 5.0      # and each attempt itself takes 5 s

    with pytest.raises(Passing):
        retrying(call, transient, Backoff(base=1.0, cap=1.0, retries=10, budget=10.0), sleep=sleep,
                 clock=lambda: now[0])

    assert call.calls == 3           # a third retry would start after 10 s
