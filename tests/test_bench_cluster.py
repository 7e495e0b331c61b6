"""The cluster benchmark at a small size: its claims hold (the benchmark itself is not run here).

Stations on three servers: the reader's queries do not grow with the
cluster, apply from nothing sends exactly one write per phone and per
alias, and the plan after it is empty.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_a_small_cluster_costs_fixed_queries_and_one_write_per_phone_and_alias(tmp_path):
    out = tmp_path / "cluster.json"
    subprocess.run([sys.executable, "-m", "bench.cluster", "--stations", "12", "--repeat", "1", "--json", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    figures = json.loads(out.read_text())
    assert figures["queries"] == figures["queries_small"]
    assert (figures["phone_writes"], figures["alias_writes"]) == (36, 12)
    assert (figures["phones"], figures["aliases"]) == (36, 12)
    assert (figures["apply_exit"], figures["second_plan_exit"]) == (0, 0)
