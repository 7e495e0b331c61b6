"""Fitting a markdown output into one pull-request comment.

GitHub refuses a comment over 65,536 characters. Sizes here are counted
as UTF-16 code units (`width`), which is never fewer than the characters
however they are counted (an emoji is one code point but two units), so
the budget holds whichever way GitHub counts. A markdown plan or drift report is a fixed head (what must
always show: the summary, refusals, the chart) followed by parts that may
be cut (the actions of one kind, the warnings, the names left alone),
each a run of whole entries between an opening and a closing. When the
whole does not fit, each part shows as many of its first entries as its
share of the room allows, never part of an entry, and a note after the
head says how many were left out and where the whole can be read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

GITHUB_COMMENT_LIMIT = 65_536
# Room kept for what a pipeline adds around the output (the `Saved plan:` line, a footer).
MARGIN = 1_536
BUDGET = GITHUB_COMMENT_LIMIT - MARGIN


def width(text: str) -> int:
    """The size of `text` in UTF-16 code units: its characters, an astral one (an emoji) counted twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True)
class Part:
    """A part that may be cut: `entries` joined by `joiner` inside `frame(shown)` (opening, closing)."""

    entries: Sequence[str]
    frame: Callable[[int], tuple[str, str]]
    joiner: str = "\n"

    def rendered(self, shown: int) -> str:
        if not self.entries:
            return ""
        opening, closing = self.frame(shown)
        return opening + self.joiner.join(self.entries[:shown]) + closing

    def frame_size(self) -> int:
        """The longest the frame can be, whatever is shown: with none shown (a frame may say so in
        words), cut (it counts what it shows: no count is wider than total - 1) or whole."""
        total = len(self.entries)
        if not total:
            return 0
        return max(width("".join(self.frame(shown))) for shown in (0, total - 1, total))

    def size(self) -> int:
        """The size of every entry with the joiners between them."""
        return sum(map(width, self.entries)) + width(self.joiner) * max(len(self.entries) - 1, 0)

    def fitting(self, room: int) -> tuple[int, int]:
        """How many first entries fit in `room`, and their size."""
        used = shown = 0
        for entry in self.entries:
            more = width(entry) + (width(self.joiner) if shown else 0)
            if used + more > room:
                break
            used += more
            shown += 1
        return shown, used


def allot(parts: Sequence[Part], room: int) -> list[int]:
    """How many entries of each part to show in `room` characters, shared fairly: a part smaller
    than its share shows whole and leaves the rest to the others, the larger ones split what is left."""
    order = sorted(range(len(parts)), key=lambda index: parts[index].size())
    shown: dict[int, int] = {}
    left = room
    for done, index in enumerate(order):
        shown[index], used = parts[index].fitting(left // (len(order) - done))
        left -= used
    return [shown[index] for index in range(len(parts))]


def compose(head: str, parts: Sequence[Part], note: Callable[[Sequence[int]], str],
            budget: int = BUDGET) -> str:
    """`head`, then every part whole; or, when that is over `budget`, `head`, `note(shown)` and each
    part cut to its first `shown` entries. `note` is no longer for fewer entries left out."""
    totals = [len(part.entries) for part in parts]
    whole = head + "".join(part.rendered(total) for part, total in zip(parts, totals))
    if width(whole) <= budget:
        return whole.rstrip("\n") + "\n"
    fixed = width(head) + width(note([0] * len(parts))) + sum(part.frame_size() for part in parts)
    shown = allot(parts, budget - fixed)
    return (head + note(shown) + "".join(part.rendered(n) for part, n in zip(parts, shown))).rstrip("\n") + "\n"


def shown_of(shown: int, total: int) -> str:
    """How a cut part's summary counts its entries: `1,234` or `120 of 1,234 shown`."""
    return f"{total:,}" if shown == total else f"{shown:,} of {total:,} shown"


def left_out(counts: Sequence[tuple[str, int, int]]) -> str:
    """`3,880 of 10,000 actions and 10 of 40 warnings` from (what, shown, total), leaving out what is whole."""
    cut = [f"{total - shown:,} of {total:,} {what}" for what, shown, total in counts if shown < total]
    return ", ".join(cut[:-1]) + (" and " if len(cut) > 1 else "") + cut[-1] if cut else ""


def cut_note(counts: Sequence[tuple[str, int, int]], where: str) -> str:
    """The note a cut output carries after its head: what was left out, and where the whole is."""
    return (f"> [!NOTE]\n> Cut to fit a GitHub comment ({GITHUB_COMMENT_LIMIT:,} characters): "
            f"{left_out(counts)} not shown here. {where}\n\n")


def clipped(text: str, limit: int, sep: str = "; ") -> str:
    """`text`, or its start up to the last `sep` within `limit` characters and `…` (a refusal naming
    thousands of aliases must not crowd out the comment)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(sep, 0, limit)
    return (text[:cut] if cut > 0 else text[:limit]) + f"{sep.rstrip()} … (cut here; the whole in the full output)"
