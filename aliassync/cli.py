"""The command line: parses arguments, hands the run to the Manager, prints, maps outcomes to exit codes.

Human output goes to stdout; logs and progress go to stderr. User errors
are one line each (one per problem for invalid files); a traceback is
shown only with --debug. No secret reaches what is printed (plans, exports
and results hold data and public URLs only), so data is printed as it is;
text that may carry a secret is masked where it is made (see redaction.py).
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

from . import __version__, redaction
from .core.model import shown
from .errors import AliassyncError, ConfigError, LoadError, RefusedError
from .output import drift, render, results, show
from .output.progress import Progress
from .workflow.applier import DEFAULT_SETTLE, ApplyOptions, Interruption
from .workflow.manager import Manager, check_writable
from .workflow.targets import TargetOptions, check_sandbox_path

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_PARTIAL = 0, 1, 2, 3
DEFAULT_CONCURRENCY = 4

log = logging.getLogger("aliassync")


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- arguments

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1: 2 means "changes" or "drift" to a pipeline."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _whole(text: str, least: int, most: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < least or (most is not None and value > most):
        span = f" from {least} to {most}" if most is not None else f", {least} or more"
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{span}")
    return value


def _positive(text: str) -> int:
    return _whole(text, 1, 64)


def _count(text: str) -> int:
    return _whole(text, 0)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 600")
    return value


def _checksum(text: str) -> str:
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a checksum as plan --out prints it (sha256: and 64 hex digits)")
    return text


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target (default: the real VICIdial named by ALIASSYNC_* variables)")
    group.add_argument("--sandbox", metavar="PATH", help="use the embedded sandbox in PATH (a SQLite file)")
    group.add_argument("--api-url", help="URL of non_agent_api.php (env ALIASSYNC_API_URL)")
    group.add_argument("--api-user", help="API user (env ALIASSYNC_API_USER)")
    group.add_argument("--api-pass-file", metavar="FILE", help="file holding the API password "
                       "(env ALIASSYNC_API_PASS)")
    group.add_argument("--db-url-file", metavar="FILE", help="file holding the read-only database URL "
                       "mysql://user:pass@host:port/asterisk (env ALIASSYNC_DB_URL)")
    group.add_argument("--admin-url", help="instead of the database, for a hosted dialer: URL of VICIdial's "
                       "admin.php, whose screens are read with the API user's login (env ALIASSYNC_ADMIN_URL)")
    group.add_argument("--source", default="aliassync", help="the API 'source' field (default: aliassync)")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks (still redacted)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")


def version_text() -> str:
    """`aliassync --version`: what a bug report needs, the versions of aliassync, Python and the libraries
    it runs on, and whether PyYAML's C loader (the fast one) is in use."""
    from importlib.metadata import PackageNotFoundError, version

    import yaml

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    loader = "C loader" if getattr(yaml, "__with_libyaml__", False) else "pure-Python loader (slower)"
    return (f"aliassync {__version__}\nPython {sys.version.split()[0]}\nPyYAML {yaml.__version__} ({loader})\n"
            f"httpx {installed('httpx')}\nPyMySQL {installed('PyMySQL')}\njsonschema {installed('jsonschema')}")


class _Version(argparse.Action):
    """--version, printed line by line (argparse's own would fold the lines into one)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def _add_details_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("--details-url", metavar="URL",
                   help="where the whole output can be read (a CI run's page); markdown names it "
                        "when it has to be cut to fit a pull-request comment")


COMPLETION_SHELLS = ("bash", "zsh", "fish")
NAMES_A_FILE = ("PATH", "FILE", "PLAN")    # arguments with these metavars complete file names


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every subcommand's, however deep."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aliassync", description="VICIdial phone aliases as code.")
    parser.add_argument("--version", action=_Version, help="show the versions of aliassync, Python and its "
                        "libraries (what a bug report needs) and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("validate", help="check desired-state files offline")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "github"), default="text",
                   help="github: one ::error annotation per problem")
    p.add_argument("--check-target", action="store_true",
                   help="also read the live state (read-only) and report warnings and missing phones")
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("plan", help="show what apply would do")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--show-unmanaged", action="store_true",
                   help="list live aliases left alone by name, not just their count")
    p.add_argument("--out", metavar="PLAN", help="also save the plan, for 'aliassync apply PLAN'")
    _add_details_url(p)
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("apply", help="carry out the plan (from the files, or a plan saved with plan --out)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="desired-state files, or one saved PLAN")
    p.add_argument("--result", metavar="FILE", help="write the outcome of every action as JSON")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--checksum", type=_checksum, metavar="sha256:HEX",
                   help="apply the saved PLAN only if its checksum is this one (as plan --out printed it)")
    p.add_argument("--allow-deletes", type=_count, metavar="N", help="allow up to N deletes whatever the limits say")
    p.add_argument("--allow-in-use-deletes", action="store_true",
                   help="delete aliases even when agents log in with them (vicidial_users.phone_login), "
                        "or when that cannot be checked")
    p.add_argument("--fail-fast", action="store_true", help="stop starting actions after the first failure")
    p.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY, metavar="N",
                   help=f"API calls in flight at once (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--settle", type=_seconds, default=DEFAULT_SETTLE, metavar="SECONDS",
                   help="how long a write whose answer was lost is given to show in the database before it "
                        f"may be sent again, counted from the send (default {DEFAULT_SETTLE:g})")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="how to show the plan before applying")
    _add_details_url(p)
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("drift", help="read-only check: does the live system match the files?")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    _add_details_url(p)
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("show", help="show a saved plan, or a plan or drift printed as JSON, again "
                                         "(offline: the dialer is not read)")
    p.add_argument("path", metavar="FILE", help="a plan saved with plan --out, or what --format json printed")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    _add_details_url(p)
    _add_common(p)

    p = commands.add_parser("export", help="write the live aliases as a desired-state file")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (refuses to overwrite)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--phones", action="store_true",
                   help="also write the live phones (passwords as {env: ...} references, never values)")
    _add_target_options(p)
    _add_common(p)

    sandbox = commands.add_parser("sandbox", help="create or serve an embedded sandbox")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")
    p = sandbox_commands.add_parser("init", help="create a sandbox with phones from a file")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--phones", metavar="FILE", required=True, help="YAML: phones: [{login: ..., ...}]")
    _add_common(p)
    p = sandbox_commands.add_parser("serve", help="serve the sandbox's non_agent_api.php and admin.php on 127.0.0.1")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--faults", metavar="SPEC", default=os.environ.get("ALIASSYNC_SANDBOX_FAULTS", ""),
                   help="answer as a flaky server would, e.g. mode=500-after,rate=0.3,seed=7 "
                        "(env ALIASSYNC_SANDBOX_FAULTS; see docs/reliability.md)")
    _add_common(p)

    p = commands.add_parser("completion", help="print the shell completion script for bash, zsh or fish")
    p.add_argument("shell", choices=COMPLETION_SHELLS, metavar="SHELL", help="bash, zsh or fish")
    _add_common(p)
    return parser


def _target_options(args: argparse.Namespace) -> TargetOptions:
    return TargetOptions(sandbox=args.sandbox, api_url=args.api_url, api_user=args.api_user,
                         api_pass_file=args.api_pass_file, db_url_file=args.db_url_file,
                         admin_url=args.admin_url, source=args.source)


def _manager(args: argparse.Namespace) -> Manager:
    return Manager(_target_options(args))


# ---------------------------------------------------------------- commands

def _github_annotation(problem) -> str:
    """A GitHub Actions `::error` workflow command, escaped as the runner expects."""
    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    loc = problem.location
    return f"::error file={prop(loc.file)},line={loc.line},col={loc.column}::{data(problem.message)}\n"


def cmd_validate(args: argparse.Namespace) -> int:
    manager = _manager(args)
    try:
        desired = manager.load(args.paths)
    except LoadError as error:
        for problem in error.problems:
            if args.format == "github" and problem.location:
                _out(_github_annotation(problem))
            else:
                _err(str(problem))
        return EXIT_ERROR
    if args.check_target:
        _, result, refusal = manager.validate(args.paths, check_target=True)
        for warning in result.warnings:
            _err(f"warning: {warning}")
        if refusal:   # warnings alone never fail validation; what apply would refuse does, and says why
            raise RefusedError(refusal)
    phones = f" and {len(desired.phones)} phones" if desired.phones else ""
    _out(f"{len(desired.aliases)} aliases{phones} in {len(desired.sources)} file(s): valid\n")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    run = _manager(args).plan(args.paths, show_unmanaged=args.show_unmanaged, out=args.out)
    document, saved = run.document, run.saved
    if args.format == "json":
        _out(render.render_json({**document, "saved_plan": saved} if saved else document))
    else:
        _out(render.render(document, args.format, args.details_url))
        if saved:
            _out(f"Saved plan: {saved['path']} ({saved['checksum']}); apply it with: "
                 f"aliassync apply {saved['path']} --checksum {saved['checksum']}\n")
    return EXIT_CHANGES if run.plan.has_changes else EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    document = _manager(args).drift(args.paths)
    if args.format == "json":
        _out(render.render_json(document))
    else:
        _out(drift.RENDERERS[args.format](document, details_url=args.details_url))
    return EXIT_CHANGES if document["drift"] else EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    kept = show.read(args.path)
    _out(show.show(kept, args.format, args.details_url))
    if kept.checksum and args.format != "json":
        _out(f"Saved plan: {args.path} ({kept.checksum})\n")
    return EXIT_OK


def _confirm(count: int, target: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError("apply needs --yes when not run from a terminal; nothing written")
    sys.stderr.write(f"Apply {count} change(s) to {target}? Only 'yes' is accepted: ")
    sys.stderr.flush()
    if sys.stdin.readline().strip() != "yes":
        raise RefusedError("apply cancelled; nothing written")


GROUPED = 3    # more results than this with one status and message are shown as one line


def _report_text(report, interrupted: str = "") -> str:
    """What did not end done, grouped when many share one message, then the counts."""
    groups: dict[tuple[str, str], list] = {}
    for r in report.results:
        if r.status != "done":
            groups.setdefault((r.status, r.message), []).append(r.action)
    lines = []
    for (status, message), actions in groups.items():
        if len(actions) <= GROUPED:
            lines.extend(f"  {status}: {a.kind} {shown(a.name)}: {message}" for a in actions)
        else:
            first = ", ".join(f"{a.kind} {shown(a.name)}" for a in actions[:GROUPED])
            lines.append(f"  {status}: {len(actions)} actions ({first} and {len(actions) - GROUPED} more): {message}")
    counts = report.counts
    head = f"Apply interrupted ({interrupted}): " if interrupted else "Apply: "
    text = (f"{head}{counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped, "
            f"{counts['conflict']} conflict")
    if counts["unknown"]:
        text += f", {counts['unknown']} unknown (written or not: run plan to see)"
    lines.append(text + ".")
    if report.unverified:
        lines.append(f"Not verified: the read-back after the writes failed ({report.unverified}); run plan to check.")
    return "\n".join(lines) + "\n"


@contextmanager
def _signals(handler) -> Iterator[None]:
    """SIGINT and SIGTERM go to `handler(name)` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, lambda signum, frame: handler(signal.Signals(signum).name))
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _interrupted_before_writes(name: str) -> None:
    raise KeyboardInterrupt(name)


def _apply(args: argparse.Namespace, manager: Manager, target, source, outcome: dict) -> int:
    options = ApplyOptions(allow_deletes=args.allow_deletes, allow_in_use=args.allow_in_use_deletes,
                           fail_fast=args.fail_fast, workers=args.concurrency, settle=args.settle)
    planned = manager.planned(target, source, options)
    outcome["plan_checksum"] = planned.checksum
    outcome["document"] = planned.document
    if args.format != "json":
        _out(render.render(planned.document, args.format, args.details_url))
    if not planned.plan.has_changes:
        return EXIT_OK
    progress = Progress(len(planned.plan.actions), sys.stderr, bar=sys.stderr.isatty() and not args.quiet)
    interruption = Interruption()

    def interrupt(name: str) -> None:
        first = not interruption.stop.is_set()
        interruption.signal(name)
        if first:
            progress.note(f"aliassync: {name}: starting nothing new; finishing the calls in flight "
                          "(interrupt again to stop waiting for lost answers)")
        else:
            progress.note(f"aliassync: {name} again: no longer waiting for lost answers")

    def confirm(count: int, description: str) -> None:
        _confirm(count, description, args.yes)
        # from here on, until apply returns, a signal never means "nothing written"
        outcome["on_signal"] = interrupt

    report = manager.carry_out(target, planned, options, confirm=confirm, on_result=progress,
                               interruption=interruption)
    outcome["report"] = report
    stopped = interruption.reason or any(r.stop for r in report.results)
    outcome["interrupted"] = interruption.reason or None
    if args.format != "json":
        _out(_report_text(report, interruption.reason))
    if stopped:
        return EXIT_PARTIAL if report.wrote else EXIT_ERROR
    return EXIT_OK if report.complete else EXIT_PARTIAL


def cmd_apply(args: argparse.Namespace) -> int:
    if args.result:
        check_writable(args.result, "--result")
    manager = _manager(args)
    outcome: dict = {}
    code, error, target = EXIT_ERROR, None, None
    try:
        with _signals(lambda name: outcome.get("on_signal", _interrupted_before_writes)(name)):
            # the files (or the saved plan) are checked before the target is even looked at
            source = manager.apply_source(args.paths, args.checksum)
            target = manager.target()
            code = _apply(args, manager, target, source, outcome)
        return code
    except AliassyncError as exc:
        error, code = exc, exc.exit_code
        raise
    except KeyboardInterrupt as exc:
        error = f"interrupted ({exc.args[0] if exc.args else 'SIGINT'}) before any write; nothing written"
        raise
    finally:
        if target is not None:
            target.close()
        report = outcome.get("report")
        if args.format == "json" and "document" in outcome:
            _out(render.render_json({**outcome["document"], "apply": results.document(
                target.description if target else None, report, code, error=error and str(error),
                plan_checksum=outcome.get("plan_checksum"), interrupted=outcome.get("interrupted"))}))
        if args.result:
            try:
                results.write(args.result, target.description if target else None, report, code,
                              error=error and str(error), plan_checksum=outcome.get("plan_checksum"),
                              interrupted=outcome.get("interrupted"))
            except OSError as exc:
                _err(f"error: cannot write --result {args.result}: {exc.strerror}")


def cmd_export(args: argparse.Namespace) -> int:
    text, warnings, count = _manager(args).export(phones=args.phones)
    for line in warnings:
        _err(f"warning: {line}")
    if not args.out:
        _out(text)
        return EXIT_OK
    mode = "w" if args.force else "x"
    try:
        with open(args.out, mode, encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigError(f"{args.out} exists; pass --force to overwrite it") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror}") from None
    log.info("export: %d aliases written to %s", count, args.out)
    return EXIT_OK


def cmd_completion(args: argparse.Namespace) -> int:
    """The completion script, generated by shtab from this very parser, so it cannot miss an option."""
    import shtab    # only here: no other command pays for it

    parser = build_parser()
    for each in _parsers(parser):
        for action in each._actions:
            if action.metavar in NAMES_A_FILE:
                action.complete = shtab.FILE
    _out(shtab.complete(parser, shell=args.shell).rstrip("\n") + "\n")
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import seed_file
    from .sandbox import server, store
    from .sandbox.faults import FaultSpec

    if args.sandbox_command == "init":
        seed = seed_file.load(args.phones)
        store.init_sandbox(args.path, seed.phones, aliases=seed.aliases, users=seed.users, servers=seed.servers,
                           templates=seed.templates)
        _out(f"sandbox {args.path}: {len(seed.phones)} phones, {len(seed.aliases)} aliases\n")
        return EXIT_OK
    check_sandbox_path(args.path)
    faults = FaultSpec.parse(args.faults)

    def listening(url: str) -> None:   # only once the port is ours: a busy port fails before
        _err(f"serving sandbox {args.path} on {url}{server.API_PATH} and {url}{server.ADMIN_PATH} (Ctrl-C stops)")

    try:
        server.serve(args.path, args.port, faults=faults, on_listening=listening)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "drift": cmd_drift,
    "export": cmd_export,
    "show": cmd_show,
    "completion": cmd_completion,
    "sandbox": cmd_sandbox,
}


def _setup_logging(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(redaction.RedactingFormatter("aliassync: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):   # their records go through the formatter's masking
        logging.getLogger(noisy).setLevel(logging.NOTSET if args.debug else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    try:
        return COMMANDS[args.command](args)
    except LoadError as error:
        for line in error.lines():
            _err(line)
        return EXIT_ERROR
    except AliassyncError as error:
        if args.debug:
            log.debug("traceback", exc_info=True)
        _err(f"error: {error}")
        return error.exit_code
    except KeyboardInterrupt as interrupt:
        name = interrupt.args[0] if interrupt.args else "SIGINT"
        _err(f"interrupted ({name}); nothing written" if args.command == "apply" else f"interrupted ({name})")
        return EXIT_ERROR
    except Exception as error:  # a bug: say so, in one line unless --debug
        if args.debug:
            log.exception("internal error")
        # a bug's exception may come from a driver and quote anything: masked, as its traceback is
        _err(redaction.redact(f"internal error: {type(error).__name__}: {error} "
                              "(run with --debug for the traceback)"))
        return EXIT_ERROR
