"""The GitHub Action's logic (action.yml at the repository's root runs it).

Standard library only: it runs before anything but Python is installed.

    python3 run.py install    put aliassync (INPUT_VERSION, or the action's own checkout) in a venv on PATH
    python3 run.py            run INPUT_COMMAND (validate, plan, apply, drift) with the aliassync on PATH

A run plans (or drifts, or applies) ONCE and shows that one result several
ways with `aliassync show`, offline: markdown for the job summary and the
pull-request comment, text for the log and the artifact. It writes the
step outputs (exit-code, changes, checksum, plan-file, markdown, files)
whatever happens, and exits 0 or 1 as the exit-code policy decides:

    validate  0 passes; 1 fails
    plan      0 (no changes) and 2 (changes) pass; 1 fails
    apply     0 passes; 1 (refused, nothing written) and 3 (some writes failed) fail
    drift     0 passes; 2 (drift) fails when INPUT_FAIL_ON_DRIFT is true; 1 fails

Secrets (ALIASSYNC_API_PASS, ALIASSYNC_DB_URL, ...) stay in the environment
aliassync reads them from; nothing here prints the environment.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse

PLAN_MARKER = "<!-- aliassync-plan -->"
DRIFT_MARKER = "<!-- aliassync-drift -->"
COMMENT_LIMIT = 65536          # GitHub's limit on a comment's body
COMMANDS = ("validate", "plan", "apply", "drift")
REQUIREMENT_SIGNS = set("=<>@ /")


# ---------------------------------------------------------------- inputs and runner files

def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def flag(name: str, default: bool) -> bool:
    value = env(name).strip().lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    if value:
        raise UsageError(f"{name.removeprefix('INPUT_').lower().replace('_', '-')} must be true or false, "
                         f"not {value!r}")
    return default


class UsageError(Exception):
    """An input the action cannot work with: one ::error line, exit 1."""


WRITTEN: set[str] = set()       # the outputs this run has written


def set_output(name: str, value: str) -> None:
    WRITTEN.add(name)
    path = env("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            handle.write(f"{name}={value}\n")


def append_summary(markdown: str) -> None:
    path = env("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n\n")


def command_line(kind: str, message: str) -> None:
    """A workflow command (::notice::, ::warning::, ::error::) with its message escaped."""
    text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::{kind}::{text}", flush=True)


def run_url() -> str:
    server, repo, run_id = env("GITHUB_SERVER_URL", "https://github.com"), env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")
    return f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else ""


# ---------------------------------------------------------------- install

def requirement(version: str, action_path: str) -> str:
    """What pip installs: the action's own checkout (so @v1 pins the tool too), `aliassync==VERSION`,
    or VERSION itself when it already is a requirement (`aliassync>=0.2`, `git+https://...`, a path)."""
    version = version.strip()
    if not version:
        return action_path
    if REQUIREMENT_SIGNS & set(version):
        return version
    return f"aliassync=={version}"


def install() -> int:
    """aliassync in its own venv (the runner's Python stays as the workflow left it), put on PATH for the
    steps that follow; a second use of the action in the job with the same version installs nothing."""
    venv = Path(env("RUNNER_TEMP") or tempfile.gettempdir()) / "aliassync-venv"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    spec = requirement(env("INPUT_VERSION"), env("GITHUB_ACTION_PATH") or str(Path(__file__).resolve().parent.parent))
    installed = venv / "aliassync-requirement.txt"
    if not (installed.exists() and installed.read_text(encoding="utf-8") == spec):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        spec], check=True)
        installed.write_text(spec, encoding="utf-8")
    path_file = env("GITHUB_PATH")
    if path_file:
        with open(path_file, "a", encoding="utf-8") as handle:
            handle.write(f"{bin_dir}\n")
    subprocess.run([str(bin_dir / "aliassync"), "--version"], check=True)
    return 0


# ---------------------------------------------------------------- aliassync

class Ran:
    """One aliassync run: its exit code, and the lines it wrote to stderr (logs and errors)."""

    def __init__(self, code: int, stderr_lines: list[str]):
        self.code, self.stderr_lines = code, stderr_lines

    def errors(self) -> list[str]:
        """What the run said went wrong: its lines that are not progress logs."""
        return [line for line in self.stderr_lines if line.strip() and not line.startswith("aliassync: ")]


def aliassync(argv: list[str], stdout_path: Path | None = None) -> Ran:
    """Run the aliassync on PATH; its stderr goes to the log as it comes (and is kept), its stdout to
    `stdout_path` or the log."""
    print("$ aliassync " + shlex.join(argv), flush=True)
    out = open(stdout_path, "w", encoding="utf-8") if stdout_path else None
    try:
        process = subprocess.Popen(["aliassync", *argv], stdout=out or sys.stdout, stderr=subprocess.PIPE,
                                   text=True, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UsageError("aliassync is not on PATH (the action's install step puts it there)") from None
    finally:
        if out:
            out.close()
    kept = []
    for line in process.stderr:
        sys.stderr.write(line)
        kept.append(line.rstrip("\n"))
    sys.stderr.flush()
    return Ran(process.wait(), kept)


def show(document: Path, fmt: str, out: Path) -> str:
    """`aliassync show`: the document rendered again, offline; its text, also written to `out`."""
    argv = ["show", str(document), "--format", fmt]
    if fmt == "markdown" and run_url():
        argv += ["--details-url", run_url()]
    ran = aliassync(argv, out)
    if ran.code != 0:
        raise UsageError(f"aliassync show {document} failed (exit {ran.code})")
    return out.read_text(encoding="utf-8")


def failure_note(marker: str, title: str, ran: Ran) -> str:
    """The markdown for a run that did not get as far as a plan: what it said, and where to read more."""
    lines = [marker, f"### {title}", ""]
    errors = ran.errors()[-20:]
    if errors:
        lines += ["```", *[line.replace("```", "'''") for line in errors], "```", ""]
    if run_url():
        lines.append(f"The whole log: {run_url()}")
    return "\n".join(lines) + "\n"


def load_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- the commands

class Outcome:
    """What a command left for the outputs, the summary, the comment and the artifact."""

    def __init__(self, code: int, failed: bool, *, changes: bool = False, checksum: str = "",
                 plan_file: str = "", markdown: Path | None = None, files: list[Path] | None = None,
                 marker: str = ""):
        self.code, self.failed, self.changes, self.checksum = code, failed, changes, checksum
        self.plan_file, self.markdown, self.files, self.marker = plan_file, markdown, files or [], marker


def side_files(base: Path, *suffixes: str) -> list[Path]:
    """Files kept next to `base`, named after it: aliassync-plan.json -> aliassync-plan.md, ..."""
    stem = base.name[:-5] if base.name.endswith(".json") else base.name
    return [base.with_name(stem + suffix) for suffix in suffixes]


def run_validate(paths: list[str], extra: list[str]) -> Outcome:
    ran = aliassync(["validate", *paths, "--format", "github", *extra])
    append_summary("### aliassync validate\n\n" + ("Valid." if ran.code == 0 else
                   f"Invalid (exit {ran.code}): see the annotations and the log."))
    return Outcome(ran.code, ran.code != 0)


def run_plan(paths: list[str], extra: list[str], plan_file: str) -> Outcome:
    plan = Path(plan_file or "aliassync-plan.json")
    printed, text, markdown = side_files(plan, ".out.json", ".txt", ".md")
    ran = aliassync(["plan", *paths, "--out", str(plan), "--format", "json", *extra], printed)
    if ran.code not in (0, 2):
        markdown.write_text(failure_note(PLAN_MARKER, f"aliassync plan failed (exit {ran.code})", ran), encoding="utf-8")
        return Outcome(ran.code, True, markdown=markdown, files=[printed], marker=PLAN_MARKER)
    saved = (load_json(printed) or {}).get("saved_plan") or {}
    print(show(plan, "text", text), end="", flush=True)
    show(plan, "markdown", markdown)
    summary = (load_json(printed) or {}).get("summary", {})
    if ran.code == 2:
        command_line("notice", "aliassync plan: " + ", ".join(
            f"{summary.get(kind, 0)} to {kind}" for kind in ("create", "update", "delete")))
    return Outcome(ran.code, False, changes=ran.code == 2, checksum=saved.get("checksum", ""),
                   plan_file=str(plan), markdown=markdown, files=[plan, printed, text, markdown], marker=PLAN_MARKER)


def run_drift(paths: list[str], extra: list[str], fail_on_drift: bool) -> Outcome:
    printed, text, markdown = Path("aliassync-drift.json"), Path("aliassync-drift.txt"), Path("aliassync-drift.md")
    ran = aliassync(["drift", *paths, "--format", "json", *extra], printed)
    if ran.code not in (0, 2):
        markdown.write_text(failure_note(DRIFT_MARKER, f"aliassync drift failed (exit {ran.code})", ran), encoding="utf-8")
        return Outcome(ran.code, True, markdown=markdown, files=[printed], marker=DRIFT_MARKER)
    print(show(printed, "text", text), end="", flush=True)
    show(printed, "markdown", markdown)
    failed = ran.code == 2 and fail_on_drift
    if ran.code == 2:
        count = len((load_json(printed) or {}).get("drift", []))
        command_line("error" if failed else "warning",
                     f"aliassync drift: the dialer differs from the files ({count} difference(s))")
    return Outcome(ran.code, failed, changes=ran.code == 2, markdown=markdown,
                   files=[printed, text, markdown], marker=DRIFT_MARKER)


def apply_markdown(result: dict | None, plan_markdown: str, ran: Ran) -> str:
    """The outcome first (counts, then what did not end done), then the plan that was carried out."""
    lines = [PLAN_MARKER, "### aliassync apply", ""]
    if result is None:
        lines.append(f"**aliassync apply exited {ran.code} before writing its result.**")
    else:
        counts = result.get("summary", {})
        lines.append("**Apply: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in
                                            ("done", "failed", "skipped", "conflict", "unknown")) + ".**")
        if result.get("error"):
            lines += ["", f"Error: {result['error']}"]
        if result.get("interrupted"):
            lines += ["", f"Interrupted: {result['interrupted']}"]
        undone = [r for r in result.get("results", []) if r.get("status") != "done"]
        lines += [f"- {r.get('status')}: {r.get('action')} {r.get('resource')} "
                  f"`{r.get('alias_id') or r.get('login') or r.get('key')}`: {r.get('message')}" for r in undone[:30]]
        if len(undone) > 30:
            lines.append(f"- ... and {len(undone) - 30} more (see the result file in the artifact)")
    if result is None:
        errors = ran.errors()[-20:]
        if errors:
            lines += ["", "```", *[line.replace("```", "'''") for line in errors], "```"]
    head = "\n".join(lines) + "\n"
    plan_part = plan_markdown.split("\n", 1)[1] if plan_markdown.startswith(PLAN_MARKER) else plan_markdown
    if plan_part and len(head) + 1 + len(plan_part) > COMMENT_LIMIT:
        where = f": {run_url()}" if run_url() else " in the job's log"
        plan_part = f"The plan is too long to show here; read it{where}\n"
    return head + ("\n" + plan_part if plan_part else "")


def run_apply(paths: list[str], extra: list[str], plan_file: str, checksum: str) -> Outcome:
    printed, text, markdown = Path("aliassync-apply.json"), Path("aliassync-apply.txt"), Path("aliassync-apply.md")
    result_file = Path("aliassync-result.json")
    result_file.unlink(missing_ok=True)
    source = [plan_file] if plan_file else paths
    argv = ["apply", *source, "--yes", "--result", str(result_file), "--format", "json"]
    if checksum:
        argv += ["--checksum", checksum]
    ran = aliassync(argv + extra, printed)
    result = load_json(result_file)
    plan_markdown = ""
    if printed.exists() and printed.stat().st_size:
        print(show(printed, "text", text), end="", flush=True)
        plan_markdown = show(printed, "markdown", markdown)
    markdown.write_text(apply_markdown(result, plan_markdown, ran), encoding="utf-8")
    done = (result or {}).get("summary", {})
    wrote = bool(done.get("done") or done.get("unknown"))
    files = [f for f in (printed, text, markdown, result_file) if f.exists()]
    return Outcome(ran.code, ran.code != 0, changes=wrote, checksum=(result or {}).get("plan_checksum") or "",
                   plan_file=plan_file, markdown=markdown, files=files, marker=PLAN_MARKER)


# ---------------------------------------------------------------- the pull-request comment

def pull_request_number() -> int | None:
    """The PR the run is about: pull_request(_target) events, or a comment on a PR (issue_comment)."""
    event = load_json(Path(env("GITHUB_EVENT_PATH"))) if env("GITHUB_EVENT_PATH") else None
    if not isinstance(event, dict):
        return None
    if isinstance(event.get("pull_request"), dict):
        return event["pull_request"].get("number")
    issue = event.get("issue")
    if isinstance(issue, dict) and issue.get("pull_request"):
        return issue.get("number")
    return None


def gh(*argv: str) -> str:
    """`gh api ...`; its stdout. A failure raises CommentError with what gh said."""
    environment = dict(os.environ)
    host = urlparse(env("GITHUB_SERVER_URL", "https://github.com")).netloc
    if host and host != "github.com":
        environment.setdefault("GH_HOST", host)   # GitHub Enterprise Server
    try:
        done = subprocess.run(["gh", *argv], capture_output=True, text=True, env=environment)
    except FileNotFoundError:
        raise CommentError("gh (the GitHub CLI) is not on PATH") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise CommentError(f"gh {argv[0]} {argv[-1] if len(argv) > 1 else ''}: {said}")
    return done.stdout


class CommentError(Exception):
    pass


def json_values(text: str) -> list:
    """The JSON documents `gh api --paginate` printed one after the other (one array a page)."""
    decoder, values, index = json.JSONDecoder(), [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return values
        value, index = decoder.raw_decode(text, index)
        values.append(value)


def own_login() -> str | None:
    """Who the token writes as, when it can say: `gh api user` answers for a personal token; the
    workflow's token (and a GitHub App's) cannot ask, and writes as a bot."""
    try:
        return json.loads(gh("api", "user")).get("login") or None
    except (CommentError, ValueError, AttributeError):
        return None


def find_comment(repo: str, number: int, marker: str) -> int | None:
    """The comment this action keeps on the PR: the first whose body starts with the marker and that the
    token's user wrote (when the token cannot say who it is: that a bot wrote). Someone quoting a plan in
    a comment of their own is left alone."""
    pages = json_values(gh("api", "--paginate", f"repos/{repo}/issues/{number}/comments"))
    login = own_login()

    def ours(comment: dict) -> bool:
        user = comment.get("user") or {}
        if login:
            return user.get("login") == login
        return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")

    for page in pages:
        for comment in page:
            if str(comment.get("body", "")).startswith(marker) and ours(comment):
                return comment["id"]
    return None


def post_comment(marker: str, body_file: Path) -> str:
    """Create or edit the one comment; its URL."""
    repo, number = env("GITHUB_REPOSITORY"), pull_request_number()
    existing = find_comment(repo, number, marker)
    if existing is None:
        answer = gh("api", "--method", "POST", f"repos/{repo}/issues/{number}/comments", "-F", f"body=@{body_file}")
    else:
        answer = gh("api", "--method", "PATCH", f"repos/{repo}/issues/comments/{existing}", "-F", f"body=@{body_file}")
    try:
        return json.loads(answer).get("html_url", "")
    except ValueError:
        return ""


def comment(outcome: Outcome) -> None:
    if not outcome.marker or outcome.markdown is None or not outcome.markdown.exists():
        command_line("notice", "comment: only plan, apply and drift write a pull-request comment; skipped")
        return
    if pull_request_number() is None:
        command_line("notice", f"comment: this run ({env('GITHUB_EVENT_NAME') or 'no event'}) is not about "
                               "a pull request; no comment written")
        return
    try:
        url = post_comment(outcome.marker, outcome.markdown)
    except CommentError as error:
        command_line("warning", f"comment: could not write the pull-request comment ({error}); "
                                "a fork's pull request gets a read-only token")
        return
    if url:
        set_output("comment-url", url)


# ---------------------------------------------------------------- the run

def split(name: str) -> list[str]:
    try:
        return shlex.split(env(name))
    except ValueError as error:
        raise UsageError(f"{name.removeprefix('INPUT_').lower().replace('_', '-')}: {error}") from None


def run() -> int:
    command = env("INPUT_COMMAND").strip()
    if command not in COMMANDS:
        raise UsageError(f"command must be one of {', '.join(COMMANDS)}, not {command!r}")
    workdir = env("INPUT_WORKING_DIRECTORY").strip() or "."
    try:
        os.chdir(workdir)
    except OSError as error:
        raise UsageError(f"working-directory {workdir}: {error.strerror}") from None
    paths, extra = split("INPUT_PATHS") or ["."], split("INPUT_ARGS")
    want_comment, fail_on_drift = flag("INPUT_COMMENT", False), flag("INPUT_FAIL_ON_DRIFT", True)
    plan_file, checksum = env("INPUT_PLAN_FILE").strip(), env("INPUT_CHECKSUM").strip()

    if command == "validate":
        outcome = run_validate(paths, extra)
    elif command == "plan":
        outcome = run_plan(paths, extra, plan_file)
    elif command == "drift":
        outcome = run_drift(paths, extra, fail_on_drift)
    else:
        outcome = run_apply(paths, extra, plan_file, checksum)

    set_output("exit-code", str(outcome.code))
    set_output("changes", "true" if outcome.changes else "false")
    set_output("checksum", outcome.checksum)
    set_output("plan-file", str(Path(outcome.plan_file).resolve()) if outcome.plan_file else "")
    set_output("markdown", str(outcome.markdown.resolve()) if outcome.markdown else "")
    set_output("files", "\n".join(str(f.resolve()) for f in outcome.files if f.exists()))
    if outcome.markdown is not None and outcome.markdown.exists() and command != "validate":
        append_summary(outcome.markdown.read_text(encoding="utf-8"))
    if want_comment:
        comment(outcome)
    if outcome.failed and not (command == "drift" and outcome.code == 2):
        command_line("error", f"aliassync {command} failed (exit {outcome.code})")
    return 1 if outcome.failed else 0


def main(argv: list[str]) -> int:
    try:
        if argv[1:] == ["install"]:
            return install()
        if argv[1:]:
            raise UsageError(f"unknown arguments {argv[1:]}: run.py takes none, or 'install'")
        return run()
    except UsageError as error:
        if "exit-code" not in WRITTEN:
            set_output("exit-code", "1")
        command_line("error", f"aliassync action: {error}")
        return 1
    except Exception as error:   # a bug here: still one line, and the exit-code output if none was written
        if "exit-code" not in WRITTEN:
            set_output("exit-code", "1")
        command_line("error", f"aliassync action: internal error: {type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
