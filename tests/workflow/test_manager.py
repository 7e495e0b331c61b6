"""The Manager: a whole run from Python, no argparse, no printing (the command line is only its porch)."""
from pathlib import Path

import pytest

from aliassync.errors import RefusedError
from aliassync.sandbox.seed_file import load as load_seed
from aliassync.sandbox.store import init_sandbox
from aliassync.workflow.applier import ApplyOptions
from aliassync.workflow.manager import Manager
from aliassync.workflow.targets import TargetOptions

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def manager(tmp_path) -> Manager:
    seed = load_seed(str(EXAMPLES / "phones.yaml"))
    path = str(tmp_path / "demo.sqlite")
    init_sandbox(path, seed.phones, aliases=seed.aliases, users=seed.users)
    return Manager(TargetOptions(sandbox=path))


def test_plan_apply_and_plan_again_from_python(manager):
    example = [str(EXAMPLES / "aliases.yaml")]
    run = manager.plan(example)
    assert [(a.kind, a.name) for a in run.plan.actions] == [
        ("delete", "retired7"), ("create", "sales1"), ("create", "sales2"), ("update", "support")]
    assert run.document["summary"]["create"] == 2 and run.saved is None

    applied = manager.apply(example, ApplyOptions(workers=2))
    assert applied.report.complete
    assert applied.report.counts["done"] == 4

    assert manager.plan(example).plan.has_changes is False
    assert manager.apply(example).report is None          # nothing to do: no writer is even made
    assert manager.drift(example)["drift"] == []


def test_a_refusal_is_raised_before_any_write(manager, tmp_path):
    files = tmp_path / "a.yaml"
    files.write_text("version: 1\naliases:\n  s9: {alias_name: Nine, phone_logins: [999z, 100a]}\n",
                     encoding="utf-8")
    _, result, refusal = manager.validate([str(files)], check_target=True)
    assert refusal == "apply refused, nothing written: 1 login(s) are not phones: 999z (in s9)"
    assert [w.code for w in result.warnings] == ["missing-phone"]
    with pytest.raises(RefusedError) as refused:
        manager.apply([str(files)])
    assert str(refused.value) == refusal
    assert manager.plan([str(files)]).plan.has_changes        # still to do: nothing was written


def test_export_gives_the_text_and_its_warnings(manager):
    text, warnings, count = manager.export()
    assert count == 3 and warnings == []
    assert text.startswith("# Exported by aliassync")
