"""Apply progress on stderr: a bar on a terminal, one log line per action otherwise.

Skipped actions come in crowds when a run stops (a refused login skips
every action left): the first few of each reason are shown, the rest are
counted and shown as one line when the last action is in.
"""
from __future__ import annotations

import logging
import threading
from typing import TextIO

from ..core.graph import STATUSES, ActionResult

log = logging.getLogger("aliassync.apply")
WIDTH = 30
SHOWN_ALIKE = 3   # skipped actions shown one by one per reason; the rest are one line


class Progress:
    """Called once per finished action (from the graph runner's thread)."""

    def __init__(self, total: int, stream: TextIO, bar: bool):
        self.total = total
        self.stream = stream
        self.bar = bar
        self.counts = dict.fromkeys(STATUSES, 0)
        self._skipped: dict[str, int] = {}     # reason -> skipped actions with it
        self._lock = threading.Lock()

    def note(self, text: str) -> None:
        """A line of its own on stderr (an interrupt, say), never written onto the bar's line."""
        with self._lock:
            if self.bar:
                self.stream.write("\r\x1b[K" + text + "\n")
                self._draw()
            else:
                self.stream.write(text + "\n")
                self.stream.flush()

    def __call__(self, result: ActionResult) -> None:
        with self._lock:
            self.counts[result.status] += 1
            shown = self._shown(result)
            finished = sum(self.counts.values()) == self.total
            rest = [(n - SHOWN_ALIKE, why) for why, n in self._skipped.items() if n > SHOWN_ALIKE] if finished else []
            if self.bar:
                if result.status != "done" and shown:
                    text = f"{result.status}: {result.action.kind} {result.action.name}: {result.message}"
                    self.stream.write("\r\x1b[K" + text + "\n")   # data, and answers masked at the source
                for count, why in rest:
                    self.stream.write(f"\r\x1b[Kskipped: {count} more action(s): {why}\n")
                self._draw()
                return
        if shown:
            level = logging.INFO if result.status == "done" else logging.WARNING
            note = f" ({result.message})" if result.status != "done" else ""
            log.log(level, "apply: %s %s: %s%s", result.action.kind, result.action.name, result.status, note)
        for count, why in rest:
            log.warning("apply: %d more action(s) skipped (%s)", count, why)

    def _shown(self, result: ActionResult) -> bool:
        """Whether this result gets a line of its own (not a skip beyond the first few alike)."""
        if result.status != "skipped":
            return True
        self._skipped[result.message] = seen = self._skipped.get(result.message, 0) + 1
        return seen <= SHOWN_ALIKE

    def _draw(self) -> None:
        finished = sum(self.counts.values())
        filled = WIDTH * finished // max(1, self.total)
        counts = "  ".join(f"{k} {v}" for k, v in self.counts.items() if v)
        self.stream.write(f"\r[{'#' * filled}{'-' * (WIDTH - filled)}] {finished}/{self.total}  {counts}\x1b[K")
        if finished == self.total:
            self.stream.write("\n")
        self.stream.flush()
