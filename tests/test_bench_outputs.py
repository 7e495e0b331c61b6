"""The outputs benchmark at a small size: it runs, and its plan is the one the markdown tests check."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_outputs_benchmark_measures_a_plan_its_markdown_its_drift_and_the_secret_scan(tmp_path):
    out = tmp_path / "outputs.json"
    subprocess.run([sys.executable, "-m", "bench.outputs", "--groups", "20", "--repeat", "1", "--json", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    figures = json.loads(out.read_text())
    assert figures["changes"] == 100
    assert 0 < figures["markdown_chars"] <= figures["budget"] == 64_000
    assert 0 < figures["drift_chars"] <= figures["budget"]
    assert (figures["scan_values"], figures["scan_found"]) == (600_001, ["database password"])
