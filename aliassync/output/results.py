"""`apply --result FILE`: the outcome of every action, as one JSON document.

Written on every way apply ends (done, partly failed, refused before any
write), so a pipeline always has something to read. It holds no secret:
only data, VICIdial's answers (their password echo masked) and error lines
masked where they were made; so it is written as it is, and a login that
equals a password stays readable.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from .. import __version__
from ..workflow.applier import ApplyReport
from ..core.graph import summarize
from .render import subject

FORMAT = 1


def document(target: str | None, report: ApplyReport | None, exit_code: int, *, error: str | None = None,
             plan_checksum: str | None = None, interrupted: str | None = None) -> dict[str, Any]:
    """Every action's outcome; `apply --format json` nests the same document under `apply`."""
    results = [] if report is None else [
        {"key": r.action.key, "action": r.action.kind, **subject(r.action.resource, r.action.name), "status": r.status,
         "message": r.message, "attempts": r.attempts}
        for r in report.results]
    counts = report.counts if report else summarize(())
    return {
        "format_version": FORMAT,
        "aliassync_version": __version__,
        "target": target,
        "plan_checksum": plan_checksum,
        "exit_code": exit_code,
        "error": error,
        "interrupted": interrupted,
        "verified": None if report is None else report.unverified is None,
        "summary": counts,
        "results": results,
    }


def write(path: str, target: str | None, report: ApplyReport | None, exit_code: int, *, error: str | None = None,
          plan_checksum: str | None = None, interrupted: str | None = None) -> None:
    text = json.dumps(document(target, report, exit_code, error=error, plan_checksum=plan_checksum,
                               interrupted=interrupted), indent=2)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".aliassync-result-", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.replace(temporary, path)
