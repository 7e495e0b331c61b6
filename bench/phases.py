"""Where a plan's time goes: each stage of the pipeline timed in one process.

    python -m bench.phases DESIRED SANDBOX

prints the seconds of each stage as JSON. The stages are the ones
`aliassync plan` runs (see aliassync/cli.py), called through the same
public functions, on the same fixture:

    import    python -c 'import aliassync.cli' minus bare python -c ''
    load      loader.load(): read the YAML, check it against the schema and the rules
    read      the state reader's two queries, rows into a `Current`
    plan      planner.plan(), warnings included
    render    the plan as the text a user sees
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence, TypeVar

from aliassync.files import loader
from aliassync.output import render
from aliassync.core.planner import plan as make_plan
from aliassync.workflow.targets import TargetOptions, resolve

T = TypeVar("T")


@dataclass(frozen=True)
class Phases:
    imports: float
    load: float
    read: float
    plan: float
    render: float

    @property
    def total(self) -> float:
        return self.imports + self.load + self.read + self.plan + self.render


def _timed(step: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = step()
    return result, time.perf_counter() - start


def _process_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def import_seconds(repeat: int = 3) -> float:
    """What importing the command line costs on top of starting Python."""
    bare = min(_process_seconds("") for _ in range(repeat))
    full = min(_process_seconds("import aliassync.cli") for _ in range(repeat))
    return full - bare


def measure(paths: Sequence[str], options: TargetOptions) -> Phases:
    """Each stage of one plan of `paths` against the target `options` names."""
    gc.collect()
    desired, load = _timed(lambda: loader.load(paths))
    target = resolve(options)
    try:
        current, read = _timed(target.reader.read)
    finally:
        target.close()
    result, planned = _timed(lambda: make_plan(desired, current))
    _, rendered = _timed(lambda: render.render(render.plan_document(result, target=target.description), "text"))
    return Phases(import_seconds(), load, read, planned, rendered)


def main(argv: Sequence[str]) -> int:
    desired, sandbox = argv
    print(json.dumps(asdict(measure([desired], TargetOptions(sandbox=sandbox)))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
