"""Backoff for retries: exponential, capped, with full jitter, bounded in count and in time.

Full jitter (a random delay between zero and the exponential bound)
spreads the retries of many clients apart instead of synchronising them.

Only calls that cannot change anything are retried here (the version
probe, state reads). A write whose outcome is unknown is settled by the
applier, which reads the alias back before it sends anything again.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5        # seconds; the bound of the first delay
    cap: float = 8.0         # no single delay is longer
    retries: int = 2         # attempts after the first
    budget: float = 60.0     # seconds; no retry starts later than this after the first attempt
                             # (retrying() honours both bounds; the applier's resends count `retries`)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before retry number `attempt` (1 for the first retry)."""
        bound = min(self.cap, self.base * (2 ** (attempt - 1)))
        return (rng or random).uniform(0, bound)

    def allows(self, attempt: int, elapsed: float) -> bool:
        """Whether retry number `attempt` may start `elapsed` seconds after the first attempt."""
        return attempt <= self.retries and elapsed <= self.budget


# Reads that write nothing (the version probe, state reads): a few more
# tries than a write gets, within 20 seconds in all.
READS = Backoff(base=0.25, cap=4.0, retries=4, budget=20.0)


def retrying(call: Callable[[], T], is_transient: Callable[[Exception], bool], backoff: Backoff = READS, *,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
             rng: random.Random | None = None,
             on_retry: Callable[[Exception, int, float], None] | None = None) -> T:
    """`call()`, called again after each transient failure while `backoff` allows.

    The last failure is raised as it is: a failure that is not transient at
    once, a transient one when the count or the time budget is spent.
    `on_retry(failure, retry_number, delay)` is told before each sleep.
    """
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as failure:
            if not is_transient(failure):
                raise
            attempt += 1
            delay = backoff.delay(attempt, rng)
            if not backoff.allows(attempt, clock() - started + delay):
                raise
            if on_retry is not None:
                on_retry(failure, attempt, delay)
            sleep(delay)
