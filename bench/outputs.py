"""What a pipeline's outputs cost at size: a plan of thousands of changes, its markdown fitted to one
GitHub comment, the drift report of it, and the scan for secrets in what is shown.

    python -m bench.outputs [--groups 2000] [--repeat 3] [--json FILE]

A plan of `--groups` x 5 changes (the scenario below, also the one
tests/output/test_markdown_fit.py checks at 2 and 2,000 groups), built in
process by the pure planner; then `render_markdown` of the plan and of its
drift; then `redaction.labels_in` over 100,000 aliases of five members,
which every run makes once to warn of a secret equal to a data value.
Each figure is the fastest of `--repeat` runs. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

from aliassync import redaction
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, PhoneSettings, Settings
from aliassync.core.phone import DesiredPhone, LivePhone, SecretRef
from aliassync.core.planner import plan
from aliassync.output import drift, fit, render

FIELDS = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk", "protocol": "SIP",
          "local_gmt": "-5.00", "outbound_cid": "3125550100"}
SERVER = "10.10.10.15"
LONG = "x" * 60 + "\N{TELEPHONE RECEIVER}" * 5 + "\N{ELECTRIC PLUG}" * 5      # each emoji: two UTF-16 units
PASS = SecretRef("env", "AGENT_PHONE_PASS")
SECRETS = {"phone_pass": PASS, "registration_password": PASS}


def scenario(groups: int) -> tuple[Desired, Current]:
    """Five changes a group: a new alias (a long id with '_', so a warning) naming a new phone; an alias
    update dropping a phone that is deleted after it; an alias pruned. max_deletes 1 refuses the plan."""
    aliases, phones, live_aliases, live_phones, rows = [], [], [], [], {}
    for i in range(groups):
        aliases.append(DesiredAlias(f"new_{i}_{LONG}", f"New {i}", (f"p{i}new",)))
        phones.append(DesiredPhone(f"p{i}new", str(10_000 + i), SERVER, FIELDS, SECRETS))
        aliases.append(DesiredAlias(f"team{i}", f"Team {i}", (f"p{i}keep",)))
        phones.append(DesiredPhone(f"p{i}keep", str(30_000 + i), SERVER, FIELDS))
        phones.append(DesiredPhone(f"p{i}old", None, None, present=False))
        live_aliases += [LiveAlias(f"team{i}", f"Team {i}", f"p{i}old,p{i}keep"),
                         LiveAlias(f"gone{i}", f"Gone {i}", f"p{i}keep")]
        for login, extension in ((f"p{i}keep", 30_000 + i), (f"p{i}old", 50_000 + i)):
            live_phones.append(Phone(login, True))
            rows[login] = (LivePhone(login, str(extension), SERVER, FIELDS),)
    live = Current.build(live_aliases, live_phones, {})
    current = Current(live.aliases, live.phones, {}, rows, frozenset({SERVER}))
    settings = Settings(prune=True, max_deletes=1, phones=PhoneSettings())
    return Desired(tuple(aliases), settings, phones=tuple(phones)), current


def fastest(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(groups: int, repeat: int) -> dict:
    desired, current = scenario(groups)
    plan_seconds, result = fastest(lambda: plan(desired, current), repeat)
    document = render.plan_document(result, target="bench", vicidial_version="2.14-917a")
    markdown_seconds, markdown = fastest(lambda: render.render_markdown(document, details_url="URL"), repeat)
    drifted = {**document, "drift": drift.drift_entries(result)}
    drift_seconds, drift_markdown = fastest(lambda: drift.render_markdown(drifted, details_url="URL"), repeat)
    values = [f"{n:06d}{m}" for n in range(100_000) for m in "abcde"] + [f"alias{n}" for n in range(100_000)]
    redaction.register("1234", "database password")
    scan_seconds, labels = fastest(lambda: redaction.labels_in(values + ["1234"]), repeat)
    return {
        "groups": groups, "changes": len(result.actions),
        "plan_seconds": round(plan_seconds, 3), "markdown_seconds": round(markdown_seconds, 3),
        "markdown_chars": fit.width(markdown), "drift_seconds": round(drift_seconds, 3),
        "drift_chars": fit.width(drift_markdown), "budget": fit.BUDGET,
        "scan_values": len(values) + 1, "scan_seconds": round(scan_seconds, 3), "scan_found": labels,
    }


def table(figures: dict) -> str:
    f = figures
    return "\n".join([
        "| changes | plan | markdown (size) | drift markdown (size) | secret scan of 600,001 values |",
        "|---|---|---|---|---|",
        f"| {f['changes']:,} | {f['plan_seconds']} s | {f['markdown_seconds']} s ({f['markdown_chars']:,} of "
        f"{f['budget']:,}) | {f['drift_seconds']} s ({f['drift_chars']:,}) | {f['scan_seconds']} s |",
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    figures = measure(args.groups, args.repeat)
    print(table(figures), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
