"""Runs one command as a user would and measures it from outside.

Wall time is from start to exit; peak memory is the child's own high-water
mark of resident memory, written by `bench.peak_memory` as it exits, so
nothing the benchmark itself holds counts.
Lines on stderr are timestamped as they arrive, so that a phase of a run
(such as apply's writes) can be timed from its log lines.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

PYTHON = sys.executable
REPOSITORY = Path(__file__).resolve().parent.parent     # put on PYTHONPATH: the child runs bench.peak_memory
_measured_code: list[str] = []                          # another checkout whose aliassync the children run


def measure_code_from(checkout: str | None) -> None:
    """Run the aliassync of another checkout in the measured processes (fixtures still come from this one)."""
    _measured_code[:] = [str(Path(checkout).resolve())] if checkout else []


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    exit_code: int
    seconds: float
    cpu_seconds: float           # user + system time of the process
    peak_rss_mb: float
    stdout: str
    stderr: tuple[tuple[float, str], ...]     # (seconds since start, line)

    def first_line_at(self, prefix: str) -> float | None:
        """When the first stderr line starting with `prefix` arrived."""
        return next((at for at, line in self.stderr if line.startswith(prefix)), None)


def _children_cpu() -> float:
    """CPU seconds of the children waited for so far (one child runs at a time)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _collect(stream, start: float, lines: list[tuple[float, str]]) -> None:
    for raw in stream:
        lines.append((time.perf_counter() - start, raw.decode("utf-8", "replace").rstrip("\n")))


def run_module(module: str, *args: str, env: Mapping[str, str] | None = None,
               expect: Sequence[int] = (0,)) -> Run:
    """`python -m module args...` to its end; an exit code not in `expect` is an error showing its stderr."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [*_measured_code, str(REPOSITORY),
                                                              environment.get("PYTHONPATH")]))
    environment["PYTHONSAFEPATH"] = "1"     # `-m` must not put the working directory first on sys.path
    lines: list[tuple[float, str]] = []
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as peak:
        argv = (PYTHON, "-m", "bench.peak_memory", peak.name, module, *args)
        cpu_before = _children_cpu()
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=environment)
        reader = threading.Thread(target=_collect, args=(child.stderr, start, lines), daemon=True)
        reader.start()
        exit_code = child.wait()
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu_before
        reader.join()
        child.stderr.close()
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        peak_kb = int(peak.read() or 0)
    result = Run((module, *args), exit_code, seconds, cpu, peak_kb / 1024, stdout, tuple(lines))
    if result.exit_code not in expect:
        tail = "\n".join(line for _, line in lines[-20:])
        raise RuntimeError(f"python -m {module} {' '.join(args)} exited {result.exit_code}, "
                           f"expected {list(expect)}:\n{tail}")
    return result


def aliassync(*args: str, env: Mapping[str, str] | None = None, expect: Sequence[int] = (0,)) -> Run:
    """The aliassync command line (`python -m aliassync`), in a process of its own."""
    return run_module("aliassync", *args, env=env, expect=expect)
