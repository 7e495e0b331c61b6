"""The command line: parses arguments, wires the pipeline, maps outcomes to exit codes.

Human output goes to stdout; logs and progress go to stderr. User errors
are one line each (one per problem for invalid files); a traceback is
shown only with --debug, and everything printed is redacted.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from . import __version__, drift, export, loader, planfile, redaction, render, results
from .applier import Applier, ApplyOptions, preflight
from .errors import AliassyncError, ConfigError, LoadError, RefusedError
from .planner import plan as make_plan
from .progress import Progress
from .targets import TargetOptions, resolve

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_PARTIAL = 0, 1, 2, 3
DEFAULT_CONCURRENCY = 4

log = logging.getLogger("aliassync")


def _out(text: str) -> None:
    sys.stdout.write(redaction.redact(text))
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.write(redaction.redact(line) + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- arguments

def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 64")
    return value


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target (default: the real VICIdial named by ALIASSYNC_* variables)")
    group.add_argument("--sandbox", metavar="PATH", help="use the embedded sandbox in PATH (a SQLite file)")
    group.add_argument("--api-url", help="URL of non_agent_api.php (env ALIASSYNC_API_URL)")
    group.add_argument("--api-user", help="API user (env ALIASSYNC_API_USER)")
    group.add_argument("--api-pass-file", metavar="FILE", help="file holding the API password "
                       "(env ALIASSYNC_API_PASS)")
    group.add_argument("--db-url-file", metavar="FILE", help="file holding the read-only database URL "
                       "mysql://user:pass@host:port/asterisk (env ALIASSYNC_DB_URL)")
    group.add_argument("--source", default="aliassync", help="the API 'source' field (default: aliassync)")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks (still redacted)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aliassync", description="VICIdial phone aliases as code.")
    parser.add_argument("--version", action="version", version=f"aliassync {__version__}")
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
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("apply", help="carry out the plan (from the files, or a plan saved with plan --out)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="desired-state files, or one saved PLAN")
    p.add_argument("--result", metavar="FILE", help="write the outcome of every action as JSON")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--allow-deletes", type=int, metavar="N", help="allow up to N deletes whatever the limits say")
    p.add_argument("--fail-fast", action="store_true", help="stop starting actions after the first failure")
    p.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY, metavar="N",
                   help=f"API calls in flight at once (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="how to show the plan before applying")
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("drift", help="read-only check: does the live system match the files?")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    _add_target_options(p)
    _add_common(p)

    p = commands.add_parser("export", help="write the live aliases as a desired-state file")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout (refuses to overwrite)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    _add_target_options(p)
    _add_common(p)

    sandbox = commands.add_parser("sandbox", help="create or serve an embedded sandbox")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")
    p = sandbox_commands.add_parser("init", help="create a sandbox with phones from a file")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--phones", metavar="FILE", required=True, help="YAML: phones: [{login: ..., ...}]")
    _add_common(p)
    p = sandbox_commands.add_parser("serve", help="serve the sandbox's non_agent_api.php on 127.0.0.1")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--faults", metavar="SPEC", default=os.environ.get("ALIASSYNC_SANDBOX_FAULTS", ""),
                   help="answer as a flaky server would, e.g. mode=500-after,rate=0.3,seed=7 "
                        "(env ALIASSYNC_SANDBOX_FAULTS; see docs/reliability.md)")
    _add_common(p)
    return parser


def _target_options(args: argparse.Namespace) -> TargetOptions:
    return TargetOptions(sandbox=args.sandbox, api_url=args.api_url, api_user=args.api_user,
                         api_pass_file=args.api_pass_file, db_url_file=args.db_url_file, source=args.source)


# ---------------------------------------------------------------- commands

def _load(paths: Sequence[str]):
    desired = loader.load(paths)
    log.info("load: %d aliases from %d file(s)", len(desired.aliases), len(desired.sources))
    return desired


def _plan(desired, target):
    current = target.reader.read()
    result = make_plan(desired, current)
    log.info("plan: %d to create, %d to update, %d to delete",
             result.count("create"), result.count("update"), result.count("delete"))
    return current, result


def _document(result, target, version, show_unmanaged: bool = False) -> dict:
    return render.plan_document(result, target=target.description, vicidial_version=version,
                                show_unmanaged=show_unmanaged)


def _github_annotation(problem) -> str:
    """A GitHub Actions `::error` workflow command, escaped as the runner expects."""
    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(text: str) -> str:
        return data(text).replace(":", "%3A").replace(",", "%2C")

    loc = problem.location
    return f"::error file={prop(loc.file)},line={loc.line},col={loc.column}::{data(problem.message)}\n"


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        desired = _load(args.paths)
    except LoadError as error:
        for problem in error.problems:
            if args.format == "github" and problem.location:
                _out(_github_annotation(problem))
            else:
                _err(str(problem))
        return EXIT_ERROR
    if args.check_target:
        target = resolve(_target_options(args), needs_api=False, writes=False)
        try:
            current = target.reader.read()
        finally:
            target.close()
        result = make_plan(desired, current)
        for warning in result.warnings:
            _err(f"warning: {warning}")
        missing = [w for w in result.warnings if w.code == "missing-phone"]
        if missing:
            return EXIT_ERROR
    _out(f"{len(desired.aliases)} aliases in {len(desired.sources)} file(s): valid\n")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    desired = _load(args.paths)
    target = resolve(_target_options(args), writes=False)
    try:
        current, result = _plan(desired, target)
        version = target.version()
    finally:
        target.close()
    document = _document(result, target, version, args.show_unmanaged)
    saved = None
    if args.out:
        settings = desired.settings
        checksum = planfile.save(args.out, result, current, document, target=target.description,
                                 sources=desired.sources, max_deletes=settings.max_deletes,
                                 max_delete_percent=settings.max_delete_percent)
        saved = {"path": args.out, "checksum": checksum}
        log.info("plan: saved to %s (%s)", args.out, checksum)
    if args.format == "json":
        _out(render.render_json({**document, "saved_plan": saved} if saved else document))
    else:
        _out(render.render(document, args.format))
        if saved:
            _out(f"Saved plan: {saved['path']} ({saved['checksum']}); apply it with: aliassync apply {saved['path']}\n")
    return EXIT_CHANGES if result.has_changes else EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    desired = _load(args.paths)
    target = resolve(_target_options(args), needs_api=False, writes=False)
    try:
        _, result = _plan(desired, target)
    finally:
        target.close()
    document = {**_document(result, target, None), "drift": drift.drift_entries(result)}
    renderers = {"text": drift.render_text, "markdown": drift.render_markdown, "json": render.render_json}
    _out(renderers[args.format](document))
    return EXIT_CHANGES if document["drift"] else EXIT_OK


def _confirm(count: int, target: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError("apply needs --yes when not run from a terminal; nothing written")
    sys.stderr.write(f"Apply {count} change(s) to {target}? Only 'yes' is accepted: ")
    sys.stderr.flush()
    if sys.stdin.readline().strip() != "yes":
        raise RefusedError("apply cancelled; nothing written")


def _report_text(report) -> str:
    lines = [f"  {r.status}: {r.action.kind} {r.action.alias_id}: {r.message}"
             for r in report.results if r.status != "done"]
    counts = report.counts
    lines.append(f"Apply: {counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped, "
                 f"{counts['conflict']} conflict.")
    return "\n".join(lines) + "\n"


def _planned(args: argparse.Namespace, target, source):
    """(current, plan, document, delete limits, checksum) from a saved plan or from the files."""
    if isinstance(source, planfile.SavedPlan):
        path = args.paths[0]
        current = target.reader.read()
        planfile.check_current(source, current, target.description, path)
        log.info("apply: saved plan %s (%s) still matches the live state", path, source.checksum)
        return current, source.plan, source.document, (source.max_deletes, source.max_delete_percent), source.checksum
    current, result = _plan(source, target)
    document = _document(result, target, target.version())
    settings = source.settings
    return current, result, document, (settings.max_deletes, settings.max_delete_percent), None


def _apply(args: argparse.Namespace, target, source, outcome: dict) -> int:
    current, result, document, limits, checksum = _planned(args, target, source)
    outcome["plan_checksum"] = checksum
    _out(render.render(document, args.format))
    if not result.has_changes:
        return EXIT_OK
    options = ApplyOptions(allow_deletes=args.allow_deletes, fail_fast=args.fail_fast, workers=args.concurrency)
    preflight(result, current, *limits, options)
    _confirm(len(result.actions), target.description, args.yes)
    writer = target.make_writer()
    progress = Progress(len(result.actions), sys.stderr, bar=sys.stderr.isatty() and not args.quiet)
    try:
        report = Applier(target.reader, writer, options, on_result=progress).apply(result)
    finally:
        writer.close()
    outcome["report"] = report
    _out(_report_text(report))
    return EXIT_OK if report.complete else EXIT_PARTIAL


def cmd_apply(args: argparse.Namespace) -> int:
    outcome: dict = {}
    code, error, target = EXIT_ERROR, None, None
    try:
        # the files (or the saved plan) are checked before the target is even looked at
        saved = planfile.looks_like_plan_file(args.paths)
        source = planfile.load(args.paths[0]) if saved else _load(args.paths)
        target = resolve(_target_options(args))
        code = _apply(args, target, source, outcome)
        return code
    except AliassyncError as exc:
        error = exc
        raise
    finally:
        if target is not None:
            target.close()
        if args.result:
            results.write(args.result, target.description if target else None, outcome.get("report"), code,
                          error=error and str(error), plan_checksum=outcome.get("plan_checksum"))


def cmd_export(args: argparse.Namespace) -> int:
    target = resolve(_target_options(args), needs_api=False, writes=False)
    try:
        current = target.reader.read()
    finally:
        target.close()
    text = export.export_text(current, target.description)
    if not args.out:
        _out(text)
        return EXIT_OK
    mode = "w" if args.force else "x"
    try:
        with open(args.out, mode, encoding="utf-8") as handle:
            handle.write(redaction.redact(text))
    except FileExistsError:
        raise ConfigError(f"{args.out} exists; pass --force to overwrite it") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror}") from None
    log.info("export: %d aliases written to %s", len(current.aliases), args.out)
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from . import phones_file
    from .sandbox import server, store
    from .sandbox.faults import FaultSpec

    if args.sandbox_command == "init":
        seed = phones_file.load(args.phones)
        store.init_sandbox(args.path, seed.phones, aliases=seed.aliases)
        _out(f"sandbox {args.path}: {len(seed.phones)} phones, {len(seed.aliases)} aliases\n")
        return EXIT_OK
    if not os.path.isfile(args.path):
        raise ConfigError(f"sandbox {args.path} does not exist; create it with "
                          f"'aliassync sandbox init {args.path} --phones FILE'")
    faults = FaultSpec.parse(args.faults)

    def listening(url: str) -> None:   # only once the port is ours: a busy port fails before
        _err(f"serving sandbox {args.path} on {url}{server.API_PATH} (Ctrl-C stops)")

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
    "sandbox": cmd_sandbox,
}


def _setup_logging(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(redaction.RedactingFormatter("aliassync: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    root.setLevel(level)
    if not args.debug:
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


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
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_ERROR
    except Exception as error:  # a bug: say so, in one line unless --debug
        if args.debug:
            log.exception("internal error")
        _err(f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback)")
        return EXIT_ERROR
