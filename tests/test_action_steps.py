"""The action as a runner runs it: action.yml's own steps, in order, from a real wheel of aliassync.

tests/test_action.py runs action/run.py alone. Here a small stand-in for the GitHub runner reads
action.yml and carries out its composite steps the way the runner documents it: `if:` expressions
(with the implicit `success()`), `${{ }}` in env and `with:`, each bash step as
`bash --noprofile --norc -eo pipefail FILE`, a fresh GITHUB_OUTPUT per step read back into
`steps.<id>.outputs`, GITHUB_PATH lines put in front of PATH for the steps that follow, and the
action's outputs from their `value:` expressions. `uses:` steps are not run: the stand-in records
what it would have given them (setup-python, upload-artifact).

What is installed is a wheel built here from the checkout (`pip wheel`, no network), so the
packaging (the schemas inside the package, the `aliassync` command) is what a user's pip gets. Tests
send no traffic off this machine, so pip installs the wheel with --no-index --no-deps and the
dependencies come from this test's own environment (PYTHONPATH); aliassync itself comes from the
action's venv, never from this checkout: the runner's PATH holds only python3, bash's tools and gh.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from test_action import GH_STAND_IN, PLAN_MARKER, read_github_output

ROOT = Path(__file__).parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


# ---------------------------------------------------------------- the wheel

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """aliassync's wheel, built from this checkout by its own build backend, offline."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                           "--no-build-isolation", "--wheel-dir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("aliassync-*.whl")
    return built


def test_the_wheel_holds_every_module_the_schemas_and_the_command_and_nothing_else(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "aliassync").rglob("*.py")}
    schemas = {f"aliassync/schema/{p.name}" for p in (ROOT / "schema").glob("*.json")}
    assert schemas and {"aliassync/schema/aliassync.schema.json", "aliassync/schema/plan.schema.json"} <= schemas
    dist_info = {n for n in names if n.split("/")[0].endswith(".dist-info")}
    assert names - dist_info == modules | schemas
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in dist_info if n.endswith("entry_points.txt")))
    assert "aliassync = aliassync.cli:main" in entry_points.decode()


# ---------------------------------------------------------------- a runner, as far as action.yml needs one

TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>&&|\|\||==|!=|[!(),])"
                   r"|(?P<name>[A-Za-z_][\w.-]*))")


class Expression:
    """GitHub's expression language, as much of it as action.yml uses: string literals, property
    references (missing ones are ''), ==, != (case-insensitive), !, &&, || (which give an operand, not a
    bool), parentheses, format() and always()/success()/failure()."""

    def __init__(self, text: str, context: dict, job_failed: bool):
        self.tokens = [m for m in TOKEN.finditer(text)]
        assert "".join(m.group(0) for m in self.tokens).strip() == text.strip(), f"cannot read {text!r}"
        self.tokens = [m.group(m.lastgroup) for m in self.tokens]
        self.context, self.job_failed, self.at = context, job_failed, 0
        self.status_function = False

    def value(self):
        result = self.either()
        assert self.at == len(self.tokens), f"left over: {self.tokens[self.at:]}"
        return result

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected=None):
        token = self.tokens[self.at]
        assert expected is None or token == expected, (token, expected)
        self.at += 1
        return token

    def either(self):
        left = self.both()
        while self.peek() == "||":
            self.take()
            right = self.both()
            left = left if truthy(left) else right
        return left

    def both(self):
        left = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            left = right if truthy(left) else left
        return left

    def compare(self):
        left = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()
            right = self.unary()
            same = str(left).lower() == str(right).lower()
            return same if op == "==" else not same
        return left

    def unary(self):
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        token = self.take()
        if token == "(":
            inner = self.either()
            self.take(")")
            return inner
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if self.peek() == "(":
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.either())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
            if token in ("always", "success", "failure", "cancelled"):
                self.status_function = True
                return {"always": True, "success": not self.job_failed, "failure": self.job_failed,
                        "cancelled": False}[token]
            assert token == "format", f"function {token} not known to this stand-in"
            return re.sub(r"\{(\d+)\}", lambda m: str(args[1 + int(m.group(1))]), args[0])
        node = self.context
        for part in token.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return node


def truthy(value) -> bool:
    return value not in ("", False, None, 0)


def evaluate(text: str, context: dict, job_failed: bool = False):
    return Expression(text, context, job_failed).value()


def substitute(text: str, context: dict) -> str:
    """`${{ expr }}` replaced in a string (env values, with: values, names)."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), context)), str(text))


def should_run(step: dict, context: dict, job_failed: bool) -> bool:
    condition = str(step.get("if", "")).strip()
    if condition.startswith("${{") and condition.endswith("}}"):
        condition = condition[3:-2]
    if not condition:
        return not job_failed
    expression = Expression(condition, context, job_failed)
    verdict = truthy(expression.value())
    return verdict if expression.status_function else verdict and not job_failed


class Job:
    """One job on the stand-in runner: a workspace, RUNNER_TEMP, PATH, the step summary, the log."""

    def __init__(self, tmp_path: Path, dependencies: str):
        self.dir = tmp_path
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir()
        self.temp = tmp_path / "runner-temp"
        self.temp.mkdir()
        tools = tmp_path / "tools"                # what a runner image has: python3, gh, the shell's tools
        tools.mkdir()
        (tools / "python3").symlink_to(sys.executable)
        gh = tools / "gh"
        gh.write_text(GH_STAND_IN.replace("PYTHON", sys.executable))
        gh.chmod(0o755)
        self.path = [str(tools), "/usr/bin", "/bin"]
        assert shutil.which("aliassync", path=os.pathsep.join(self.path)) is None
        self.dependencies = dependencies
        self.summary = tmp_path / "step-summary.md"
        self.gh_state = tmp_path / "gh-state.json"
        (tmp_path / "event.json").write_text(json.dumps({"pull_request": {"number": 7}}))
        self.log: list[str] = []
        self.artifacts: list[dict] = []

    def use_action(self, inputs: dict[str, str]) -> tuple[bool, dict]:
        """`uses: ./` with these inputs: (did the job fail, the action's outputs)."""
        declared = ACTION["inputs"]
        unknown = set(inputs) - set(declared)
        assert not unknown, unknown
        context = {"github": {"token": "stand-in-token"}, "steps": {}}
        context["inputs"] = {name: str(inputs.get(name, substitute(spec.get("default", ""), context)))
                             for name, spec in declared.items()}
        failed = False
        for number, step in enumerate(ACTION["runs"]["steps"]):
            name = substitute(step.get("name", f"step {number}"), context)
            if not should_run(step, context, failed):
                self.log.append(f"skipped: {name}")
                continue
            self.log.append(f"ran: {name}")
            if "uses" in step:
                given = {k: substitute(v, context) for k, v in step.get("with", {}).items()}
                if step["uses"].startswith("actions/upload-artifact"):
                    self.artifacts.append(given)
                continue
            outcome, outputs = self.run_step(step, context)
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome}
            failed = failed or outcome != "success"
        outputs = {name: substitute(spec["value"], context) for name, spec in ACTION["outputs"].items()}
        return failed, outputs

    def run_step(self, step: dict, context: dict) -> tuple[str, dict]:
        assert step["shell"] == "bash"
        script = self.dir / f"step-{len(self.log)}.sh"
        script.write_text(step["run"])
        output, path_file = self.dir / f"output-{len(self.log)}", self.dir / f"path-{len(self.log)}"
        output.write_text("")
        path_file.write_text("")
        environment = {
            "HOME": str(self.dir), "LANG": "C.UTF-8", "PATH": os.pathsep.join(self.path),
            "PYTHONPATH": self.dependencies, "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
            "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_WORKSPACE": str(self.workspace), "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(output), "GITHUB_PATH": str(path_file), "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_EVENT_PATH": str(self.dir / "event.json"), "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": "acme/dialer-config", "GITHUB_SERVER_URL": "https://github.test",
            "GITHUB_RUN_ID": "4242", "GH_STUB_STATE": str(self.gh_state)}
        environment.update({k: substitute(v, context) for k, v in step.get("env", {}).items()})
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=self.workspace, env=environment, capture_output=True, text=True, timeout=600)
        self.log += [done.stdout, done.stderr]
        # the runner: GITHUB_PATH's lines go in front of PATH for every later step, the last line first
        self.path = [line for line in reversed(path_file.read_text().splitlines()) if line] + self.path
        return ("success" if done.returncode == 0 else "failure"), read_github_output(output)

    def comments(self) -> list[dict]:
        return json.loads(self.gh_state.read_text())["comments"] if self.gh_state.exists() else []


@pytest.fixture
def job(tmp_path) -> Job:
    paths = sysconfig.get_paths()
    return Job(tmp_path, os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]])))


def test_the_expression_stand_in_reads_github_s_forms():
    context = {"inputs": {"a": "", "b": "x", "command": "plan"}, "steps": {"run": {"outputs": {"status": "2"}}}}
    assert evaluate("inputs.a != '' && inputs.a || format('aliassync-{0}', inputs.command)", context) == "aliassync-plan"
    assert evaluate("inputs.b != '' && inputs.b || format('aliassync-{0}', inputs.command)", context) == "x"
    assert evaluate("steps.run.outputs.status != '' && steps.run.outputs.status != '0'", context) is True
    assert evaluate("steps.nothing.outputs.status != ''", context) is False
    assert should_run({"if": "inputs.b != ''"}, context, job_failed=True) is False     # implicit success()
    assert should_run({"if": "always() && inputs.b != ''"}, context, job_failed=True) is True
    assert should_run({"if": "${{ !(inputs.a == '') }}"}, context, job_failed=False) is False


# ---------------------------------------------------------------- the action, end to end

def test_plan_then_apply_of_the_saved_plan_then_drift_from_the_wheel_as_a_runner_runs_the_steps(job, wheel):
    sandbox = job.workspace / "dialer.sqlite"
    tool = Path(sys.executable).parent / "aliassync"          # only to set the scene, never by the action
    subprocess.run([str(tool), "sandbox", "init", str(sandbox), "--phones", str(ROOT / "examples" / "phones.yaml")],
                   check=True, capture_output=True)
    (job.workspace / "aliases").mkdir()
    shutil.copy(ROOT / "examples" / "aliases.yaml", job.workspace / "aliases" / "aliases.yaml")
    common = {"paths": "aliases/", "version": str(wheel), "python-version": "", "args": f"--sandbox {sandbox}"}

    failed, plan = job.use_action({"command": "plan", "comment": "true", **common})
    log = "\n".join(job.log)
    assert not failed, log
    assert "skipped: Set up Python" in log and "ran: Install aliassync" in log and "ran: aliassync plan" in log
    assert "skipped: Fail when aliassync did" in log
    venv_bin = job.temp / "aliassync-venv" / "bin"
    assert job.path[0] == str(venv_bin)                                 # GITHUB_PATH honoured
    assert "aliassync 0.1.0" in log                                     # the install step's --version
    assert plan["exit-code"] == "2" and plan["changes"] == "true" and plan["checksum"].startswith("sha256:")
    assert plan["plan-file"] == str(job.workspace / "aliassync-plan.json")
    (artifact,) = job.artifacts
    assert artifact["name"] == "aliassync-plan"
    assert all(Path(p).is_file() for p in artifact["path"].splitlines()) and plan["plan-file"] in artifact["path"]
    (comment,) = job.comments()
    assert comment["body"].startswith(PLAN_MARKER) and "create" in comment["body"]
    assert comment["body"] in job.summary.read_text()
    installed = (job.temp / "aliassync-venv" / "aliassync-requirement.txt").stat().st_mtime_ns

    job.log.clear()
    failed, applied = job.use_action({"command": "apply", "checksum": plan["checksum"], **common})
    assert not failed, "\n".join(job.log)
    assert applied["exit-code"] == "0" and applied["changes"] == "true" and applied["checksum"] == plan["checksum"]
    assert (job.temp / "aliassync-venv" / "aliassync-requirement.txt").stat().st_mtime_ns == installed  # once a job

    job.log.clear()
    failed, drift = job.use_action({"command": "drift", **common})
    assert not failed and drift["exit-code"] == "0" and drift["changes"] == "false", "\n".join(job.log)
    assert len(job.comments()) == 1


def test_a_refused_apply_fails_the_job_in_the_last_step_after_the_artifact_is_kept(job, wheel):
    sandbox = job.workspace / "dialer.sqlite"
    tool = Path(sys.executable).parent / "aliassync"
    subprocess.run([str(tool), "sandbox", "init", str(sandbox), "--phones", str(ROOT / "examples" / "phones.yaml")],
                   check=True, capture_output=True)
    shutil.copy(ROOT / "examples" / "aliases.yaml", job.workspace / "aliases.yaml")
    common = {"paths": "aliases.yaml", "version": str(wheel), "python-version": "", "args": f"--sandbox {sandbox}"}
    failed, plan = job.use_action({"command": "plan", **common})
    assert not failed and plan["exit-code"] == "2", "\n".join(job.log)

    job.log.clear()
    wrong = "sha256:" + "0" * 64
    failed, applied = job.use_action({"command": "apply", "checksum": wrong, "artifact-name": "apply-result",
                                      **common})
    log = "\n".join(job.log)
    assert failed and applied["exit-code"] == "1" and applied["changes"] == "false", log
    assert log.index("ran: aliassync apply") < log.index("ran: Upload the plan") < log.index("ran: Fail when aliassync did")
    assert job.artifacts[-1]["name"] == "apply-result"
    assert "checksum" in log
