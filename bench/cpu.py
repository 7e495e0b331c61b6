"""CPU time of the parties of a benchmark run on this machine: aliassync, the emulator, MariaDB.

All three share the same cores here, where on a real site the dialer is
another machine: how much each one burns per action says whose work sets
the pace when calls run concurrently. Read from /proc (Linux).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

DATABASE_SERVERS = ("mariadbd", "mysqld")


def process_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process `pid` has used so far; None if it cannot be seen."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total_seconds(pids: Iterable[int]) -> float | None:
    seconds = [process_seconds(pid) for pid in pids]
    return None if not seconds or None in seconds else sum(seconds)


def _database_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in DATABASE_SERVERS:
                    return int(entry.name)
            except OSError:
                continue
    return None


def database_seconds() -> float | None:
    """CPU seconds the local MariaDB server has used so far (None when it cannot be seen)."""
    pid = _database_pid()
    return None if pid is None else process_seconds(pid)
