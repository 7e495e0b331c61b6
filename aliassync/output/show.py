"""`aliassync show`: a plan or a drift check shown again, offline, from what a run kept.

A pipeline plans once and shows that one plan several ways (a PR comment,
a job summary, a text artifact) without reading the dialer again, which
could by then say something else. `show` takes a plan saved with
`plan --out` (checked as apply checks it: written by this format and
unchanged since) or the JSON document `plan`, `drift` or `apply --format
json` printed (checked against `schema/plan.schema.json`), and hands the
document to the same renderers the commands use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import PlanFileError
from ..files.loader import load_schema
from . import drift, planfile, render

PLAN_SCHEMA = "plan.schema.json"


@dataclass(frozen=True)
class Kept:
    document: dict[str, Any]
    checksum: str | None = None       # a saved plan's; None for a printed document

    @property
    def is_drift(self) -> bool:
        return "drift" in self.document


def read(path: str) -> Kept:
    data = planfile.read_json(path)
    if planfile.is_saved_plan(data):
        content, checksum = planfile.checked(path, data)
        return Kept(content["plan"], checksum)
    import jsonschema    # only here: a saved plan needs no schema check

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(load_schema(PLAN_SCHEMA)).iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise PlanFileError(f"{path}: not a plan saved with plan --out nor a document printed by "
                            f"--format json ({where}: {error.message[:200]})")
    return Kept(data)


def show(kept: Kept, fmt: str, details_url: str | None = None) -> str:
    document = kept.document
    if fmt == "json":
        return render.render_json(document)
    if kept.is_drift:
        return drift.RENDERERS[fmt](document, details_url=details_url)
    return render.RENDERERS[fmt](document, details_url=details_url)
