"""`aliassync show`: one plan, kept once, shown again offline the same way the plan command showed it."""
import json
from pathlib import Path

import pytest

from aliassync.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"
EXAMPLE = str(EXAMPLES / "aliases.yaml")


@pytest.fixture
def sandbox(tmp_path, capsys):
    path = tmp_path / "demo.sqlite"
    assert main(["sandbox", "init", str(path), "--phones", str(EXAMPLES / "phones.yaml")]) == 0
    capsys.readouterr()
    return str(path)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_saved_plan_shows_as_the_plan_command_showed_it(sandbox, tmp_path, capsys, fmt):
    saved = tmp_path / "plan.json"
    code, printed, _ = run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", str(saved), "--format", fmt)
    assert code == 2
    checksum = json.loads(saved.read_text())["checksum"]
    code, shown, err = run(capsys, "show", str(saved), "--format", fmt)
    assert (code, err) == (0, "")
    # the same plan, and the same last line naming the file and its checksum
    assert shown == printed.replace(f"; apply it with: aliassync apply {saved} --checksum {checksum}", "")
    assert shown.endswith(f"Saved plan: {saved} ({checksum})\n")


def test_printed_json_of_plan_and_drift_shows_as_those_commands_show_it(sandbox, tmp_path, capsys):
    for command in ("plan", "drift"):
        _, as_json, _ = run(capsys, command, EXAMPLE, "--sandbox", sandbox, "--format", "json")
        kept = tmp_path / f"{command}.json"
        kept.write_text(as_json)
        for fmt in ("text", "markdown", "json"):
            _, direct, _ = run(capsys, command, EXAMPLE, "--sandbox", sandbox, "--format", fmt)
            code, shown, _ = run(capsys, "show", str(kept), "--format", fmt)
            assert code == 0
            assert shown == direct, (command, fmt)


def test_show_reads_nothing_live(sandbox, tmp_path, capsys):
    saved = tmp_path / "plan.json"
    run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", str(saved))
    Path(sandbox).unlink()
    code, out, _ = run(capsys, "show", str(saved))
    assert code == 0 and "+ create sales1" in out


def test_what_show_refuses_it_names_in_one_line(sandbox, tmp_path, capsys):
    saved = tmp_path / "plan.json"
    run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", str(saved))
    tampered = json.loads(saved.read_text())
    tampered["plan"]["actions"] = []
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    (tmp_path / "other.json").write_text('{"actions": []}')
    (tmp_path / "broken.json").write_text('{"actions": ')
    cases = {
        "tampered.json": "checksum mismatch: the plan file was changed after it was written",
        "other.json": "not a plan saved with plan --out nor a document printed by --format json "
                      "(top level: 'format_version' is a required property)",
        "broken.json": "not a readable aliassync plan file (Expecting value: line 1 column 13 (char 12))",
        "missing.json": "not a readable aliassync plan file (No such file or directory)",
    }
    for name, message in cases.items():
        code, out, err = run(capsys, "show", str(tmp_path / name))
        assert (code, out) == (1, "")
        assert err == f"error: {tmp_path / name}: {message}\n"


def test_a_plan_or_drift_too_long_for_one_comment_names_the_details_url_it_is_shown_with(sandbox, tmp_path, capsys):
    many = tmp_path / "many.yaml"
    many.write_text("version: 1\naliases:\n" + "".join(
        f"  team{i:04d}:\n    alias_name: Team {i} {'x' * 40}\n    phone_logins: [100a, 100b, 100c]\n"
        for i in range(1_500)))
    url = "https://ci.example.test/runs/7"
    for command, whole in (("plan", "The whole plan: "), ("drift", "The whole report: ")):
        _, as_json, _ = run(capsys, command, str(many), "--sandbox", sandbox, "--format", "json")
        kept = tmp_path / f"{command}.json"
        kept.write_text(as_json)
        code, shown, _ = run(capsys, "show", str(kept), "--format", "markdown", "--details-url", url)
        assert code == 0 and "Cut to fit a GitHub comment" in shown, command
        assert f"{whole}{url}\n" in shown, command
