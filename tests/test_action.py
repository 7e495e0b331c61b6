"""The GitHub Action: action.yml is a composite action that only installs and calls action/run.py, and
run.py, run here as the runner runs it (a subprocess with INPUT_* variables, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, an event file), drives the real aliassync against a sandbox and talks to a
stand-in `gh` that keeps the pull request's comments in a JSON file and records every call."""
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
ACTION = ROOT / "action.yml"
SCRIPT = ROOT / "action" / "run.py"
PLAN_MARKER, DRIFT_MARKER = "<!-- aliassync-plan -->", "<!-- aliassync-drift -->"
CANARY = "Canary-Secret-7f3a9"

GH_STAND_IN = textwrap.dedent('''\
    #!PYTHON
    """gh, as far as the action uses it: `gh api [--paginate] [--method M] PATH [-F body=@FILE]`."""
    import json, os, sys
    from pathlib import Path

    state = Path(os.environ["GH_STUB_STATE"])
    data = json.loads(state.read_text()) if state.exists() else {"comments": [], "calls": [], "next_id": 1000}
    argv = sys.argv[1:]
    data["calls"].append(argv)
    state.write_text(json.dumps(data))
    if os.environ.get("GH_STUB_FAIL"):
        sys.exit("gh: Resource not accessible by integration (HTTP 403)")
    args, method, fields, paginate = argv[1:], "GET", {}, False
    path = None
    while args:
        arg = args.pop(0)
        if arg == "--paginate":
            paginate = True
        elif arg == "--method":
            method = args.pop(0)
        elif arg == "-F":
            name, value = args.pop(0).split("=", 1)
            fields[name] = Path(value[1:]).read_text() if value.startswith("@") else value
        else:
            path = arg
    if path == "user":
        sys.exit("gh: Resource not accessible by integration (HTTP 403)")
    parts = path.split("/")
    if method == "GET" and parts[-1] == "comments":
        comments = [c for c in data["comments"] if c["issue"] == int(parts[-2])]
        pages = [comments[i:i + 2] for i in range(0, len(comments), 2)] or [[]]
        print("".join(json.dumps(page) for page in (pages if paginate else pages[:1])))
    elif method == "POST" and parts[-1] == "comments":
        comment = {"id": data["next_id"], "issue": int(parts[-2]), "body": fields["body"],
                   "user": {"login": "github-actions[bot]", "type": "Bot"}, "html_url": f"https://github.test/c/{data['next_id']}"}
        data["next_id"] += 1
        data["comments"].append(comment)
        print(json.dumps(comment))
    elif method == "PATCH":
        (comment,) = [c for c in data["comments"] if c["id"] == int(parts[-1])]
        comment["body"] = fields["body"]
        print(json.dumps(comment))
    else:
        sys.exit(f"gh stand-in: {method} {path} not known")
    state.write_text(json.dumps(data))
''')


def read_github_output(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file read as the runner reads it: name=value lines and name<<DELIMITER blocks."""
    found, lines = {}, iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            found[name] = "\n".join(value)
        elif line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


class Runner:
    """One job's workspace: a sandbox dialer, the desired files, the runner's files, the gh stand-in."""

    def __init__(self, tmp_path: Path, event: dict | None = None):
        self.dir = tmp_path
        self.work = tmp_path / "work"
        self.work.mkdir()
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(GH_STAND_IN.replace("PYTHON", sys.executable))
        gh.chmod(0o755)
        self.state = tmp_path / "gh-state.json"
        if event is None:
            event = {"pull_request": {"number": 7}}
        (tmp_path / "event.json").write_text(json.dumps(event))
        self.sandbox = tmp_path / "dialer.sqlite"
        done = subprocess.run([self.aliassync_bin(), "sandbox", "init", str(self.sandbox),
                               "--phones", str(ROOT / "examples" / "phones.yaml")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        (self.work / "aliases").mkdir()
        (self.work / "aliases" / "aliases.yaml").write_text((ROOT / "examples" / "aliases.yaml").read_text())
        self.path = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        self.output, self.summary = tmp_path / "github-output", tmp_path / "step-summary.md"
        self.runs = 0

    @staticmethod
    def aliassync_bin() -> str:
        return str(Path(sys.executable).parent / "aliassync")

    def run(self, command: str, *, extra_env: dict | None = None, **inputs: str) -> subprocess.CompletedProcess:
        """The action's run step, as the runner runs it; GITHUB_OUTPUT is fresh for each step."""
        self.runs += 1
        self.output.write_text("")
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALIASSYNC_", "INPUT_", "GITHUB_"))}
        environment.update({
            "PATH": self.path, "GH_STUB_STATE": str(self.state),
            "GITHUB_OUTPUT": str(self.output), "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_EVENT_PATH": str(self.dir / "event.json"), "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": "acme/dialer-config", "GITHUB_SERVER_URL": "https://github.test",
            "GITHUB_RUN_ID": "4242", "INPUT_COMMAND": command, "INPUT_PATHS": "aliases/",
            "INPUT_WORKING_DIRECTORY": str(self.work), "INPUT_ARGS": f"--sandbox {self.sandbox}",
            "INPUT_PLAN_FILE": "aliassync-plan.json", "INPUT_FAIL_ON_DRIFT": "true", "INPUT_COMMENT": "false",
        })
        environment.update({"INPUT_" + k.upper(): v for k, v in inputs.items()})
        environment.update(extra_env or {})
        return subprocess.run([sys.executable, str(SCRIPT)], env=environment, capture_output=True, text=True,
                              timeout=120)

    def outputs(self) -> dict[str, str]:
        return read_github_output(self.output)

    def gh(self) -> dict:
        return json.loads(self.state.read_text()) if self.state.exists() else {"comments": [], "calls": []}

    def comments(self) -> list[dict]:
        return self.gh()["comments"]

    def writes(self) -> list[list[str]]:
        """The gh calls that wrote (POST or PATCH), as (method, path)."""
        return [(call[call.index("--method") + 1], call[call.index("--method") + 2])
                for call in self.gh()["calls"] if "--method" in call]


@pytest.fixture
def runner(tmp_path):
    return Runner(tmp_path)


def live_aliases(runner: Runner) -> str:
    done = subprocess.run([runner.aliassync_bin(), "export", "--sandbox", str(runner.sandbox)],
                          capture_output=True, text=True, check=True)
    return done.stdout


# ---------------------------------------------------------------- plan

def test_plan_with_changes_passes_writes_its_outputs_summary_and_one_comment_then_edits_it(runner):
    done = runner.run("plan", comment="true")
    assert done.returncode == 0, done.stderr          # exit 2 (changes) is not a failure for plan
    out = runner.outputs()
    assert out["exit-code"] == "2" and out["changes"] == "true"
    saved = json.loads((runner.work / "aliassync-plan.json").read_text())
    assert out["checksum"] == saved["checksum"] and re.fullmatch(r"sha256:[0-9a-f]{64}", out["checksum"])
    assert out["plan-file"] == str(runner.work / "aliassync-plan.json")
    markdown = Path(out["markdown"]).read_text()
    assert markdown.startswith(PLAN_MARKER + "\n")
    assert "create sales1" in markdown and "delete retired7" in markdown
    assert set(out["files"].splitlines()) == {str(runner.work / name) for name in (
        "aliassync-plan.json", "aliassync-plan.out.json", "aliassync-plan.txt", "aliassync-plan.md")}
    assert "create sales1" in (runner.work / "aliassync-plan.txt").read_text()
    assert runner.summary.read_text() == markdown.rstrip("\n") + "\n\n"
    assert "::notice::aliassync plan: 2 to create, 1 to update, 1 to delete" in done.stdout
    (comment,) = runner.comments()
    assert comment["body"] == markdown and comment["issue"] == 7
    assert out["comment-url"] == f"https://github.test/c/{comment['id']}"
    assert runner.writes() == [("POST", "repos/acme/dialer-config/issues/7/comments")]

    # The second run finds the comment by its marker and edits it: still one comment.
    done = runner.run("plan", comment="true")
    assert done.returncode == 0, done.stderr
    assert runner.writes() == [("POST", "repos/acme/dialer-config/issues/7/comments"),
                               ("PATCH", f"repos/acme/dialer-config/issues/comments/{comment['id']}")]
    (edited,) = runner.comments()
    assert edited["id"] == comment["id"] and edited["body"] == Path(runner.outputs()["markdown"]).read_text()
    assert runner.summary.read_text().count(PLAN_MARKER) == 2     # the summary is appended to, step by step


def test_the_dialer_is_read_once_by_a_plan_the_rest_is_shown_from_the_saved_plan(runner):
    done = runner.run("plan")
    commands = [line.split()[1:3] for line in done.stdout.splitlines() if line.startswith("$ aliassync ")]
    assert commands == [["aliassync", "plan"], ["aliassync", "show"], ["aliassync", "show"]]
    assert "--details-url https://github.test/acme/dialer-config/actions/runs/4242" in done.stdout


def test_a_comment_is_found_among_many_pages_and_another_users_marker_comment_is_left_alone(runner):
    # Someone quoted a plan in their own comment (it starts with the marker too); three more pages of chat.
    state = {"next_id": 1, "calls": [], "comments": [
        {"id": 900 + i, "issue": 7, "body": "looks good", "user": {"login": "alice", "type": "User"}} for i in range(5)]}
    state["comments"].insert(1, {"id": 800, "issue": 7, "body": PLAN_MARKER + "\nold plan, quoted",
                                 "user": {"login": "alice", "type": "User"}})
    runner.state.write_text(json.dumps(state))
    runner.run("plan", comment="true")
    runner.run("plan", comment="true")
    mine = [c for c in runner.comments() if c["user"]["login"] == "github-actions[bot]"]
    assert len(mine) == 1 and len(runner.comments()) == 7
    assert [method for method, _ in runner.writes()] == ["POST", "PATCH"]
    assert runner.writes()[1][1].endswith(f"/comments/{mine[0]['id']}")
    assert any("--paginate" in call for call in runner.gh()["calls"])


def test_plan_without_changes_says_changes_false_and_exit_code_0(runner):
    assert runner.run("plan").returncode == 0
    plan = runner.outputs()
    assert runner.run("apply", checksum=plan["checksum"]).returncode == 0
    done = runner.run("plan")
    assert done.returncode == 0
    assert runner.outputs()["exit-code"] == "0" and runner.outputs()["changes"] == "false"


def test_comment_outside_a_pull_request_is_skipped_with_a_notice(tmp_path):
    runner = Runner(tmp_path, event={"ref": "refs/heads/main"})
    done = runner.run("plan", comment="true", extra_env={"GITHUB_EVENT_NAME": "push"})
    assert done.returncode == 0
    assert "::notice::comment: this run (push) is not about a pull request; no comment written" in done.stdout
    assert runner.gh()["calls"] == []


def test_a_comment_that_cannot_be_written_is_a_warning_and_the_plan_still_passes(runner):
    done = runner.run("plan", comment="true", extra_env={"GH_STUB_FAIL": "1"})
    assert done.returncode == 0
    assert "::warning::comment: could not write the pull-request comment" in done.stdout
    assert "HTTP 403" in done.stdout
    assert runner.outputs()["exit-code"] == "2" and runner.outputs()["changes"] == "true"


def test_a_plan_that_fails_fails_the_step_and_says_why_in_the_summary_and_the_comment(runner):
    (runner.work / "aliases" / "aliases.yaml").write_text("version: 1\naliases:\n  x: {alias_name: X}\n")
    done = runner.run("plan", comment="true")
    assert done.returncode == 1
    out = runner.outputs()
    assert out["exit-code"] == "1" and out["changes"] == "false" and out["checksum"] == ""
    assert "::error::aliassync plan failed (exit 1)" in done.stdout
    (comment,) = runner.comments()     # the PR does not keep showing an earlier plan as if it held
    assert comment["body"].startswith(PLAN_MARKER + "\n### aliassync plan failed (exit 1)")
    assert "aliases.yaml:3:" in comment["body"]
    assert runner.summary.read_text().startswith(comment["body"].rstrip("\n"))


# ---------------------------------------------------------------- apply

def test_apply_of_the_saved_plan_with_its_checksum_writes_it_and_the_next_plan_is_empty(runner):
    assert runner.run("plan").returncode == 0
    checksum = runner.outputs()["checksum"]
    done = runner.run("apply", checksum=checksum)
    assert done.returncode == 0, done.stdout + done.stderr
    out = runner.outputs()
    assert out["exit-code"] == "0" and out["changes"] == "true" and out["checksum"] == checksum
    markdown = Path(out["markdown"]).read_text()
    assert markdown.startswith(PLAN_MARKER + "\n### aliassync apply\n\n**Apply: 4 done, 0 failed, 0 skipped, "
                               "0 conflict, 0 unknown.**\n")
    assert "create sales1" in markdown
    assert json.loads((runner.work / "aliassync-result.json").read_text())["exit_code"] == 0
    assert "sales1" in live_aliases(runner)

    assert runner.run("plan").returncode == 0
    assert runner.outputs()["changes"] == "false" and runner.outputs()["exit-code"] == "0"


def test_apply_with_a_wrong_checksum_fails_and_writes_nothing(runner):
    assert runner.run("plan").returncode == 0
    before = live_aliases(runner)
    done = runner.run("apply", checksum="sha256:" + "0" * 64)
    assert done.returncode == 1
    out = runner.outputs()
    assert out["exit-code"] == "1" and out["changes"] == "false"
    assert "::error::aliassync apply failed (exit 1)" in done.stdout
    markdown = Path(out["markdown"]).read_text()
    assert "**Apply: 0 done, 0 failed, 0 skipped, 0 conflict, 0 unknown.**" in markdown
    assert "this is not the plan that was reviewed; nothing written" in markdown
    assert live_aliases(runner) == before


def test_apply_from_the_files_when_no_plan_file_is_given(runner):
    done = runner.run("apply", plan_file="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert runner.outputs()["changes"] == "true"
    assert "sales2" in live_aliases(runner)


# ---------------------------------------------------------------- drift

def drifted(runner: Runner) -> None:
    """The dialer made to match the files, then changed by hand."""
    assert runner.run("apply", plan_file="").returncode == 0
    (runner.work / "aliases" / "aliases.yaml").write_text(
        (runner.work / "aliases" / "aliases.yaml").read_text().replace("Sales floor 1", "Sales floor one"))


def test_drift_fails_the_step_when_asked_and_passes_when_not_exit_code_2_either_way(runner):
    drifted(runner)
    done = runner.run("drift", comment="true")
    assert done.returncode == 1
    assert runner.outputs()["exit-code"] == "2" and runner.outputs()["changes"] == "true"
    assert "::error::aliassync drift: the dialer differs from the files (1 difference(s))" in done.stdout
    markdown = Path(runner.outputs()["markdown"]).read_text()
    assert markdown.startswith(DRIFT_MARKER + "\n") and "sales1" in markdown
    (comment,) = runner.comments()
    assert comment["body"] == markdown

    done = runner.run("drift", fail_on_drift="false")
    assert done.returncode == 0
    assert runner.outputs()["exit-code"] == "2" and runner.outputs()["changes"] == "true"
    assert "::warning::aliassync drift: the dialer differs" in done.stdout


def test_drift_in_sync_passes(runner):
    assert runner.run("apply", plan_file="").returncode == 0
    done = runner.run("drift")
    assert done.returncode == 0 and runner.outputs()["exit-code"] == "0" and runner.outputs()["changes"] == "false"


# ---------------------------------------------------------------- validate and inputs

def test_validate_of_a_broken_file_fails_with_annotations(runner):
    (runner.work / "aliases" / "aliases.yaml").write_text("version: 1\naliases:\n  x: {alias_name: X}\n")
    done = runner.run("validate", args="")
    assert done.returncode == 1
    assert re.search(r"^::error file=aliases/aliases\.yaml,line=3,col=\d+::", done.stdout, re.M)
    assert runner.outputs()["exit-code"] == "1"

    (runner.work / "aliases" / "aliases.yaml").write_text((ROOT / "examples" / "aliases.yaml").read_text())
    assert runner.run("validate", args="").returncode == 0


def test_an_unknown_command_or_flag_is_one_error_line(runner):
    done = runner.run("destroy")
    assert done.returncode == 1 and runner.outputs()["exit-code"] == "1"
    assert "::error::aliassync action: command must be one of validate, plan, apply, drift, not 'destroy'" in done.stdout
    done = runner.run("drift", fail_on_drift="maybe")
    assert "::error::aliassync action: fail-on-drift must be true or false, not 'maybe'" in done.stdout


def test_secrets_never_reach_the_outputs_summary_or_comment(runner):
    # A real target (no --sandbox) whose passwords are a canary and which cannot be reached: plan fails.
    secrets = {"ALIASSYNC_API_URL": "http://127.0.0.1:9/vicidial/non_agent_api.php",
               "ALIASSYNC_API_USER": "apiuser", "ALIASSYNC_API_PASS": CANARY,
               "ALIASSYNC_DB_URL": f"mysql://reader:{CANARY}@127.0.0.1:9/asterisk"}
    done = runner.run("plan", comment="true", args="", extra_env=secrets)
    assert done.returncode == 1 and runner.outputs()["exit-code"] == "1"
    written = [runner.output.read_text(), runner.summary.read_text(), json.dumps(runner.gh()), done.stdout,
               done.stderr] + [p.read_text() for p in runner.work.glob("aliassync-*")]
    assert runner.comments()      # the failure was commented: the test looks at something
    for text in written:
        assert CANARY not in text


def test_the_version_input_becomes_a_pip_requirement():
    spec = importlib.util.spec_from_file_location("aliassync_action_run", SCRIPT)
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    assert run.requirement("", "/actions/aliassync/v1") == "/actions/aliassync/v1"
    assert run.requirement("0.2.0", "/x") == "aliassync==0.2.0"
    assert run.requirement(" 0.2.0\n", "/x") == "aliassync==0.2.0"
    assert run.requirement("aliassync>=0.2,<0.3", "/x") == "aliassync>=0.2,<0.3"
    assert run.requirement("aliassync @ git+https://example.test/aliassync@main", "/x").startswith("aliassync @")
    assert run.json_values('[1, 2][3]\n[]') == [[1, 2], [3], []]


# ---------------------------------------------------------------- action.yml

def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


INPUTS = {"command", "paths", "plan-file", "checksum", "comment", "fail-on-drift", "version", "python-version",
          "github-token", "args", "working-directory", "artifact-name"}
OUTPUTS = {"exit-code", "changes", "checksum", "plan-file", "markdown", "comment-url"}


def test_action_yml_is_a_composite_action_with_its_inputs_and_outputs():
    spec = action()
    assert spec["runs"]["using"] == "composite"
    assert set(spec["inputs"]) == INPUTS and spec["inputs"]["command"]["required"] is True
    assert spec["inputs"]["comment"]["default"] == "false" and spec["inputs"]["fail-on-drift"]["default"] == "true"
    assert spec["inputs"]["plan-file"]["default"] == "aliassync-plan.json"
    assert set(spec["outputs"]) == OUTPUTS
    for name, output in spec["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_every_input_action_yml_uses_is_declared_and_every_declared_one_is_used():
    text = ACTION.read_text()
    used = set(re.findall(r"\binputs\.([\w-]+)", text))
    assert used == set(action()["inputs"])


def test_no_run_block_splices_an_input_or_an_expression_into_shell_code():
    for step in action()["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step["run"]      # inputs travel as env, read by the script
            assert step["shell"] == "bash"


def test_the_steps_install_then_run_the_script_upload_and_then_fail():
    steps = action()["runs"]["steps"]
    assert [s.get("uses", "").split("@")[0] or s["run"].split("\n")[0] for s in steps] == [
        "actions/setup-python",
        'python3 "$GITHUB_ACTION_PATH/action/run.py" install',
        "status=0",
        "actions/upload-artifact",
        'echo "aliassync failed (see the step above)"']
    assert 'python3 "$GITHUB_ACTION_PATH/action/run.py" || status=$?' in steps[2]["run"]
    assert SCRIPT.exists()
    assert steps[3]["if"].startswith("always()") and steps[4]["if"].startswith("always()")
    run_env = steps[2]["env"]
    assert {k for k in run_env if k.startswith("INPUT_")} == {
        "INPUT_" + name.upper().replace("-", "_") for name in INPUTS - {"version", "python-version",
                                                                          "github-token", "artifact-name"}}
    for key, value in run_env.items():
        if key.startswith("INPUT_"):
            assert value == f"${{{{ inputs.{key[6:].lower().replace('_', '-')} }}}}"
    assert run_env["GH_TOKEN"] == "${{ inputs.github-token }}"


def test_the_script_finds_comments_by_the_markers_aliassync_writes():
    from aliassync.output.drift import DRIFT_MARKER as written_drift
    from aliassync.output.render import PR_COMMENT_MARKER as written_plan

    text = SCRIPT.read_text()
    assert f'PLAN_MARKER = "{written_plan}"' in text and f'DRIFT_MARKER = "{written_drift}"' in text
