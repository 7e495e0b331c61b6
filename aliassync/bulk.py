"""Building large structures in bulk: the cyclic garbage collector paused meanwhile.

Loading 100,000 aliases and half a million phones creates millions of
container objects, none of them in a reference cycle. CPython's cyclic
collector still walks every one of them again each time the heap grows by
a quarter: at that size, 40% of the time of reading the files and the
state. Paused while a stage builds its values, the collector looks at
them once, on its next run after the stage.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside; the collector as it was after (nesting is fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
