"""The CI examples and the pre-commit hook: valid YAML for their systems, and
every aliassync command they run exists with the options they pass."""
import re
import shlex
from pathlib import Path

import pytest
import yaml

from aliassync.cli import build_parser

ROOT = Path(__file__).parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
PRE_COMMIT = ROOT / ".pre-commit-hooks.yaml"


def aliassync_commands(script: str) -> list[list[str]]:
    """Every `aliassync ...` invocation in a shell script, as argv (redirections cut off)."""
    found = []
    for line in script.splitlines():
        for match in re.finditer(r"\baliassync ([^|>&;]+)", line):
            argv = shlex.split(match.group(1))
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
    from aliassync.render import PR_COMMENT_MARKER

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
