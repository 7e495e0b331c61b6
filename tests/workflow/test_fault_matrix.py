"""The fault matrix: for each fault, one apply of five actions through the command line against a
sandbox whose API meets that fault, then one re-run without faults.

The five actions (tests/fixtures/fault-matrix.yaml): two creates, two updates and a delete that
waits for the other four. Each row of MATRIX is what one such apply must come to; docs/reliability.md
prints the same table (test_the_documented_table_is_this_one keeps them equal). Reproduce a row by hand:

    aliassync sandbox init matrix.sqlite --phones tests/fixtures/fault-matrix-phones.yaml
    ALIASSYNC_SANDBOX_FAULTS=mode=500-after,calls=writes \\
        aliassync apply tests/fixtures/fault-matrix.yaml --sandbox matrix.sqlite --yes --settle 0.2 --result faulty.json
    aliassync apply tests/fixtures/fault-matrix.yaml --sandbox matrix.sqlite --yes --result rerun.json
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from aliassync import redaction
from aliassync.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures"
PHONES = FIXTURES / "fault-matrix-phones.yaml"
DESIRED = FIXTURES / "fault-matrix.yaml"
DOC = Path(__file__).parents[2] / "docs" / "reliability.md"

AS_DESIRED = {
    "new1": ("New one", "100a,100c"),
    "new2": ("New two", "100b,100d"),
    "team1": ("Team one", "100b,100a"),
    "team2": ("Team two renamed", "100c,100e"),
    "keep1": ("Not managed", "100e,100a"),     # not declared, prune off: never touched
}


@dataclass(frozen=True)
class Row:
    fault: str             # ALIASSYNC_SANDBOX_FAULTS for the first apply
    done: int
    failed: int
    skipped: int
    conflict: int
    exit: int
    sent: int              # API writes sent: the sum of every action's attempts
    committed: int         # writes that reached the database (one vicidial_admin_log row each)
    rerun_exit: int        # the re-run, without faults
    rerun_done: int


BEFORE = dict(done=0, failed=4, skipped=1, conflict=0, exit=3, sent=12, committed=0, rerun_exit=0, rerun_done=5)
AFTER = dict(done=5, failed=0, skipped=0, conflict=0, exit=0, sent=5, committed=5, rerun_exit=0, rerun_done=0)
MATRIX = (
    Row("", **AFTER),
    Row("latency=0.05", **AFTER),
    Row("mode=500-before,calls=writes", **BEFORE),
    Row("mode=500-after,calls=writes", **AFTER),
    Row("mode=html,calls=writes", **BEFORE),
    Row("mode=empty,calls=writes", **AFTER),
    Row("mode=drop-before,calls=writes", **BEFORE),
    Row("mode=drop-after,calls=writes", **AFTER),
    Row("mode=timeout,calls=writes", **AFTER),
    Row("mode=500-before,rate=0.5,seed=4,calls=writes",
        done=4, failed=1, skipped=0, conflict=0, exit=3, sent=11, committed=4, rerun_exit=0, rerun_done=1),
    Row("mode=mixed,rate=0.8,seed=1,calls=writes",
        done=3, failed=1, skipped=1, conflict=0, exit=3, sent=6, committed=3, rerun_exit=0, rerun_done=2),
    Row("mode=drop-before",
        done=0, failed=0, skipped=0, conflict=0, exit=1, sent=0, committed=0, rerun_exit=0, rerun_done=5),
)


@pytest.fixture(autouse=True)
def no_secrets_left():
    redaction.forget_all()
    yield
    redaction.forget_all()


def committed_writes(path: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM vicidial_admin_log WHERE event_section = 'PHONEALIASES'").fetchone()
    return count


def aliases(path: str) -> dict[str, tuple[str, str]]:
    with closing(sqlite3.connect(path)) as db:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias")}


def apply(sandbox: str, result: Path, capsys) -> dict:
    """One `aliassync apply --yes`; its --result document."""
    # --settle 0.2: a lost answer is given 0.2 s (not the default 10) to show in the sandbox, which
    # commits before it answers, so the matrix runs in seconds; the outcomes are the same
    code = main(["apply", str(DESIRED), "--sandbox", sandbox, "--yes", "--result", str(result), "-q",
                 "--settle", "0.2"])
    capsys.readouterr()
    document = json.loads(result.read_text(encoding="utf-8"))
    assert document["exit_code"] == code
    return document


def run_row(fault: str, tmp_path: Path, capsys, monkeypatch) -> tuple[Row, dict]:
    """The row one faulty apply and one clean re-run come to, and the aliases after the re-run."""
    sandbox = str(tmp_path / "matrix.sqlite")
    assert main(["sandbox", "init", sandbox, "--phones", str(PHONES)]) == 0
    monkeypatch.setenv("ALIASSYNC_SANDBOX_FAULTS", fault)
    faulty = apply(sandbox, tmp_path / "faulty.json", capsys)
    committed = committed_writes(sandbox)
    monkeypatch.delenv("ALIASSYNC_SANDBOX_FAULTS")
    rerun = apply(sandbox, tmp_path / "rerun.json", capsys)
    summary = faulty["summary"]
    row = Row(fault, summary["done"], summary["failed"], summary["skipped"], summary["conflict"],
              faulty["exit_code"], sum(r["attempts"] for r in faulty["results"]), committed,
              rerun["exit_code"], rerun["summary"]["done"])
    return row, aliases(sandbox)


@pytest.mark.parametrize("expected", MATRIX, ids=[row.fault or "no fault" for row in MATRIX])
def test_one_apply_under_the_fault_then_a_clean_rerun(expected, tmp_path, capsys, monkeypatch):
    row, after_rerun = run_row(expected.fault, tmp_path, capsys, monkeypatch)
    assert row == expected
    assert after_rerun == AS_DESIRED


def render(rows) -> str:
    """The matrix as a markdown table (docs/reliability.md prints it)."""
    header = ("| `ALIASSYNC_SANDBOX_FAULTS` | done | failed | skipped | conflict | exit | writes sent "
              "| writes committed | re-run: exit | re-run: done |")
    lines = [header, "|" + "---|" * len(fields(Row))]
    for row in rows:
        values = [f"`{row.fault}`" if row.fault else "(not set)"] + [str(getattr(row, f.name)) for f in fields(Row)[1:]]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def test_the_documented_table_is_this_one():
    assert render(MATRIX) in DOC.read_text(encoding="utf-8")


if __name__ == "__main__":
    print(render(MATRIX), end="")
