"""Never act on an alias the API cannot address.

VICIdial's API strips every character outside [-_0-9A-Za-z] from alias_id
before it looks anything up. A live alias `sales.1`, made by hand or by
SQL, next to a declared `sales1` with prune on: a delete planned for
`sales.1` reaches VICIdial as a delete of `sales1`, the alias the files
declare, and the next apply creates it again, forever. These tests pin
that such an alias is reported and never touched, by the planner and end
to end through the emulator, which strips as VICIdial does.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from aliassync.cli import main
from aliassync.errors import PlanError
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, Settings
from aliassync.core.planner import plan

PHONES = [Phone(login, True) for login in ("100a", "100b")]
SALES_DOT_1 = ("the id holds '.', which VICIdial's API strips: a call for it would act on sales1 instead; "
               "aliassync never acts on it (rename or delete it on the dialer by hand)")


def live(*aliases: LiveAlias) -> Current:
    return Current.build(aliases, PHONES, agent_logins=())   # no agent logs in with any of them


def test_a_live_id_the_api_would_strip_is_never_pruned_and_is_reported():
    # sales.1 was made by SQL; with prune on it is "not declared", but a delete for it would hit sales1
    result = plan(Desired((DesiredAlias("sales1", "Sales", ("100a", "100b")),), Settings(prune=True)),
                  live(LiveAlias("sales.1", "Old sales", "100a"), LiveAlias("gone1", "Gone", "100b")))
    assert [(a.kind, a.name) for a in result.actions] == [("delete", "gone1"), ("create", "sales1")]
    assert result.unaddressable == ("sales.1",)
    assert [(w.code, w.name, w.message) for w in result.warnings] == [("unaddressable", "sales.1", SALES_DOT_1)]
    # it counts neither as managed nor towards the delete limits' base
    assert result.managed_live == 1


@pytest.mark.parametrize("alias_id, why", [
    ("sales 1", "the id holds ' ', which VICIdial's API strips: a call for it would act on sales1 instead"),
    ("x", "the id is shorter than 2 characters, which VICIdial's API refuses"),
    ("a.", "the id holds '.', which VICIdial's API strips: a call for it would be refused"),
    ("ümlaut1", "the id holds 'ü', which VICIdial's API strips: a call for it would act on mlaut1 instead"),
], ids=["space", "one character", "strips to one character", "non-ASCII"])
def test_every_id_outside_what_the_api_keeps_is_left_alone(alias_id, why):
    result = plan(Desired((), Settings(prune=True)), live(LiveAlias(alias_id, "Hand made", "100a")))
    assert result.actions == ()
    (warning,) = result.warnings
    assert (warning.code, warning.name) == ("unaddressable", alias_id)
    assert warning.message.startswith(why)


def test_a_declared_id_that_the_database_takes_for_a_padded_live_one_is_refused():
    # VICIdial's collation ignores trailing spaces: 'sales1 ' IS sales1 to the database, and the API
    # cannot address it exactly; creating sales1 would be refused (ALREADY EXISTS), updating it impossible
    with pytest.raises(PlanError) as refused:
        plan(Desired((DesiredAlias("sales1", "Sales", ("100a", "100b")),)), live(LiveAlias("sales1 ", "S", "100a")))
    assert str(refused.value) == (
        "alias sales1: the dialer holds alias 'sales1 ', which VICIdial's database takes for the same id and its "
        "API cannot address; rename or delete it on the dialer by hand")


# ------------------------------------------------------------------ end to end, on the sandbox

@pytest.fixture
def sandbox(tmp_path, capsys) -> str:
    phones = tmp_path / "phones.yaml"
    phones.write_text("phones:\n  - login: 100a\n  - login: 100b\n"
                      "aliases:\n"
                      "  sales.1: {alias_name: Old sales, logins_list: 100a}\n"
                      "  gone1: {alias_name: Gone, logins_list: 100b}\n", encoding="utf-8")
    path = str(tmp_path / "s.sqlite")
    assert main(["sandbox", "init", path, "--phones", str(phones)]) == 0
    capsys.readouterr()
    return path


def rows(path: str) -> dict[str, tuple[str, str]]:
    with closing(sqlite3.connect(path)) as db:
        return {r[0]: (r[1], r[2]) for r in db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias")}


def test_prune_next_to_an_unaddressable_alias_converges_and_never_touches_it(sandbox, tmp_path, capsys):
    files = tmp_path / "aliases.yaml"
    files.write_text("version: 1\nsettings: {prune: true}\n"
                     "aliases:\n  sales1: {alias_name: Sales, phone_logins: [100a, 100b]}\n", encoding="utf-8")

    code = main(["plan", str(files), "--sandbox", sandbox])
    out = capsys.readouterr().out
    assert code == 2
    assert "delete sales.1" not in out
    assert f"  ! alias sales.1: {SALES_DOT_1}\n" in out
    assert out.splitlines()[-1] == ("Plan: 1 to create, 0 to update, 1 to delete. "
                                    "Left alone: 0 in sync, 0 unmanaged, 0 ignored, 1 unaddressable.")

    assert main(["apply", str(files), "--sandbox", sandbox, "--yes"]) == 0
    capsys.readouterr()
    assert rows(sandbox) == {"sales.1": ("Old sales", "100a"), "sales1": ("Sales", "100a,100b")}

    # and the next run has nothing to do: no create-then-delete loop
    assert main(["plan", str(files), "--sandbox", sandbox, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["actions"] == []
    assert document["summary"]["unaddressable"] == 1

    # drift reports it as a warning, not as drift
    assert main(["drift", str(files), "--sandbox", sandbox]) == 0
    out = capsys.readouterr().out
    assert f"  ! alias sales.1: {SALES_DOT_1}\n" in out


def test_export_lists_an_unaddressable_alias_and_declares_nothing_for_it(sandbox, tmp_path, capsys):
    out_file = tmp_path / "exported.yaml"
    assert main(["export", "--sandbox", sandbox, "--out", str(out_file)]) == 0
    err = capsys.readouterr().err
    assert f"warning: alias sales.1: {SALES_DOT_1}\n" in err
    text = out_file.read_text(encoding="utf-8")
    assert f"  #   sales.1: {SALES_DOT_1}\n" in text
    assert "sales.1:" not in text.replace(f"#   sales.1: {SALES_DOT_1}", "")
    # the export is valid, and with it nothing would be done
    assert main(["validate", str(out_file)]) == 0
    assert main(["plan", str(out_file), "--sandbox", sandbox]) == 0


def test_two_characters_is_the_shortest_id_the_api_takes():
    from aliassync.core.addressing import unaddressable

    assert unaddressable("ab") is None
    assert unaddressable("ab.") == ("the id holds '.', which VICIdial's API strips: a call for it would act on ab "
                                    "instead; aliassync never acts on it (rename or delete it on the dialer by hand)")
