"""Backoff for retries: exponential, capped, with full jitter.

Full jitter (a random delay between zero and the exponential bound)
spreads the retries of many clients apart instead of synchronising them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5        # seconds; the bound of the first delay
    cap: float = 8.0         # no single delay is longer
    retries: int = 2         # attempts after the first

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before retry number `attempt` (1 for the first retry)."""
        bound = min(self.cap, self.base * (2 ** (attempt - 1)))
        return (rng or random).uniform(0, bound)
