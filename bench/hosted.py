"""Hosted mode's cost: a plan that reads the live state through admin.php's screens, over real HTTP on 127.0.0.1.

A SQLite sandbox of 2,000 aliases and 6,000 phones (three a alias, one in
fifty inactive) is served by the sandbox server (API and admin screens);
two plans are measured in this process, each the best of `repeat`:

- aliases only (10% of them changed): the 4 list pages and one page per
  inactive phone;
- the same with every phone declared, passwords included: the server list
  and one page per phone more.

The requests are counted from the reader's own log lines. Run:
`python -m bench.hosted [--aliases N] [--repeat N]`.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aliassync.core.model import LiveAlias
from aliassync.sandbox.admin_screens import ADMIN_PATH
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_sandbox
from aliassync.workflow.manager import Manager
from aliassync.workflow.targets import TargetOptions

PHONE_PASS = "Agent1234"
REQUESTS = (re.compile(r"; (\d+) in all$"), re.compile(r"^state: (\d+) requests to admin\.php"))


@dataclass(frozen=True)
class HostedRun:
    what: str
    seconds: float
    requests: int
    actions: int


class _Requests(logging.Handler):
    """The last request count the reader logged."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for pattern in REQUESTS:   # the running total when the line has one
            found = pattern.search(message)
            if found:
                self.count = int(found[1])
                return


def _dialer(path: Path, aliases: int) -> None:
    phones = [{"login": f"{n:05d}{letter}", "extension": f"{n:05d}", "server_ip": ip, "pass": PHONE_PASS,
               "active": "N" if n % 50 == 0 and letter == "c" else "Y", "outbound_cid": "3125550100"}
              for n in range(aliases) for letter, ip in (("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3"))]
    live = [LiveAlias(f"desk{n:05d}", f"Desk {n}", f"{n:05d}a,{n:05d}b,{n:05d}c") for n in range(aliases)]
    init_sandbox(path, phones, aliases=live,
                 servers=[{"server_ip": ip} for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3")])


def _desired(path: Path, aliases: int, phones: bool) -> Path:
    lines = ["version: 1"]
    if phones:
        lines += ["phone_defaults:", "  phone_pass: {env: BENCH_PHONE_PASS}", "phones:"]
        lines += [f'  {n:05d}{letter}: {{extension: "{n:05d}", server_ip: {ip}}}'
                  for n in range(aliases) for letter, ip in (("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3"))]
    lines.append("aliases:")
    for n in range(aliases):
        name = f"Desk {n}" if n % 10 else f"Desk {n} renamed"
        lines.append(f"  desk{n:05d}: {{alias_name: {name}, phone_logins: [{n:05d}a, {n:05d}b, {n:05d}c]}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def measure(aliases: int = 2000, repeat: int = 3) -> list[HostedRun]:
    counter = _Requests()
    state_log = logging.getLogger("aliassync.state")
    level = state_log.level
    state_log.addHandler(counter)
    state_log.setLevel(logging.INFO)
    had_pass = os.environ.get("BENCH_PHONE_PASS")
    os.environ["BENCH_PHONE_PASS"] = PHONE_PASS   # the files' password reference reads the environment
    try:
        return _measure(aliases, repeat, counter)
    finally:
        state_log.removeHandler(counter)
        state_log.setLevel(level)
        if had_pass is None:
            del os.environ["BENCH_PHONE_PASS"]
        else:
            os.environ["BENCH_PHONE_PASS"] = had_pass


def _measure(aliases: int, repeat: int, counter: _Requests) -> list[HostedRun]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="aliassync-hosted-") as scratch:
        work = Path(scratch)
        _dialer(work / "dialer.sqlite", aliases)
        with running_sandbox(work / "dialer.sqlite") as base:
            env = {"ALIASSYNC_ADMIN_URL": base + ADMIN_PATH, "ALIASSYNC_API_URL": base + API_PATH,
                   "ALIASSYNC_API_USER": "6666", "ALIASSYNC_API_PASS": "1234"}
            for what, phones in (("aliases only", False), ("phones declared", True)):
                desired = _desired(work / f"{phones}.yaml", aliases, phones)
                best = None
                for _ in range(repeat):
                    started = time.perf_counter()
                    run = Manager(TargetOptions(), env).plan([str(desired)])
                    seconds = time.perf_counter() - started
                    if best is None or seconds < best.seconds:
                        best = HostedRun(what, seconds, counter.count, len(run.plan.actions))
                runs.append(best)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aliases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"hosted plan, {args.aliases} aliases, {3 * args.aliases} phones (best of {args.repeat}):")
    print("| plan | requests to admin.php | seconds | actions |")
    print("| --- | ---: | ---: | ---: |")
    for run in measure(args.aliases, args.repeat):
        print(f"| {run.what} | {run.requests} | {run.seconds:.2f} | {run.actions} |")


if __name__ == "__main__":
    main()
