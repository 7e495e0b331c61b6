"""One run of aliassync, usable from Python without the command line (octoDNS's Manager).

The command line parses arguments, prints and maps outcomes to exit
codes; everything between (loading, reading the live state, planning,
saving a plan, checking a saved one, preflight, applying) happens here:

    manager = Manager(TargetOptions(sandbox="demo.sqlite"))
    run = manager.plan(["aliases.yaml"])
    report = manager.apply(["aliases.yaml"], ApplyOptions(workers=4)).report

`apply` is also offered in steps (`apply_source`, `planned`, `carry_out`)
for a caller that shows the plan and asks before the first write, as the
command line does.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any, Callable, Mapping, Sequence

from .. import redaction
from ..core import refusals
from ..core.graph import ActionResult
from ..core.model import Current, Desired, fold
from ..core.plan import Plan
from ..core.planner import plan as make_plan
from ..core.target import Target
from ..errors import ConfigError, RefusedError
from ..files import loader, secrets
from ..output import drift, export, planfile, render
from .applier import Applier, ApplyOptions, ApplyReport, Interruption, check_phones, preflight
from .targets import TargetOptions, resolve

log = logging.getLogger("aliassync")

Source = Desired | planfile.SavedPlan


def check_writable(path: str, option: str) -> None:
    """Refuse, before anything is read or written, a path the run could not write its file to."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConfigError(f"{option} {path} is a directory; give a file path")
    if not os.path.isdir(directory):
        raise ConfigError(f"{option} {path}: the directory {directory} does not exist")
    try:
        with tempfile.NamedTemporaryFile(prefix=".aliassync-check-", dir=directory):
            pass
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write in {directory}: {exc.strerror}") from None


def warn_if_secrets_in_data(source: Source | None, current: Current) -> None:
    """One warning, naming no value, when a secret equals a value of the data (never masked, so shown)."""
    if isinstance(source, planfile.SavedPlan):
        declared = [a.after or a.before for a in source.plan.actions]
    else:
        declared = [*source.aliases, *source.phones] if source else []
    live_phones = [p for rows in (current.phone_rows or {}).values() for p in rows]

    def values():   # read only when a secret is registered
        for item in chain(declared, current.aliases.values(), live_phones):
            if hasattr(item, "alias_id"):    # an alias: declared, live, or what an action sends
                yield item.alias_id
                yield item.alias_name or ""
                yield from item.phone_logins
            else:                            # a phone: declared, live, or what an action sends
                yield item.login
                yield item.extension or ""
                yield item.server_ip or ""
                yield from item.fields.values()
        for phones in current.phones.values():
            for phone in phones:
                yield phone.login
        for users in (current.agent_logins or {}).values():   # named in the in-use warnings
            yield from users

    labels = redaction.labels_in(values())
    if len(labels) == 1:
        log.warning("warning: the %s equals a value in the data (an alias id or name, a phone login or field); data is "
                    "never masked, so output may show it; choose another password", labels[0])
    elif labels:
        log.warning("warning: the %s equal values in the data (alias ids or names, phone logins or fields); data is "
                    "never masked, so output may show them; choose other passwords", " and the ".join(labels))


@dataclass(frozen=True)
class PlanRun:
    desired: Desired
    current: Current
    plan: Plan
    document: dict[str, Any]
    saved: dict[str, str] | None = None     # {"path", "checksum"} when saved with `out`


@dataclass(frozen=True)
class Planned:
    """What apply is about to carry out, from the files or a saved plan, on a fresh read."""

    source: Source
    current: Current
    plan: Plan
    document: dict[str, Any]                # what the run shows: refusals as this run will meet them
    limits: tuple[int | None, float | None]
    checksum: str | None                    # the saved plan's


@dataclass(frozen=True)
class ApplyRun:
    planned: Planned
    report: ApplyReport | None              # None: nothing to do


class Manager:
    """Orchestrates runs against the target named by `options` (and the environment)."""

    def __init__(self, options: TargetOptions, env: Mapping[str, str] | None = None):
        self.options = options
        self.env = env

    def target(self, *, needs_api: bool = True, writes: bool = True) -> Target:
        return resolve(self.options, self.env, needs_api=needs_api, writes=writes)

    # ------------------------------------------------------------ reading and planning

    @staticmethod
    def load(paths: Sequence[str]) -> Desired:
        desired = loader.load(paths)
        if desired.phones:
            log.info("load: %d aliases and %d phones from %d file(s)", len(desired.aliases), len(desired.phones),
                     len(desired.sources))
        else:
            log.info("load: %d aliases from %d file(s)", len(desired.aliases), len(desired.sources))
        return desired

    @staticmethod
    def _read(desired: Desired | None, target: Target, phones: bool = False, templates: bool = False) -> Current:
        """The live state; every phone in full too when the files manage phones (or `phones`), with
        each declared password compared inside the database (never read out); the conf templates
        when a declared phone names one (or `templates`)."""
        current = target.reader.read()
        templates = templates or any(p.present and p.fields.get("template_id")
                                     for p in (desired.phones if desired is not None else ()))
        managed = desired is not None and (bool(desired.phones) or desired.settings.phones.prune)
        if not (managed or phones):
            return current
        declared = {}
        values: dict[tuple, str] = {}   # each reference read once, however many phones share it
        for phone in (desired.phones if desired is not None else ()):
            if phone.present and phone.secrets:
                declared[fold(phone.login)] = {
                    name: values[(ref, name)] if (ref, name) in values
                    else values.setdefault((ref, name), secrets.resolve(ref, field=name))
                    for name, ref in phone.secrets.items()}
        rows, servers = target.reader.read_phones(declared)   # the reader logs what it read
        templates = target.reader.read_templates() if templates else None
        return replace(current, phone_rows=rows, servers=servers, templates=templates)

    @classmethod
    def _plan(cls, desired: Desired, target: Target) -> tuple[Current, Plan]:
        current = cls._read(desired, target)
        result = make_plan(desired, current)
        log.info("plan: %d to create, %d to update, %d to delete",
                 result.count("create"), result.count("update"), result.count("delete"))
        warn_if_secrets_in_data(desired, current)
        return current, result

    @staticmethod
    def document(result: Plan, target: Target, version: str | None, show_unmanaged: bool = False) -> dict:
        return render.plan_document(result, target=target.description, vicidial_version=version,
                                    show_unmanaged=show_unmanaged)

    def validate(self, paths: Sequence[str], check_target: bool = False
                 ) -> tuple[Desired, Plan | None, str | None]:
        """The files checked offline (LoadError lists every problem); with `check_target` also
        planned against the live state, read-only: (desired, plan, why apply would refuse it or None).

        Warnings never make it fail; a write naming a login that is not a phone does.
        """
        desired = self.load(paths)
        if not check_target:
            return desired, None, None
        target = self.target(needs_api=False, writes=False)
        try:
            current, result = self._plan(desired, target)
        finally:
            target.close()
        try:
            check_phones(result, current)
        except RefusedError as refused:
            return desired, result, str(refused)
        return desired, result, None

    def plan(self, paths: Sequence[str], *, show_unmanaged: bool = False, out: str | None = None) -> PlanRun:
        if out:
            check_writable(out, "--out")
        desired = self.load(paths)
        target = self.target(writes=False)
        try:
            current, result = self._plan(desired, target)
            version = target.version()
        finally:
            target.close()
        document = self.document(result, target, version, show_unmanaged)
        saved = None
        if out:
            settings = desired.settings
            try:
                checksum = planfile.save(out, result, current, document, target=target.description,
                                         sources=desired.sources, max_deletes=settings.max_deletes,
                                         max_delete_percent=settings.max_delete_percent)
            except OSError as exc:
                raise ConfigError(f"cannot write the plan to {out}: {exc.strerror}") from None
            saved = {"path": out, "checksum": checksum}
            log.info("plan: saved to %s (%s)", out, checksum)
        return PlanRun(desired, current, result, document, saved)

    def drift(self, paths: Sequence[str]) -> dict[str, Any]:
        """The plan document with a `drift` list; read-only (no writer can be made)."""
        desired = self.load(paths)
        target = self.target(needs_api=False, writes=False)
        try:
            _, result = self._plan(desired, target)
        finally:
            target.close()
        return {**self.document(result, target, None), "drift": drift.drift_entries(result)}

    def export(self, phones: bool = False) -> tuple[str, list[str], int]:
        """(the desired-state text of the live aliases, warnings, how many aliases were read).

        `phones`: the live phones too, their passwords as references (the reader says only which
        phones share one; no password leaves the database)."""
        target = self.target(needs_api=False, writes=False)
        live_phones = None
        try:
            current = target.reader.read()
            if phones:
                rows, servers = target.reader.read_phones({})
                live_phones = export.LivePhones(rows, servers, target.reader.read_password_groups())
        finally:
            target.close()
        warn_if_secrets_in_data(None, current)
        return (export.export_text(current, target.description, live_phones), export.warnings(current),
                len(current.aliases))

    # ------------------------------------------------------------ applying

    def apply_source(self, paths: Sequence[str], checksum: str | None = None) -> Source:
        """The desired files, or the one saved plan they name (checked against `checksum` if given)."""
        saved = planfile.saved_plan_path(paths)
        if checksum and not saved:
            raise ConfigError("--checksum is for a saved plan (aliassync apply PLAN --checksum sha256:HEX), "
                              "not for desired-state files")
        return planfile.load(saved, expected_checksum=checksum) if saved else self.load(paths)

    def planned(self, target: Target, source: Source, options: ApplyOptions) -> Planned:
        """A fresh read and the plan to carry out: a saved plan is refused if the live state moved."""
        if isinstance(source, planfile.SavedPlan):
            actions = source.plan.actions
            current = self._read(None, target, phones=any(a.resource == "phone" for a in actions),
                                 templates=any(a.resource == "phone" and a.after is not None
                                               and a.after.fields.get("template_id") for a in actions))
            planfile.check_current(source, current, target.description, source.path)
            log.info("apply: saved plan %s (%s) still matches the live state", source.path, source.checksum)
            warn_if_secrets_in_data(source, current)
            result, document, checksum = source.plan, source.document, source.checksum
            limits = (source.max_deletes, source.max_delete_percent)
        else:
            current, result = self._plan(source, target)
            document, checksum = self.document(result, target, target.version()), None
            limits = (source.settings.max_deletes, source.settings.max_delete_percent)
        # what the plan says apply will refuse, as this run (its overrides, the live state now) will
        document = {**document, "refusals": list(refusals.reasons(
            result, current, *limits, allow_deletes=options.allow_deletes, allow_in_use=options.allow_in_use))}
        return Planned(source, current, result, document, limits, checksum)

    @staticmethod
    def carry_out(target: Target, planned: Planned, options: ApplyOptions, *,
                  confirm: Callable[[int, str], None] = lambda count, target: None,
                  on_result: Callable[[ActionResult], None] | None = None,
                  interruption: Interruption | None = None) -> ApplyReport:
        """Preflight, confirmation, then the writes; refusals raise before any write."""
        result = planned.plan
        preflight(result, planned.current, *planned.limits, options)
        confirm(len(result.actions), target.description)
        writer = target.make_writer()
        try:
            return Applier(target.reader, writer, options, on_result=on_result,
                           interruption=interruption).apply(result)
        finally:
            writer.close()

    def apply(self, paths: Sequence[str], options: ApplyOptions = ApplyOptions(), *,
              checksum: str | None = None, on_result: Callable[[ActionResult], None] | None = None,
              interruption: Interruption | None = None) -> ApplyRun:
        """Plan (or take the saved plan) and carry it out, asking no one."""
        source = self.apply_source(paths, checksum)
        target = self.target()
        try:
            planned = self.planned(target, source, options)
            if not planned.plan.has_changes:
                return ApplyRun(planned, None)
            report = self.carry_out(target, planned, options, on_result=on_result, interruption=interruption)
            return ApplyRun(planned, report)
        finally:
            target.close()
