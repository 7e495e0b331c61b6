"""Safety at the edges, through the command line on the sandbox.

Each test tells a story a user could live: the API user lacks one right,
an agent logs in with the alias a pull request deletes, a pipeline passes
the wrong plan along, a typo on the command line. Messages and exit codes
are asserted exactly: they are the contract (see contract.md).
"""
import json
from pathlib import Path

import jsonschema
import pytest

from aliassync.cli import main
from aliassync.vicidial.api import ApiWriter

from desired_files import files
from sandbox_tables import admin_log, rows, sql

SCHEMA = json.loads((Path(__file__).parent.parent / "schema" / "plan.schema.json").read_text())
OTHER_CHECKSUM = "sha256:" + "0123456789abcdef" * 4


def make_sandbox(tmp_path: Path, capsys, *, aliases: str = "", users: str = "", name: str = "s.sqlite") -> str:
    """A sandbox with phones p1..p9, and the given `aliases:` and `users:` YAML blocks."""
    phones = tmp_path / f"{name}.phones.yaml"
    phones.write_text("phones:\n" + "".join(f"  - {{login: p{i}}}\n" for i in range(1, 10)) + aliases + users,
                      encoding="utf-8")
    path = str(tmp_path / name)
    assert main(["sandbox", "init", path, "--phones", str(phones)]) == 0
    capsys.readouterr()
    return path


def run(capsys, *argv):
    """(exit code, stdout, stderr); a usage error's SystemExit gives its code."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def errors(err: str) -> list[str]:
    """The error lines of a run's stderr (its log lines start with 'aliassync: ')."""
    return [line for line in err.splitlines() if "error:" in line and not line.startswith("aliassync: ")]


def allow_only(path: str, functions: str) -> None:
    """The admin screen: the API user 6666 may call only these functions."""
    sql(path, "UPDATE vicidial_users SET api_allowed_functions=? WHERE user='6666'", functions)


TWO_TEAMS = 'aliases:\n  team1: {alias_name: Team 1, logins_list: "p1,p2"}\n  team2: {alias_name: Team 2, logins_list: "p1"}\n'


# --- 1. permissions are proven, per function, before the first write ------------------------------

def test_a_user_allowed_only_to_add_is_refused_a_plan_that_also_updates_and_nothing_is_written(tmp_path, capsys):
    # The API user may add aliases but not update them; the plan creates one alias and updates another.
    sandbox = make_sandbox(tmp_path, capsys, aliases=TWO_TEAMS)
    allow_only(sandbox, " add_phone_alias ")
    desired = files(tmp_path, "aliases:\n  team1: {alias_name: Team 1, phone_logins: [p1, p3]}\n"
                              "  team9: {alias_name: Team 9, phone_logins: [p1, p2]}\n")
    before = rows(sandbox)

    code, out, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")

    # One line names the function the user lacks and what the plan needs it for ...
    assert code == 1
    assert errors(err) == [
        "error: apply refused, nothing written: user 6666 may not call update_phone_alias, which the plan needs "
        "for 1 update(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|update_phone_alias|"]
    assert "Apply:" not in out
    # ... and the create the user could have made was not made either: the refusal came before any write.
    assert rows(sandbox) == before
    assert admin_log(sandbox) == []


def test_a_user_allowed_only_to_update_is_refused_a_create(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys)
    allow_only(sandbox, " update_phone_alias ")
    desired = files(tmp_path, "aliases:\n  team9: {alias_name: Team 9, phone_logins: [p1, p2]}\n")

    code, _, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")

    assert code == 1
    assert errors(err) == [
        "error: apply refused, nothing written: user 6666 may not call add_phone_alias, which the plan needs "
        "for 1 create(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|add_phone_alias|"]
    assert rows(sandbox) == {}
    assert admin_log(sandbox) == []


def test_a_user_allowed_only_to_add_may_carry_out_a_create_only_plan(tmp_path, capsys):
    # Only the functions the plan calls are probed: a create-only plan needs no update right.
    sandbox = make_sandbox(tmp_path, capsys)
    allow_only(sandbox, " add_phone_alias ")
    desired = files(tmp_path, "aliases:\n  team9: {alias_name: Team 9, phone_logins: [p1, p2]}\n"
                              "  team8: {alias_name: Team 8, phone_logins: [p3]}\n")

    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")

    assert code == 0
    assert out.endswith("Apply: 2 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert rows(sandbox) == {"team8": "p3", "team9": "p1,p2"}
    # the two creates are independent and run at once: only which rows, not their order, is pinned
    assert sorted(admin_log(sandbox)) == [("PHONEALIASES", "ADD", "team8"), ("PHONEALIASES", "ADD", "team9")]


def test_a_user_without_the_delete_right_is_refused_a_plan_that_deletes_before_its_creates(tmp_path, capsys):
    # The right to delete cannot be probed without deleting: it is read from vicidial_users.
    sandbox = make_sandbox(tmp_path, capsys, aliases=TWO_TEAMS)
    sql(sandbox, "UPDATE vicidial_users SET ast_delete_phones='0' WHERE user='6666'")
    desired = files(tmp_path, "aliases:\n  team9: {alias_name: Team 9, phone_logins: [p1, p2]}\n"
                              "  team2: {ensure: absent}\n")
    before = rows(sandbox)

    code, _, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")

    # The create would run first and succeed; it is not even started.
    assert code == 1
    assert errors(err) == [
        "error: apply refused, nothing written: the plan deletes 1 alias(es), but API user 6666 may not delete "
        "phone aliases (vicidial_users.ast_delete_phones is not 1)"]
    assert rows(sandbox) == before
    assert admin_log(sandbox) == []


def test_the_access_probes_write_nothing(tmp_path, capsys):
    # The plan creates, updates and deletes; the user may call both functions but not delete.
    sandbox = make_sandbox(tmp_path, capsys, aliases=TWO_TEAMS)
    sql(sandbox, "UPDATE vicidial_users SET ast_delete_phones='0' WHERE user='6666'")
    desired = files(tmp_path, "aliases:\n  team9: {alias_name: Team 9, phone_logins: [p1, p2]}\n"
                              "  team1: {alias_name: Team one, phone_logins: [p2]}\n  team2: {ensure: absent}\n")
    before = sql(sandbox, "SELECT * FROM phones_alias ORDER BY alias_id")
    never = sql(sandbox, "SELECT last_login_date FROM vicidial_users WHERE user='6666'")

    code, _, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")

    # The add and update probes reached the dialer and logged in (its last login moved) ...
    assert code == 1
    assert errors(err)[0].startswith("error: apply refused, nothing written: the plan deletes 1 alias(es)")
    assert sql(sandbox, "SELECT last_login_date FROM vicidial_users WHERE user='6666'") != never
    # ... and left no trace: no alias changed, no admin log row.
    assert sql(sandbox, "SELECT * FROM phones_alias ORDER BY alias_id") == before
    assert admin_log(sandbox) == []


# --- 2. deleting what agents log in with ----------------------------------------------------------

AGENTS = 'users:\n  - {user: "1001", phone_login: team7}\n  - {user: "1002", phone_login: TEAM7}\n'
TEAM7 = 'aliases:\n  team7: {alias_name: Team 7, logins_list: "p1,p2"}\n  other1: {alias_name: Other, logins_list: "p3"}\n'
IN_USE_REFUSAL = ("agents log in with 1 alias(es) it deletes: team7 (users 1001, 1002); deleting them leaves those "
                  "agents without their default phone login; to delete them anyway, run with --allow-in-use-deletes")
IN_USE_WARNING = ("deleted, but it is the default phone login of user(s) 1001, 1002: they could no longer log in "
                  "with it (apply refuses without --allow-in-use-deletes)")
DELETING_TEAM7 = {
    "prune": "settings: {prune: true}\naliases:\n  other1: {alias_name: Other, phone_logins: [p3]}\n",
    "ensure-absent": "aliases:\n  team7: {ensure: absent}\n",
}


@pytest.mark.parametrize("how", DELETING_TEAM7)
def test_the_plan_says_apply_will_refuse_to_delete_an_alias_agents_log_in_with(tmp_path, capsys, how):
    # User 1001 logs in with team7, user 1002 with TEAM7 (VICIdial compares them case-insensitively).
    sandbox = make_sandbox(tmp_path, capsys, aliases=TEAM7, users=AGENTS)
    desired = files(tmp_path, DELETING_TEAM7[how])

    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox)
    assert code == 2
    assert f"Warnings:\n  ! alias team7: {IN_USE_WARNING}\n" in out
    assert out.endswith(f"\nApply will refuse: {IN_USE_REFUSAL}.\n")

    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox, "--format", "markdown")
    assert code == 2
    assert f"> [!WARNING]\n> Apply will refuse: {IN_USE_REFUSAL}.\n" in out
    assert f"- `team7`: {IN_USE_WARNING}\n" in out

    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox, "--format", "json")
    assert code == 2
    document = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["refusals"] == [IN_USE_REFUSAL]
    assert {"code": "in-use", "resource": "alias", "alias_id": "team7", "message": IN_USE_WARNING} in document["warnings"]


@pytest.mark.parametrize("how", DELETING_TEAM7)
def test_apply_refuses_to_strand_agents_until_the_run_allows_it(tmp_path, capsys, how):
    sandbox = make_sandbox(tmp_path, capsys, aliases=TEAM7, users=AGENTS)
    desired = files(tmp_path, DELETING_TEAM7[how])
    before = rows(sandbox)

    # Without the flag: refused before any write, naming the alias, the users and the flag.
    code, _, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert errors(err) == [f"error: apply refused, nothing written: {IN_USE_REFUSAL}"]
    assert rows(sandbox) == before
    assert admin_log(sandbox) == []

    # With it: deleted, and the plan apply shows no longer says apply will refuse.
    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--allow-in-use-deletes")
    assert code == 0
    assert "Apply will refuse" not in out
    assert out.endswith("Apply: 1 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert rows(sandbox) == {"other1": "p3"}
    assert admin_log(sandbox) == [("PHONEALIASES", "DELETE", "team7")]


def test_changing_the_case_of_an_id_agents_log_in_with_is_not_blocked(tmp_path, capsys):
    # Declared Team7 over live team7: the alias is deleted and created again under the same
    # (case-insensitive) id, so agents typing team7 or TEAM7 still log in with it.
    sandbox = make_sandbox(tmp_path, capsys, aliases=TEAM7, users=AGENTS)
    desired = files(tmp_path, "aliases:\n  Team7: {alias_name: Team 7, phone_logins: [p1, p2]}\n")

    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox, "--format", "json")
    assert code == 2
    document = json.loads(out)
    assert (document["refusals"], document["warnings"]) == ([], [])

    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")
    assert code == 0
    assert out.endswith("Apply: 2 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert rows(sandbox) == {"Team7": "p1,p2", "other1": "p3"}


def test_the_plan_says_apply_will_refuse_a_delete_over_max_deletes_and_how_to_allow_it(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys, aliases=TWO_TEAMS)
    desired = files(tmp_path, "settings: {prune: true, max_deletes: 1}\naliases: {}\n")
    refusal = "2 deletes is over max_deletes 1; to allow it, run with --allow-deletes 2"

    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox)
    assert code == 2
    assert out.endswith("Plan: 0 to create, 0 to update, 2 to delete. Left alone: 0 in sync, 0 unmanaged, "
                        f"0 ignored.\nApply will refuse: {refusal}.\n")

    code, _, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes")
    assert code == 1
    assert errors(err) == [f"error: apply refused, nothing written: {refusal}"]
    assert len(rows(sandbox)) == 2

    # Allowing exactly that many: the plan apply shows does not claim a refusal it overrides.
    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--allow-deletes", "2")
    assert code == 0
    assert "Apply will refuse" not in out
    assert rows(sandbox) == {}


# --- 3. saved plans: the reviewed plan or nothing --------------------------------------------------

def saved_plan(tmp_path: Path, capsys, sandbox: str) -> tuple[str, str]:
    """`plan --out` on a two-create plan; returns the plan file and the checksum it printed."""
    desired = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, p2]}\n"
                              "  team9: {alias_name: Team 9, phone_logins: [p3]}\n")
    plan_file = str(tmp_path / "p.json")
    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox, "--out", plan_file)
    assert code == 2
    last = out.splitlines()[-1]
    checksum = json.loads(Path(plan_file).read_text())["checksum"]
    assert last == (f"Saved plan: {plan_file} ({checksum}); apply it with: "
                    f"aliassync apply {plan_file} --checksum {checksum}")
    return plan_file, checksum


def test_a_saved_plan_applies_with_the_checksum_plan_printed(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys)
    plan_file, checksum = saved_plan(tmp_path, capsys, sandbox)

    code, out, _ = run(capsys, "apply", plan_file, "--checksum", checksum, "--sandbox", sandbox, "--yes")

    assert code == 0
    assert out.endswith("Apply: 2 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert rows(sandbox) == {"team8": "p1,p2", "team9": "p3"}


def test_a_saved_plan_with_another_checksum_is_refused_naming_both(tmp_path, capsys):
    # The pipeline reviewed one plan; the file the apply job got is another (intact, but not that one).
    sandbox = make_sandbox(tmp_path, capsys)
    plan_file, checksum = saved_plan(tmp_path, capsys, sandbox)

    code, out, err = run(capsys, "apply", plan_file, "--checksum", OTHER_CHECKSUM, "--sandbox", sandbox, "--yes")

    assert (code, out) == (1, "")
    assert errors(err) == [f"error: {plan_file}: its checksum is {checksum}, not {OTHER_CHECKSUM} as --checksum "
                           "asks: this is not the plan that was reviewed; nothing written"]
    assert rows(sandbox) == {}
    assert admin_log(sandbox) == []


def test_a_checksum_is_for_saved_plans_only_and_must_look_like_one(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys)
    desired = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, p2]}\n")

    code, out, err = run(capsys, "apply", desired, "--checksum", OTHER_CHECKSUM, "--sandbox", sandbox, "--yes")
    assert (code, out) == (1, "")
    assert errors(err) == ["error: --checksum is for a saved plan (aliassync apply PLAN --checksum sha256:HEX), "
                           "not for desired-state files"]

    plan_file, _ = saved_plan(tmp_path, capsys, sandbox)
    code, out, err = run(capsys, "apply", plan_file, "--checksum", "abc", "--sandbox", sandbox, "--yes")
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == ("aliassync apply: error: argument --checksum: 'abc' is not a checksum as plan "
                                    "--out prints it (sha256: and 64 hex digits)")
    assert rows(sandbox) == {}


def test_a_json_file_is_a_saved_plan_by_its_marker_in_any_key_order_and_desired_state_otherwise(tmp_path, capsys):
    # Someone's tool rewrote the saved plan with its keys in another order: same content, still the plan
    # (not read as a desired-state file with an error per unknown key).
    sandbox = make_sandbox(tmp_path, capsys)
    plan_file, checksum = saved_plan(tmp_path, capsys, sandbox)
    content = json.loads(Path(plan_file).read_text())
    Path(plan_file).write_text(json.dumps(dict(reversed(list(content.items())))))
    assert Path(plan_file).read_text().startswith('{"checksum": ')

    code, out, err = run(capsys, "apply", plan_file, "--checksum", checksum, "--sandbox", sandbox, "--yes")

    assert code == 0, err
    assert out.endswith("Apply: 2 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert rows(sandbox) == {"team8": "p1,p2", "team9": "p3"}

    # JSON is YAML: a JSON object without the plan marker is desired state, and applies as such.
    desired = tmp_path / "aliases.json"
    desired.write_text(json.dumps({"version": 1, "aliases": {"team7": {"alias_name": "Team 7",
                                                                      "phone_logins": ["p4", "p5"]}}}))
    code, out, _ = run(capsys, "apply", str(desired), "--sandbox", sandbox, "--yes")
    assert code == 0
    assert "  + create team7\n" in out
    assert rows(sandbox) == {"team7": "p4,p5", "team8": "p1,p2", "team9": "p3"}


def test_a_saved_plan_is_applied_alone(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys)
    plan_file, _ = saved_plan(tmp_path, capsys, sandbox)
    extra = files(tmp_path, "aliases:\n  team7: {alias_name: Team 7, phone_logins: [p4]}\n", "extra.yaml")

    code, out, err = run(capsys, "apply", plan_file, extra, "--sandbox", sandbox, "--yes")

    assert (code, out) == (1, "")
    assert errors(err) == [f"error: {plan_file} is a saved plan; a saved plan is applied alone, without other "
                           f"files (aliassync apply {plan_file})"]
    assert rows(sandbox) == {}


# --- 5. rough edges ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["apply", "d.yaml", "--concurrency", "abc"],
     "aliassync apply: error: argument --concurrency: 'abc' is not a whole number from 1 to 64"),
    (["apply", "d.yaml", "--allow-deletes", "-5"],
     "aliassync apply: error: argument --allow-deletes: '-5' is not a whole number, 0 or more"),
    (["drift", "d.yaml", "--fromat", "json"],
     "aliassync: error: unrecognized arguments: --fromat json"),
], ids=["concurrency-abc", "allow-deletes-negative", "drift-fromat"])
def test_a_usage_error_exits_1_never_2_in_one_plain_line(capsys, argv, message):
    # 2 means "changes" or "drift" to a pipeline: a typo must never read as that.
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == message
    assert "_positive" not in err and "_count" not in err and "invalid" not in err


def test_a_sandbox_path_that_is_a_directory_is_named_as_one(tmp_path, capsys):
    desired = files(tmp_path, "aliases: {}\n")
    directory = tmp_path / "sandboxes"
    directory.mkdir()
    for argv in (["plan", desired, "--sandbox", str(directory)], ["sandbox", "serve", str(directory)]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (1, "")
        assert errors(err) == [f"error: sandbox {directory} is a directory, not a sandbox file"]


def test_plan_out_in_a_missing_directory_is_one_line_before_anything_is_read(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys)
    desired = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, p2]}\n")
    missing = tmp_path / "missing" / "dir"

    code, out, err = run(capsys, "plan", desired, "--sandbox", sandbox, "--out", str(missing / "p.json"))

    assert (code, out) == (1, "")
    assert err == f"error: --out {missing / 'p.json'}: the directory {missing} does not exist\n"


def test_apply_result_in_a_missing_directory_is_refused_before_anything_is_read_or_written(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys)
    desired = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, p2]}\n")
    missing = tmp_path / "missing" / "dir"

    code, out, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--result", str(missing / "r.json"))

    # Not a load line, not a state line: the run stopped before reading the files or the sandbox.
    assert (code, out) == (1, "")
    assert err == f"error: --result {missing / 'r.json'}: the directory {missing} does not exist\n"
    assert rows(sandbox) == {}
    assert admin_log(sandbox) == []


def test_apply_format_json_is_one_document_with_every_outcome(tmp_path, capsys):
    sandbox = make_sandbox(tmp_path, capsys, aliases=TWO_TEAMS)
    desired = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, p2]}\n"
                              "  team1: {alias_name: Team 1, phone_logins: [p2, p1]}\n")

    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--format", "json")

    assert code == 0
    document = json.loads(out)                  # the whole of stdout: one document, nothing around it
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert [a["key"] for a in document["actions"]] == ["update:team1", "create:team8"]
    outcome = document["apply"]
    assert (outcome["exit_code"], outcome["error"], outcome["verified"]) == (0, None, True)
    assert [(r["key"], r["status"], r["attempts"]) for r in outcome["results"]] == [
        ("update:team1", "done", 1), ("create:team8", "done", 1)]
    assert outcome["summary"] == {"done": 2, "failed": 0, "skipped": 0, "conflict": 0, "unknown": 0}


@pytest.mark.parametrize("refusal", ["missing-phone", "no-update-right"])
def test_apply_format_json_still_prints_one_document_when_refused(tmp_path, capsys, refusal):
    sandbox = make_sandbox(tmp_path, capsys, aliases=TWO_TEAMS)
    if refusal == "missing-phone":
        desired = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, nope]}\n")
        error = "apply refused, nothing written: 1 login(s) are not phones: nope (in team8)"
    else:
        allow_only(sandbox, " add_phone_alias ")
        desired = files(tmp_path, "aliases:\n  team1: {alias_name: Team 1, phone_logins: [p3]}\n")
        error = ("apply refused, nothing written: user 6666 may not call update_phone_alias, which the plan needs "
                 "for 1 update(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: "
                 "|6666|update_phone_alias|")
    before = rows(sandbox)

    code, out, err = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--format", "json")

    assert code == 1
    document = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert (document["apply"]["exit_code"], document["apply"]["error"]) == (1, error)
    assert document["apply"]["results"] == []
    assert errors(err) == [f"error: {error}"]
    assert rows(sandbox) == before


def test_a_run_stopped_mid_way_shows_the_skipped_actions_as_one_line(tmp_path, capsys, monkeypatch):
    # 40 creates, one at a time. Right after the first lands, an administrator changes the API user's
    # password in the dialer: the second write's login is refused, and the run stops there.
    sandbox = make_sandbox(tmp_path, capsys)
    real_write = ApiWriter.write

    def password_changed_after_the_first_write(self, action):
        outcome = real_write(self, action)
        sql(sandbox, "UPDATE vicidial_users SET pass='Changed99' WHERE user='6666'")
        return outcome

    monkeypatch.setattr(ApiWriter, "write", password_changed_after_the_first_write)
    desired = files(tmp_path, "aliases:\n" + "".join(
        f"  a{i:03d}: {{alias_name: A {i}, phone_logins: [p1, p2]}}\n" for i in range(40)))

    code, out, _ = run(capsys, "apply", desired, "--sandbox", sandbox, "--yes", "--concurrency", "1")

    bad_login = "ERROR: Login incorrect, please try again: |6666|***|BAD|"
    assert code == 3
    assert out.endswith(
        f"  failed: create a001: {bad_login}\n"
        f"  skipped: 38 actions (create a002, create a003, create a004 and 35 more): not run: the run stopped "
        f"after create:a001 ({bad_login})\n"
        "Apply: 1 done, 1 failed, 38 skipped, 0 conflict.\n")
    assert rows(sandbox) == {"a000": "p1,p2"}


def test_validate_check_target_passes_with_warnings_and_fails_on_what_apply_refuses(tmp_path, capsys):
    # The dialer holds an alias whose member is no longer a phone: exported as it is, it is in sync,
    # so validating the export against the dialer warns but passes.
    sandbox = make_sandbox(tmp_path, capsys, aliases='aliases:\n  ghost1: {alias_name: Ghost, logins_list: "p1,gone9"}\n')
    exported = str(tmp_path / "exported.yaml")
    assert run(capsys, "export", "--sandbox", sandbox, "--out", exported)[0] == 0

    code, out, err = run(capsys, "validate", exported, "--check-target", "--sandbox", sandbox)
    assert (code, out) == (0, "1 aliases in 1 file(s): valid\n")
    assert [line for line in err.splitlines() if not line.startswith("aliassync: ")] == [
        "warning: alias ghost1: not a phone: gone9 (apply refuses any write of this alias)",
        "warning: alias ghost1: the live alias lists logins that are not phones: gone9",
    ]

    # A create that names a missing phone is what apply refuses: validation fails and says so.
    creating = files(tmp_path, "aliases:\n  team8: {alias_name: Team 8, phone_logins: [p1, nope]}\n", "c.yaml")
    code, out, err = run(capsys, "validate", creating, "--check-target", "--sandbox", sandbox)
    assert (code, out) == (1, "")
    assert errors(err) == ["error: apply refused, nothing written: 1 login(s) are not phones: nope (in team8)"]


def test_plan_and_drift_quote_blank_and_space_padded_members(tmp_path, capsys):
    # Made by hand on the dialer: a member with a leading space, an empty member, and no member at all.
    sandbox = make_sandbox(tmp_path, capsys, aliases='aliases:\n  pad1: {alias_name: Pad, logins_list: "p1, 100a,"}\n'
                                                     '  blank1: {alias_name: Blank, logins_list: ""}\n')
    desired = files(tmp_path, "settings: {prune: true}\naliases:\n  pad1: {alias_name: Pad, phone_logins: [p1, p2]}\n")

    code, out, _ = run(capsys, "plan", desired, "--sandbox", sandbox)
    assert code == 2
    assert ("  - delete blank1  (prune: not declared)\n"
            "      alias_name:   'Blank'\n"
            "      phone_logins: (none)\n") in out
    assert ("  ~ update pad1\n"
            "      phone_logins: p1, ' 100a', '' -> p1, p2\n"
            "        + p2\n"
            "        - ' 100a'\n"
            "        - ''\n") in out

    code, out, _ = run(capsys, "drift", desired, "--sandbox", sandbox)
    assert code == 2
    assert out.startswith(
        "  unexpected: blank1: on the dialer but not declared (prune is on): logins (none)\n"
        "  changed: pad1: logins p1,' 100a','' on the dialer, p1,p2 in the files (+p2, -' 100a', -'')\n")
