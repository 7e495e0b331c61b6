"""Apply progress on stderr: a bar on a terminal, one log line per action otherwise."""
from __future__ import annotations

import logging
import threading
from typing import TextIO

from .graph import STATUSES, ActionResult

log = logging.getLogger("aliassync.apply")
WIDTH = 30


class Progress:
    """Called once per finished action (from the graph runner's thread)."""

    def __init__(self, total: int, stream: TextIO, bar: bool):
        self.total = total
        self.stream = stream
        self.bar = bar
        self.counts = dict.fromkeys(STATUSES, 0)
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
            if self.bar:
                if result.status != "done":
                    text = f"{result.status}: {result.action.kind} {result.action.alias_id}: {result.message}"
                    self.stream.write("\r\x1b[K" + text + "\n")   # data, and answers masked at the source
                self._draw()
                return
        level = logging.INFO if result.status == "done" else logging.WARNING
        note = f" ({result.message})" if result.status != "done" else ""
        log.log(level, "apply: %s %s: %s%s", result.action.kind, result.action.alias_id, result.status, note)

    def _draw(self) -> None:
        finished = sum(self.counts.values())
        filled = WIDTH * finished // max(1, self.total)
        counts = "  ".join(f"{k} {v}" for k, v in self.counts.items() if v)
        self.stream.write(f"\r[{'#' * filled}{'-' * (WIDTH - filled)}] {finished}/{self.total}  {counts}\x1b[K")
        if finished == self.total:
            self.stream.write("\n")
        self.stream.flush()
