"""The benchmark's fixture generator, at a small size: what it writes is what aliassync accepts.

The benchmark itself (`python -m bench`) is not part of the test run; this
only checks that its fixtures are valid desired-state files, a valid
phones file and a sandbox, and that they hold the changes they claim.
"""
import json
import subprocess
import sys
from pathlib import Path

from aliassync.cli import main

ROOT = Path(__file__).parent.parent


def run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    out, _ = capsys.readouterr()
    return code, out


def test_the_generated_fleet_validates_plans_as_claimed_and_converges(tmp_path, capsys):
    out = tmp_path / "fleet"
    subprocess.run([sys.executable, "-m", "bench.fleet", str(out), "--aliases", "70", "--changed", "0.2"],
                   cwd=ROOT, check=True, capture_output=True)
    fleet = json.loads((out / "fleet.json").read_text())
    desired, sandbox = str(out / "desired"), str(out / "sandbox.sqlite")
    assert fleet["changes"] == {kind: 2 for kind in ("alias-added", "alias-removed", "member-added",
                                                     "member-removed", "member-replaced", "members-reordered",
                                                     "name-changed")}

    assert run(capsys, "validate", desired) == (0, "70 aliases in 1 file(s): valid\n")
    code, text = run(capsys, "plan", desired, "--sandbox", sandbox)
    expected = fleet["expected_actions"]
    assert code == 2
    assert (f"Plan: {expected['create']} to create, {expected['update']} to update, "
            f"{expected['delete']} to delete. Left alone: 56 in sync, 0 unmanaged, 0 ignored.") in text

    from_phones_file = str(tmp_path / "again.sqlite")
    assert run(capsys, "sandbox", "init", from_phones_file, "--phones", str(out / "phones.yaml"))[0] == 0
    assert run(capsys, "plan", desired, "--sandbox", from_phones_file)[1] == text.replace(sandbox, from_phones_file)

    assert run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")[0] == 0
    assert run(capsys, "plan", desired, "--sandbox", sandbox)[0] == 0


def test_the_same_seed_gives_the_same_files(tmp_path):
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-m", "bench.fleet", str(tmp_path / name), "--aliases", "30",
                        "--no-sandbox"], cwd=ROOT, check=True, capture_output=True)
    assert (tmp_path / "a" / "desired" / "aliases-01.yaml").read_bytes() == \
        (tmp_path / "b" / "desired" / "aliases-01.yaml").read_bytes()
