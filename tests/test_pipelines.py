"""The CI examples and the pre-commit hook: valid YAML for their systems, the GitHub workflow wired to
the action at the repository's root (action.yml) with inputs it declares, and every aliassync command
the GitLab pipeline runs exists with the options it passes (and does what the pipeline relies on)."""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aliassync.cli import build_parser

ROOT = Path(__file__).parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
ACTION = ROOT / "action.yml"
THE_ACTION = "aliassync-owner/aliassync@v1"     # the placeholder the example says to replace
PRE_COMMIT = ROOT / ".pre-commit-hooks.yaml"


# What the pipelines' shell variables hold when the commands run (the checksum the plan job passed on).
SAMPLE_VALUES = {"CHECKSUM": "sha256:" + "0" * 64, "PLAN_CHECKSUM": "sha256:" + "0" * 64}


def _expanded(text: str) -> str:
    """`$NAME` and `${NAME}` replaced by a sample value where one is known."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: SAMPLE_VALUES.get(m.group(1), m.group(0)), text)


def aliassync_commands(script: str) -> list[list[str]]:
    """Every `aliassync ...` invocation in a shell script, as argv (redirections cut off)."""
    found = []
    for line in script.splitlines():
        for match in re.finditer(r"\baliassync ([^|>&;]+)", line):
            argv = shlex.split(_expanded(match.group(1)))
            found.append(argv)
    return found


def assert_parses(argv: list[str]) -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit:
        pytest.fail(f"'aliassync {' '.join(argv)}' is not a valid command (exit {exit.code})")


def action_steps(job: dict) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses") == THE_ACTION]


def gitlab_scripts() -> list[str]:
    pipeline = yaml.safe_load(GITLAB.read_text())
    return ["\n".join(job["script"]) for name, job in pipeline.items() if isinstance(job, dict) and "script" in job]


def test_the_github_workflow_has_its_triggers_and_jobs():
    workflow = yaml.safe_load(GITHUB.read_text())
    assert set(workflow[True]) == {"pull_request", "push", "schedule", "workflow_dispatch"}   # `on:` is YAML 1.1 true
    assert set(workflow["jobs"]) == {"plan-pr", "plan-main", "apply", "drift"}
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest" and job["steps"]
    assert workflow["jobs"]["apply"]["needs"] == "plan-main"
    assert workflow["jobs"]["apply"]["environment"] == "vicidial"
    assert "REPLACE `aliassync-owner`" in GITHUB.read_text()


def test_the_github_workflow_gives_the_action_only_inputs_it_declares():
    workflow, action = yaml.safe_load(GITHUB.read_text()), yaml.safe_load(ACTION.read_text())
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    used = [step for job in workflow["jobs"].values() for step in job["steps"] if "aliassync" in step.get("uses", "")]
    assert used and all(step["uses"] == THE_ACTION for step in used)
    for step in used:
        assert set(step["with"]) <= set(action["inputs"]), step
        assert required <= set(step["with"])
    assert sorted(step["with"]["command"] for step in used) == ["apply", "drift", "plan", "plan", "validate"]
    assert not [step for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_the_github_pull_request_job_validates_then_plans_with_the_comment():
    job = yaml.safe_load(GITHUB.read_text())["jobs"]["plan-pr"]
    validate, plan = action_steps(job)
    assert validate["with"] == {"command": "validate", "paths": "aliases/"}
    assert plan["with"] == {"command": "plan", "paths": "aliases/", "comment": True}
    assert job["permissions"]["pull-requests"] == "write"


def test_the_github_apply_job_applies_only_the_plan_the_plan_job_checksummed():
    # The apply job gets the saved plan through the artifact the action uploads; the checksum travels
    # apart, as a job output, so a plan file swapped or re-made in between is refused.
    workflow, action = yaml.safe_load(GITHUB.read_text()), yaml.safe_load(ACTION.read_text())
    plan_job, apply_job = workflow["jobs"]["plan-main"], workflow["jobs"]["apply"]
    (plan,) = action_steps(plan_job)
    assert plan["id"] == "plan" and plan["with"]["command"] == "plan"
    assert plan_job["outputs"] == {"changes": "${{ steps.plan.outputs.changes }}",
                                   "checksum": "${{ steps.plan.outputs.checksum }}"}
    assert apply_job["if"] == "needs.plan-main.outputs.changes == 'true'"

    steps = apply_job["steps"]
    (download,) = [s for s in steps if s.get("uses") == "actions/download-artifact@v4"]
    (apply,) = action_steps(apply_job)
    assert steps.index(download) < steps.index(apply)
    # the artifact the action names after its command, holding the plan file the apply step reads
    upload = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "format('aliassync-{0}', inputs.command)" in upload["with"]["name"]
    assert download["with"]["name"] == "aliassync-plan"
    assert apply["with"] == {"command": "apply", "plan-file": plan["with"]["plan-file"],
                             "checksum": "${{ needs.plan-main.outputs.checksum }}"}


def test_the_github_nightly_drift_fails_on_drift():
    workflow = yaml.safe_load(GITHUB.read_text())
    job = workflow["jobs"]["drift"]
    (drift,) = action_steps(job)
    assert drift["with"] == {"command": "drift", "paths": "aliases/", "fail-on-drift": True}
    assert "github.event_name == 'schedule'" in job["if"]


def test_the_gitlab_note_is_found_by_the_marker_the_markdown_plan_starts_with():
    from aliassync.output.render import PR_COMMENT_MARKER

    assert f'startswith("{PR_COMMENT_MARKER}")' in GITLAB.read_text()


def test_the_gitlab_pipeline_has_its_stages_and_jobs():
    pipeline = yaml.safe_load(GITLAB.read_text())
    assert pipeline["stages"] == ["validate", "plan", "apply", "drift"]
    jobs = {name for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    assert jobs == {"validate", "plan:mr", "plan:main", "apply", "drift"}
    for name in jobs:
        assert pipeline[name]["stage"] in pipeline["stages"]
    assert pipeline["apply"]["needs"] == ["plan:main"]


def test_every_aliassync_command_in_the_gitlab_pipeline_exists():
    commands = [argv for script in gitlab_scripts() for argv in aliassync_commands(script)]
    assert {argv[0] for argv in commands} == {"validate", "plan", "show", "apply", "drift"}
    for argv in commands:
        assert_parses(argv)


def test_the_pre_commit_hook_runs_validate():
    (hook,) = yaml.safe_load(PRE_COMMIT.read_text())
    assert hook["id"] == "aliassync-validate"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    entry = shlex.split(hook["entry"])
    assert entry[0] == "aliassync"
    assert_parses(entry[1:] + ["aliases/"])


def _apply_commands(scripts: list[str]) -> list[list[str]]:
    return [shlex.split(match.group(1)) for script in scripts for line in script.splitlines()
            for match in re.finditer(r"\baliassync (apply [^|>&;]+)", line)]


def _saved_plan_output(tmp_path: Path, capsys) -> tuple[Path, str]:
    """What the plan job's `aliassync plan ... --out plan.json --format json > plan-out.json` leaves behind
    (run here against a sandbox), and the checksum inside plan.json."""
    from aliassync.cli import main

    phones = tmp_path / "phones.yaml"
    phones.write_text("phones:\n  - {login: p1}\n  - {login: p2}\n", encoding="utf-8")
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("version: 1\naliases:\n  team1: {alias_name: Team 1, phone_logins: [p1, p2]}\n")
    sandbox = str(tmp_path / "s.sqlite")
    assert main(["sandbox", "init", sandbox, "--phones", str(phones)]) == 0
    capsys.readouterr()
    assert main(["plan", str(aliases), "--sandbox", sandbox, "--out", str(tmp_path / "plan.json"),
                 "--format", "json"]) == 2
    (tmp_path / "plan-out.json").write_text(capsys.readouterr().out)
    return tmp_path, json.loads((tmp_path / "plan.json").read_text())["checksum"]


def test_the_gitlab_apply_job_applies_only_the_plan_the_plan_job_checksummed(tmp_path, capsys):
    # The checksum travels as a dotenv report: GitLab sets PLAN_CHECKSUM in the jobs that need plan:main.
    pipeline = yaml.safe_load(GITLAB.read_text())
    plan_job, apply_job = pipeline["plan:main"], pipeline["apply"]
    assert _apply_commands(gitlab_scripts()) == [
        ["apply", "plan.json", "--checksum", "$PLAN_CHECKSUM", "--yes", "--result", "result.json"]]
    assert apply_job["needs"] == ["plan:main"]
    assert plan_job["artifacts"]["reports"] == {"dotenv": "plan.env"}
    assert "plan.json" in plan_job["artifacts"]["paths"]
    assert plan_job["script"][0] == ("aliassync plan aliases/ --out plan.json --format json > plan-out.json "
                                     "|| [ $? -eq 2 ]")

    # The job's own extraction, run on what plan really prints, writes plan.json's checksum to plan.env.
    (extraction,) = [line for line in plan_job["script"] if line.endswith("> plan.env")]
    assert extraction.startswith("python -c ")
    directory, checksum = _saved_plan_output(tmp_path, capsys)
    command = shlex.quote(sys.executable) + extraction[len("python"):]
    subprocess.run(command, shell=True, cwd=directory, check=True)
    assert (directory / "plan.env").read_text() == f"PLAN_CHECKSUM={checksum}\n"


def test_the_gitlab_merge_request_job_reads_the_dialer_once_and_notes_that_saved_plan(tmp_path, capsys):
    # plan:mr's aliassync lines, run in order as the job runs them (against a sandbox): one plan, then
    # `show` renders that saved plan, and the note's body starts with the marker the note is found by.
    from aliassync.output.render import PR_COMMENT_MARKER

    job = yaml.safe_load(GITLAB.read_text())["plan:mr"]
    lines = [line for line in job["script"] if line.startswith("aliassync ")]
    assert [line.split()[1] for line in lines] == ["plan", "show", "show"]
    directory, checksum = _saved_plan_output(tmp_path, capsys)     # what the plan line leaves behind
    assert lines[0] == "aliassync plan aliases/ --out plan.json --format json > plan-out.json || [ $? -eq 2 ]"
    env = {**os.environ, "CI_JOB_URL": "https://gitlab.test/acme/dialer/-/jobs/42",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in lines[1:]:
        subprocess.run(line, shell=True, cwd=directory, env=env, check=True, capture_output=True)
    note = (directory / "plan.md").read_text()
    assert note.startswith(PR_COMMENT_MARKER + "\n") and "create team1" in note
    assert "--data-urlencode \"body@plan.md\"" in job["script"][-1]
