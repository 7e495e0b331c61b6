"""The whole pipeline through the command line, against the embedded sandbox."""
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aliassync.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def sandbox(tmp_path, capsys):
    path = tmp_path / "demo.sqlite"
    assert main(["sandbox", "init", str(path), "--phones", str(EXAMPLES / "phones.yaml")]) == 0
    capsys.readouterr()
    return str(path)


def rows(path: str) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias")}


def desired(tmp_path: Path, body: str, name: str = "aliases.yaml") -> str:
    path = tmp_path / name
    path.write_text("version: 1\n" + body, encoding="utf-8")
    return str(path)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_plans_applies_and_then_plans_nothing(sandbox, capsys):
    example = str(EXAMPLES / "aliases.yaml")
    code, out, _ = run(capsys, "plan", example, "--sandbox", sandbox)
    assert code == 2
    assert "  + create sales1\n" in out
    assert "  ~ update support\n" in out
    assert "  - delete retired7  (ensure: absent)\n" in out
    assert out.endswith("Plan: 2 to create, 1 to update, 1 to delete. "
                        "Left alone: 0 in sync, 1 unmanaged, 0 ignored.\n")

    code, out, _ = run(capsys, "apply", example, "--sandbox", sandbox, "--yes")
    assert code == 0
    assert out.endswith("Apply: 4 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert rows(sandbox) == {
        "sales1": ("Sales floor 1", "100a,100b"),
        "sales2": ("Sales floor 2", "100c,100b,100a"),
        "support": ("Support desk", "200c,200b"),
        "legacy9": ("Legacy", "300b"),
    }

    code, out, _ = run(capsys, "plan", example, "--sandbox", sandbox)
    assert code == 0
    assert out.endswith("No changes. The live aliases match the files. "
                        "Left alone: 3 in sync, 1 unmanaged, 0 ignored.\n")


def test_replacing_one_member_sends_exactly_the_new_list(sandbox, tmp_path, capsys):
    before = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n")
    assert run(capsys, "apply", before, "--sandbox", sandbox, "--yes")[0] == 0
    after = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100c, 100b]}\n", "b.yaml")
    code, out, err = run(capsys, "apply", after, "--sandbox", sandbox, "--yes")
    assert code == 0
    assert "      phone_logins: 100a, 100b -> 100c, 100b\n        + 100c\n        - 100a\n" in out
    assert "aliassync: apply: update team1: done" in err
    assert rows(sandbox)["team1"] == ("Team one", "100c,100b")


def test_a_member_that_is_not_a_phone_writes_nothing(sandbox, tmp_path, capsys):
    path = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 999z]}\n"
                             "  team2: {alias_name: Team two, phone_logins: [999z, 100b, 888y]}\n")
    before = rows(sandbox)
    code, _, err = run(capsys, "apply", path, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert err.splitlines()[-1] == ("error: apply refused, nothing written: 2 login(s) are not phones: "
                                    "999z (in team1, team2); 888y (in team2)")
    assert rows(sandbox) == before


def test_prune_deletes_undeclared_aliases_but_never_ignored_or_protected(sandbox, tmp_path, capsys):
    seed = desired(tmp_path, "aliases:\n"
                             "  tmp1: {alias_name: Temp, phone_logins: [100a, 100b]}\n"
                             "  vip1: {alias_name: VIP, phone_logins: [100a, 100b]}\n"
                             "  gone1: {alias_name: Gone, phone_logins: [100a, 100b]}\n", "seed.yaml")
    assert run(capsys, "apply", seed, "--sandbox", sandbox, "--yes")[0] == 0

    keep_all = desired(tmp_path, "aliases: {}\n", "off.yaml")
    assert run(capsys, "plan", keep_all, "--sandbox", sandbox)[0] == 0      # prune off: nothing to do

    pruning = desired(tmp_path, 'settings: {prune: true, ignore: ["tmp*"], protected: ["vip*"]}\naliases: {}\n',
                      "on.yaml")
    code, out, _ = run(capsys, "apply", pruning, "--sandbox", sandbox, "--yes")
    assert code == 0
    assert sorted(rows(sandbox)) == ["tmp1", "vip1"]


def test_a_broken_file_exits_1_with_every_problem_and_writes_nothing(sandbox, capsys):
    broken = str(Path(__file__).parent / "fixtures" / "broken-file.yaml")
    before = rows(sandbox)
    code, out, err = run(capsys, "apply", broken, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert out == ""
    assert [line.split(": ", 1)[0] for line in err.splitlines()] == [
        f"{broken}:3:3", f"{broken}:7:17", f"{broken}:8:32", f"{broken}:9:5", f"{broken}:13:5"]
    assert rows(sandbox) == before


def test_validate_is_offline_and_exits_0_or_1(tmp_path, capsys):
    good = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n")
    assert run(capsys, "validate", good) == (0, "1 aliases in 1 file(s): valid\n", "aliassync: load: 1 aliases from 1 file(s)\n")
    bad = desired(tmp_path, "aliases:\n  t: {alias_name: Team one, phone_logins: [100a]}\n", "bad.yaml")
    code, out, err = run(capsys, "validate", bad, "--format", "github")
    assert code == 1
    assert out == (f"::error file={bad},line=3,col=3::alias id 't' must be 2 to 20 characters of letters, "
                   "digits, '-' and '_'\n")


def test_export_then_plan_is_empty(sandbox, tmp_path, capsys):
    out_file = tmp_path / "exported.yaml"
    assert run(capsys, "export", "--sandbox", sandbox, "--out", str(out_file))[0] == 0
    assert run(capsys, "validate", str(out_file))[0] == 0
    assert run(capsys, "plan", str(out_file), "--sandbox", sandbox)[0] == 0
    assert run(capsys, "export", "--sandbox", sandbox, "--out", str(out_file))[0] == 1   # never overwrites


def test_json_plan_is_one_document_valid_against_its_schema(sandbox, capsys):
    import json

    import jsonschema

    code, out, _ = run(capsys, "plan", str(EXAMPLES / "aliases.yaml"), "--sandbox", sandbox, "--format", "json")
    assert code == 2
    document = json.loads(out)
    schema = json.loads((Path(__file__).parent.parent / "schema" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert [(a["action"], a["alias_id"]) for a in document["actions"]] == [
        ("delete", "retired7"), ("create", "sales1"), ("create", "sales2"), ("update", "support")]


def test_markdown_plan_carries_the_comment_marker(sandbox, capsys):
    code, out, _ = run(capsys, "plan", str(EXAMPLES / "aliases.yaml"), "--sandbox", sandbox, "--format", "markdown")
    assert code == 2
    assert out.startswith("<!-- aliassync-plan -->\n### aliassync plan\n")
    assert "```diff\n" in out


def test_a_real_target_without_settings_names_the_missing_variable(tmp_path, capsys, monkeypatch):
    for name in ("ALIASSYNC_API_URL", "ALIASSYNC_API_USER", "ALIASSYNC_API_PASS", "ALIASSYNC_DB_URL",
                 "ALIASSYNC_ADMIN_URL"):
        monkeypatch.delenv(name, raising=False)
    good = desired(tmp_path, "aliases: {}\n")
    code, _, err = run(capsys, "plan", good)
    assert code == 1
    assert err.splitlines()[-1] == ("error: neither ALIASSYNC_DB_URL nor ALIASSYNC_ADMIN_URL is set (or pass "
                                    "--db-url-file or --admin-url); set exactly one: where aliassync reads the live "
                                    "state, VICIdial's database or, on a hosted dialer, its admin screens; to try it "
                                    "without a VICIdial, use --sandbox PATH")


def test_apply_names_a_missing_credential_before_reading_anything(tmp_path, capsys, monkeypatch):
    for name in ("ALIASSYNC_API_USER", "ALIASSYNC_API_PASS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALIASSYNC_DB_URL", "mysql://reader:secret@127.0.0.1:1/asterisk")   # nothing listens
    monkeypatch.setenv("ALIASSYNC_API_URL", "http://127.0.0.1:1/vicidial/non_agent_api.php")
    good = desired(tmp_path, "aliases: {}\n")
    code, out, err = run(capsys, "apply", good, "--yes")
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == ("error: ALIASSYNC_API_USER is not set (or pass --api-user); "
                                    "to try aliassync without a VICIdial, use --sandbox PATH")


def test_apply_without_a_terminal_needs_yes(sandbox, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    before = rows(sandbox)
    code, _, err = run(capsys, "apply", str(EXAMPLES / "aliases.yaml"), "--sandbox", sandbox)
    assert code == 1
    assert err.splitlines()[-1] == "error: apply needs --yes when not run from a terminal; nothing written"
    assert rows(sandbox) == before


def test_the_console_script_and_python_m_both_run(tmp_path):
    good = desired(tmp_path, "aliases: {}\n")
    exe = shutil.which("aliassync", path=str(Path(sys.executable).parent))
    assert exe, "the aliassync console script is installed beside the interpreter"
    for command in ([exe, "validate", good], [sys.executable, "-m", "aliassync", "validate", good]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (0, "0 aliases in 1 file(s): valid\n")


def test_validate_check_target_reads_the_live_state_and_warns(sandbox, tmp_path, capsys):
    path = desired(tmp_path, "aliases:\n  team_1: {alias_name: Team one, phone_logins: [100a, 400a]}\n")
    code, out, err = run(capsys, "validate", path, "--check-target", "--sandbox", sandbox)
    assert (code, out) == (0, "1 aliases in 1 file(s): valid\n")
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [
        "warning: alias team_1: the id holds '-' or '_', which the agent screen strips: agents cannot log in with it",
        "warning: alias team_1: inactive phone: 400a (agents picked for it cannot log in)",
    ]
    missing = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 999z]}\n", "m.yaml")
    code, out, err = run(capsys, "validate", missing, "--check-target", "--sandbox", sandbox)
    assert code == 1
    assert "warning: alias team1: not a phone: 999z (apply refuses any write of this alias)" in err


def test_the_api_password_can_come_from_a_file(sandbox, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ALIASSYNC_API_PASS", raising=False)
    wrong = tmp_path / "pass"
    wrong.write_text("NotTheSandboxPassword42\n", encoding="utf-8")
    path = desired(tmp_path, "aliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n")
    code, out, err = run(capsys, "apply", path, "--sandbox", sandbox, "--yes", "--api-pass-file", str(wrong))
    assert code == 1
    assert err.splitlines()[-1] == ("error: VICIdial refused the login for user 6666: "
                                    "ERROR: Login incorrect, please try again: |6666|***|BAD|")
    assert "NotTheSandboxPassword42" not in out + err


def test_sandbox_serve_answers_on_loopback(sandbox):
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "aliassync", "sandbox", "serve", sandbox, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/vicidial/non_agent_api.php"
        for _ in range(100):
            try:
                answer = httpx.post(url, data={"function": "version", "source": "test"}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the sandbox server did not answer")
        assert answer.status_code == 200
        assert answer.text.startswith("VERSION: 2.14-202|BUILD: 250720-1841|")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_aliases_left_alone_are_counted_and_named_on_request(sandbox, tmp_path, capsys):
    path = desired(tmp_path, 'settings: {ignore: ["legacy*"]}\naliases: {}\n')
    code, out, _ = run(capsys, "plan", path, "--sandbox", sandbox)
    assert out.endswith("Left alone: 0 in sync, 2 unmanaged, 1 ignored.\n")
    code, out, _ = run(capsys, "plan", path, "--sandbox", sandbox, "--show-unmanaged")
    assert "Unmanaged: retired7, support\nIgnored: legacy9\n" in out


@pytest.mark.parametrize("flags, fail_fast, workers", [
    ((), False, 4), (("--fail-fast",), True, 4), (("--concurrency", "1"), False, 1),
    (("--fail-fast", "--concurrency", "3"), True, 3)])
def test_fail_fast_and_concurrency_reach_the_applier(sandbox, capsys, monkeypatch, flags, fail_fast, workers):
    # The graph honours both (tests/workflow/test_applier.py); here: the command line hands them over.
    from aliassync.workflow import applier, manager

    given = []

    class Recording(applier.Applier):
        def __init__(self, reader, writer, options=applier.ApplyOptions(), **kwargs):
            given.append(options)
            super().__init__(reader, writer, options, **kwargs)

    monkeypatch.setattr(manager, "Applier", Recording)
    code, _, _ = run(capsys, "apply", str(EXAMPLES / "aliases.yaml"), "--sandbox", sandbox, "--yes", *flags)
    assert code == 0
    assert [(o.fail_fast, o.workers) for o in given] == [(fail_fast, workers)]


def test_version_says_what_a_bug_report_needs(capsys):
    import platform

    import httpx
    import yaml

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    from aliassync import __version__

    loader = "C loader" if yaml.__with_libyaml__ else "pure-Python loader (slower)"
    assert lines[:4] == [f"aliassync {__version__}", f"Python {platform.python_version()}",
                         f"PyYAML {yaml.__version__} ({loader})", f"httpx {httpx.__version__}"]
    assert [line.split()[0] for line in lines[4:]] == ["PyMySQL", "jsonschema"]
