"""GitOps safety through the command line on the sandbox: saved plans, drift,
delete limits, concurrent edits, partial failure."""
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aliassync.cli import main
from aliassync.core.target import WriteOutcome
from aliassync.vicidial.api import ApiWriter

from desired_files import files
from sandbox_tables import rows, sql

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def sandbox(tmp_path, capsys):
    phones = tmp_path / "phones.yaml"
    phones.write_text("phones:\n" + "".join(f"  - {{login: p{i}}}\n" for i in range(10)), encoding="utf-8")
    path = str(tmp_path / "s.sqlite")
    assert main(["sandbox", "init", path, "--phones", str(phones)]) == 0
    capsys.readouterr()
    return path


def five_aliases(tmp_path: Path, members=("p1", "p2")) -> str:
    body = "aliases:\n" + "".join(
        f"  team{i}: {{alias_name: Team {i}, phone_logins: [{', '.join(members)}]}}\n" for i in range(1, 6))
    return files(tmp_path, body)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- saved plans --------------------------------------------------------------------------

def test_a_saved_plan_records_its_checksum_and_applies_once(sandbox, tmp_path, capsys):
    desired = five_aliases(tmp_path)
    plan_file = str(tmp_path / "plan.json")
    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox, "--out", plan_file, "--format", "json")
    assert code == 2
    printed = json.loads(out)["saved_plan"]
    saved = json.loads(Path(plan_file).read_text())
    assert printed == {"path": plan_file, "checksum": saved["checksum"]}
    assert saved["desired_hash"].startswith("sha256:") and saved["target"] == f"sandbox {sandbox}"
    assert "1234" not in Path(plan_file).read_text()           # the sandbox API password

    code, out, _ = run(capsys, "apply", plan_file, "--sandbox", sandbox, "--yes")
    assert code == 0
    assert len(rows(sandbox)) == 5

    code, _, err = run(capsys, "apply", plan_file, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == (f"error: {plan_file}: this plan has already been applied (the live state is "
                                    "what it asks); nothing written")


def test_a_saved_plan_is_refused_when_a_touched_alias_moved(sandbox, tmp_path, capsys):
    assert run(capsys, "apply", five_aliases(tmp_path), "--sandbox", sandbox, "--yes")[0] == 0
    changed = five_aliases(tmp_path, members=("p3", "p4"))
    plan_file = str(tmp_path / "plan.json")
    assert run(capsys, "plan", changed, "--sandbox", sandbox, "--out", plan_file)[0] == 2
    sql(sandbox, "UPDATE phones_alias SET logins_list='p9' WHERE alias_id='team2'")    # the admin screen
    before = rows(sandbox)

    code, _, err = run(capsys, "apply", plan_file, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == (
        f"error: {plan_file}: the live state changed since the plan was made: alias team2 name 'Team 2' "
        "logins 'p1,p2' is now alias team2 name 'Team 2' logins 'p9'; nothing written; run plan again")
    assert rows(sandbox) == before


def test_a_saved_plan_is_refused_when_a_phone_it_needs_is_gone(sandbox, tmp_path, capsys):
    plan_file = str(tmp_path / "plan.json")
    assert run(capsys, "plan", five_aliases(tmp_path), "--sandbox", sandbox, "--out", plan_file)[0] == 2
    sql(sandbox, "DELETE FROM phones WHERE login='p2'")
    code, _, err = run(capsys, "apply", plan_file, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert "phone p2 active is now no phone p2" in err
    assert rows(sandbox) == {}


def test_a_tampered_plan_file_is_refused(sandbox, tmp_path, capsys):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", five_aliases(tmp_path), "--sandbox", sandbox, "--out", str(plan_file))[0] == 2
    plan_file.write_text(plan_file.read_text().replace('"p2"', '"p3"'))
    code, _, err = run(capsys, "apply", str(plan_file), "--sandbox", sandbox, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == (f"error: {plan_file}: checksum mismatch: the plan file was changed after "
                                    "it was written")
    assert rows(sandbox) == {}


def test_a_plan_made_for_another_target_is_refused(sandbox, tmp_path, capsys):
    other = str(tmp_path / "other.sqlite")
    sql_copy = sqlite3.connect(other)
    with sqlite3.connect(sandbox) as source:
        source.backup(sql_copy)
    sql_copy.close()
    plan_file = str(tmp_path / "plan.json")
    assert run(capsys, "plan", five_aliases(tmp_path), "--sandbox", sandbox, "--out", plan_file)[0] == 2
    code, _, err = run(capsys, "apply", plan_file, "--sandbox", other, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == (f"error: {plan_file}: the plan was made against sandbox {sandbox}, "
                                    f"this run targets sandbox {other}")


# --- drift --------------------------------------------------------------------------------

def test_drift_is_0_in_sync_and_2_naming_the_alias_and_member(sandbox, tmp_path, capsys):
    desired = five_aliases(tmp_path)
    assert run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")[0] == 0
    code, out, _ = run(capsys, "drift", desired, "--sandbox", sandbox)
    assert (code, out) == (0, "In sync: 5 declared aliases match the dialer.\n")

    sql(sandbox, "UPDATE phones_alias SET logins_list='p1,p7' WHERE alias_id='team3'")
    code, out, _ = run(capsys, "drift", desired, "--sandbox", sandbox)
    assert code == 2
    assert out == ("  changed: team3: logins p1,p7 on the dialer, p1,p2 in the files (+p2, -p7)\n"
                   "Drift: 1 alias(es) differ from the files.\n")
    code, out, _ = run(capsys, "drift", desired, "--sandbox", sandbox, "--format", "json")
    assert json.loads(out)["drift"] == [{"resource": "alias", "alias_id": "team3", "status": "changed",
                                         "detail": "logins p1,p7 on the dialer, p1,p2 in the files (+p2, -p7)"}]


def test_drift_names_missing_unexpected_and_case_differences(sandbox, tmp_path, capsys):
    sql(sandbox, "INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES "
                 "('TEAM1', 'Team 1', 'p1,p2'), ('stray', 'Stray', 'p3')")
    desired = files(tmp_path, "settings: {prune: true}\naliases:\n"
                              "  team1: {alias_name: Team 1, phone_logins: [p1, p2]}\n"
                              "  team2: {alias_name: Team 2, phone_logins: [p1, p2]}\n")
    code, out, _ = run(capsys, "drift", desired, "--sandbox", sandbox, "--format", "markdown")
    assert code == 2
    assert out == ("<!-- aliassync-drift -->\n### aliassync drift\n\n**3 alias(es) differ from the files.**\n\n"
                   "| alias | drift | detail |\n| --- | --- | --- |\n"
                   "| `stray` | unexpected | on the dialer but not declared (prune is on): logins p3 |\n"
                   "| `TEAM1` | case-differs | the dialer spells the id TEAM1, the files team1 |\n"
                   "| `team2` | missing | declared but not on the dialer |\n")


def test_drift_never_builds_a_writer(sandbox, tmp_path, capsys, monkeypatch):
    def no_writer(*args, **kwargs):
        raise AssertionError("drift built an API writer")

    monkeypatch.setattr(ApiWriter, "__init__", no_writer)
    assert run(capsys, "drift", five_aliases(tmp_path), "--sandbox", sandbox)[0] == 2


# --- delete limits ------------------------------------------------------------------------

def test_eleven_deletes_trip_max_deletes_10_unless_the_run_allows_them(sandbox, tmp_path, capsys):
    for i in range(11):
        sql(sandbox, "INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES (?, 'Old', 'p1')",
            f"old{i}")
    desired = files(tmp_path, "settings: {prune: true, max_deletes: 10}\naliases: {}\n")
    code, _, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == ("error: apply refused, nothing written: 11 deletes is over max_deletes 10; "
                                    "to allow it, run with --allow-deletes 11")
    assert len(rows(sandbox)) == 11
    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--allow-deletes", "11")
    assert code == 0
    assert rows(sandbox) == {}


# --- concurrent edits and partial failure -------------------------------------------------

def test_a_change_made_between_plan_and_write_is_a_conflict_and_survives(sandbox, tmp_path, capsys, monkeypatch):
    assert run(capsys, "apply", five_aliases(tmp_path), "--sandbox", sandbox, "--yes")[0] == 0
    real_write = ApiWriter.write

    def someone_edits_team4_meanwhile(self, action):
        if action.name == "team1":
            sql(sandbox, "UPDATE phones_alias SET logins_list='p8,p9' WHERE alias_id='team4'")
        return real_write(self, action)

    monkeypatch.setattr(ApiWriter, "write", someone_edits_team4_meanwhile)
    code, out, _ = run(capsys, "apply", five_aliases(tmp_path, ("p5", "p6")), "--sandbox", sandbox, "--yes",
                       "--concurrency", "1")
    assert code == 3
    assert ("  conflict: update team4: changed since the plan: it saw team4 name 'Team 4' logins 'p1,p2', "
            "now team4 name 'Team 4' logins 'p8,p9'; not overwritten\n") in out
    assert out.endswith("Apply: 4 done, 0 failed, 0 skipped, 1 conflict.\n")
    assert rows(sandbox)["team4"] == "p8,p9"
    assert run(capsys, "plan", five_aliases(tmp_path, ("p5", "p6")), "--sandbox", sandbox)[0] == 2


def test_the_third_of_five_writes_failing_leaves_the_others_done(sandbox, tmp_path, capsys, monkeypatch):
    calls = []
    real_write = ApiWriter.write

    def third_call_refused(self, action):
        calls.append(action.name)
        if len(calls) == 3:
            return WriteOutcome("refused", "ERROR: add_phone_alias PHONE DOES NOT EXIST: |6666|p2", final=True)
        return real_write(self, action)

    monkeypatch.setattr(ApiWriter, "write", third_call_refused)
    result_file = tmp_path / "result.json"
    desired = five_aliases(tmp_path)
    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--concurrency", "1",
                       "--result", str(result_file))
    assert code == 3
    assert out.endswith("  failed: create team3: ERROR: add_phone_alias PHONE DOES NOT EXIST: |6666|p2\n"
                        "Apply: 4 done, 1 failed, 0 skipped, 0 conflict.\n")
    result = json.loads(result_file.read_text())
    assert [(r["alias_id"], r["status"], r["attempts"]) for r in result["results"]] == [
        ("team1", "done", 1), ("team2", "done", 1), ("team3", "failed", 1), ("team4", "done", 1),
        ("team5", "done", 1)]
    assert (result["exit_code"], result["summary"]) == (3, {"done": 4, "failed": 1, "skipped": 0, "conflict": 0, "unknown": 0})

    monkeypatch.undo()
    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox, "--format", "json")
    assert code == 2
    assert [a["key"] for a in json.loads(out)["actions"]] == ["create:team3"]


def test_a_refused_apply_still_writes_its_result_file(sandbox, tmp_path, capsys):
    result_file = tmp_path / "result.json"
    desired = files(tmp_path, "aliases:\n  team1: {alias_name: Team 1, phone_logins: [p1, nope]}\n")
    assert run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--result", str(result_file))[0] == 1
    result = json.loads(result_file.read_text())
    assert (result["exit_code"], result["results"]) == (1, [])
    assert result["error"] == "apply refused, nothing written: 1 login(s) are not phones: nope (in team1)"


def test_two_applies_of_different_plans_at_once_lose_no_update(sandbox, tmp_path):
    first = files(tmp_path, "aliases:\n" + "".join(
        f"  a{i}: {{alias_name: A {i}, phone_logins: [p1, p2]}}\n" for i in range(20)), "first.yaml")
    second = files(tmp_path, "aliases:\n" + "".join(
        f"  b{i}: {{alias_name: B {i}, phone_logins: [p3, p4]}}\n" for i in range(20)), "second.yaml")
    command = [sys.executable, "-m", "aliassync", "apply", "--sandbox", sandbox, "--yes", "-q"]
    runs = [subprocess.Popen(command + [path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for path in (first, second)]
    outputs = [process.communicate(timeout=120) for process in runs]
    assert [process.returncode for process in runs] == [0, 0], outputs
    live = rows(sandbox)
    assert sorted(live) == sorted([f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)])
