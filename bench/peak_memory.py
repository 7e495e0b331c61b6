"""Runs a module as `python -m` does, and writes the process's peak resident memory when it ends.

    python -m bench.peak_memory OUTFILE MODULE [ARG...]

writes the kernel's high-water mark of resident memory (`VmHWM` in
/proc/self/status, in kB) to OUTFILE at exit. The usual way, `wait4()`'s
`ru_maxrss`, counts the memory of the benchmark itself: a child's maximum
carries over from before its `exec()`, when it was a copy of the parent.
"""
from __future__ import annotations

import atexit
import runpy
import sys


def _high_water_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _write_peak(path: str) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write(f"{_high_water_kb()}\n")


def main() -> None:
    path, module, *args = sys.argv[1:]
    atexit.register(_write_peak, path)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
