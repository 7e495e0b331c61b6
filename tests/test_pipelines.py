"""The CI examples and the pre-commit hook: valid YAML for their systems, and
every aliassync command they run exists with the options they pass."""
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aliassync.cli import build_parser

ROOT = Path(__file__).parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
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


def github_scripts() -> list[str]:
    workflow = yaml.safe_load(GITHUB.read_text())
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


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


def test_the_github_pr_comment_is_found_by_the_marker_the_markdown_plan_starts_with():
    from aliassync.output.render import PR_COMMENT_MARKER

    assert f"marker='{PR_COMMENT_MARKER}'" in GITHUB.read_text()
    assert PR_COMMENT_MARKER in GITLAB.read_text()


def test_the_gitlab_pipeline_has_its_stages_and_jobs():
    pipeline = yaml.safe_load(GITLAB.read_text())
    assert pipeline["stages"] == ["validate", "plan", "apply", "drift"]
    jobs = {name for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    assert jobs == {"validate", "plan:mr", "plan:main", "apply", "drift"}
    for name in jobs:
        assert pipeline[name]["stage"] in pipeline["stages"]
    assert pipeline["apply"]["needs"] == ["plan:main"]


@pytest.mark.parametrize("scripts", [github_scripts, gitlab_scripts], ids=["github", "gitlab"])
def test_every_aliassync_command_in_the_pipelines_exists(scripts):
    commands = [argv for script in scripts() for argv in aliassync_commands(script)]
    assert {argv[0] for argv in commands} >= {"validate", "plan", "apply", "drift"}
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


def test_the_github_apply_job_applies_only_the_plan_the_plan_job_checksummed(tmp_path, capsys):
    # The apply job gets plan.json through an artifact; the checksum travels apart, as a job output,
    # so a plan file swapped or re-made in between is refused.
    workflow = yaml.safe_load(GITHUB.read_text())
    plan_job, apply_job = workflow["jobs"]["plan-main"], workflow["jobs"]["apply"]
    assert _apply_commands(github_scripts()) == [
        ["apply", "plan.json", "--checksum", "$CHECKSUM", "--yes", "--result", "result.json"]]
    (step,) = [s for s in apply_job["steps"] if "aliassync apply" in s.get("run", "")]
    assert step["env"]["CHECKSUM"] == "${{ needs.plan-main.outputs.checksum }}"
    assert plan_job["outputs"]["checksum"] == "${{ steps.plan.outputs.checksum }}"
    (plan_step,) = [s for s in plan_job["steps"] if s.get("id") == "plan"]
    assert "aliassync plan aliases/ --out plan.json --format json > plan-out.json\n" in plan_step["run"]
    assert 'echo "checksum=${checksum}" >> "$GITHUB_OUTPUT"' in plan_step["run"]

    # The step's own extraction, run on what plan really prints, gives plan.json's checksum.
    extraction = re.search(r"checksum=\$\((jq [^)]*)\)", plan_step["run"]).group(1)
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub's runners have it)")
    directory, checksum = _saved_plan_output(tmp_path, capsys)
    done = subprocess.run(extraction, shell=True, cwd=directory, capture_output=True, text=True, check=True)
    assert done.stdout == checksum + "\n"


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
