"""Phone actions in every output: text, markdown, JSON (valid against the schema), drift, the result file.

A reviewer sees where each phone is, which fields change, and that a
password is set or changes, with its reference, never its value.
"""
import json

import jsonschema

from aliassync.core.model import Current, PhoneSettings
from aliassync.core.phone import DesiredPhone, LivePhone, SecretRef, plan_phones
from aliassync.core.plan import Plan, PhoneTally, Warning
from aliassync.core.graph import ActionResult
from aliassync.files.loader import load_schema
from aliassync.output import drift, render, results
from aliassync.workflow.applier import ApplyReport

FIELDS = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk 100", "protocol": "SIP",
          "local_gmt": "-5.00", "outbound_cid": "3125550100", "active": "Y"}
PASS = SecretRef("env", "AGENT_PHONE_PASS")


def phone_plan() -> Plan:
    rows = {"100b": (LivePhone("100b", "100", "10.10.10.16", {**FIELDS, "phone_full_name": "Old"},
                               {"phone_pass": False}),),
            "300c": (LivePhone("300c", "300", "10.10.10.17", FIELDS),)}
    current = Current({}, {}, {}, rows, frozenset({"10.10.10.15", "10.10.10.16", "10.10.10.17"}))
    part = plan_phones([DesiredPhone("100a", "100", "10.10.10.15", FIELDS,
                                     {"phone_pass": PASS, "registration_password": SecretRef("file", "sip")}),
                        DesiredPhone("100b", "100", "10.10.10.16", FIELDS, {"phone_pass": PASS})],
                       PhoneSettings(prune=True), current)
    assert part.problems == ()
    return Plan(part.actions)


def test_text_shows_where_what_changes_and_that_a_password_changes_never_to_what():
    text = render.render_text(render.plan_document(phone_plan()))
    assert "  + create phone 100a\n      extension 100 on 10.10.10.15\n      dialplan_number: '100'\n" in text
    assert "      phone_pass: set from {env: AGENT_PHONE_PASS}\n      registration_password: set from {file: sip}\n" in text
    assert ("  ~ update phone 100b\n      extension 100 on 10.10.10.16\n"
            "      phone_full_name: 'Old' -> 'Desk 100'\n"
            "      phone_pass: changes (from {env: AGENT_PHONE_PASS})\n") in text
    assert "  - delete phone 300c  (prune: not declared)\n      extension 300 on 10.10.10.17\n" in text


def test_json_is_valid_against_the_schema_and_markdown_renders():
    document = render.plan_document(phone_plan())
    jsonschema.validate(document, load_schema("plan.schema.json"))
    (update,) = [a for a in document["actions"] if a["action"] == "update"]
    assert update["changes"] == {"fields": [{"field": "phone_full_name", "before": "Old", "after": "Desk 100"}],
                                 "passwords": ["phone_pass"]}
    assert update["after"]["passwords"] == {"phone_pass": "{env: AGENT_PHONE_PASS}"}
    assert "! update phone 100b" in render.render_markdown(document)


def test_drift_names_the_phone_by_its_login_and_the_field():
    entries = drift.drift_entries(phone_plan())
    assert entries == [
        {"resource": "phone", "login": "100a", "status": "missing", "detail": "declared but not on the dialer"},
        {"resource": "phone", "login": "100b", "status": "changed",
         "detail": "phone_full_name 'Old' on the dialer, 'Desk 100' in the files; phone_pass differs"},
        {"resource": "phone", "login": "300c", "status": "unexpected",
         "detail": "on the dialer but not declared (phones prune is on)"},
    ]


def test_drift_of_phones_counts_phones_in_text_and_markdown():
    """A reviewer reading "3 alias(es) differ" would look for aliases that are fine: phones are counted as phones."""
    document = {**render.plan_document(phone_plan()), "drift": drift.drift_entries(phone_plan())}
    jsonschema.validate(document, load_schema("plan.schema.json"))
    assert drift.render_text(document) == (
        "  missing: phone 100a: declared but not on the dialer\n"
        "  changed: phone 100b: phone_full_name 'Old' on the dialer, 'Desk 100' in the files; phone_pass differs\n"
        "  unexpected: phone 300c: on the dialer but not declared (phones prune is on)\n"
        "Drift: 3 phone(s) differ from the files.\n")
    markdown = drift.render_markdown(document)
    assert "**3 phone(s) differ from the files.**\n\n| alias or phone | drift | detail |\n" in markdown
    assert "| phone `100a` | missing | declared but not on the dialer |\n" in markdown


def test_an_empty_drift_with_phones_managed_says_how_many_phones_are_in_sync():
    document = {**render.plan_document(Plan((), in_sync=("team1",), phones=PhoneTally(in_sync=("100a", "100b")))),
                "drift": []}
    assert drift.render_text(document) == "In sync: 1 declared aliases and 2 declared phones match the dialer.\n"
    assert drift.render_markdown(document).endswith(
        "### aliassync drift\n\nIn sync: 1 declared aliases and 2 declared phones match the dialer.\n")


def test_a_warning_about_a_phone_names_the_phone_in_every_format():
    """An agent's default login on a phone being deleted: the warning must say phone 300c, not alias."""
    plan = Plan((), warnings=(Warning("in-use", "300c", "deleted, but ...", "phone"),
                              Warning("in-use", "team7", "deleted, but ...")))
    document = render.plan_document(plan)
    jsonschema.validate(document, load_schema("plan.schema.json"))
    assert document["warnings"] == [
        {"code": "in-use", "resource": "phone", "login": "300c", "message": "deleted, but ..."},
        {"code": "in-use", "resource": "alias", "alias_id": "team7", "message": "deleted, but ..."}]
    assert "Warnings:\n  ! phone 300c: deleted, but ...\n  ! alias team7: deleted, but ...\n" in render.render_text(document)
    assert "- phone `300c`: deleted, but ...\n- `team7`: deleted, but ...\n" in render.render_markdown(document)
    assert [str(w) for w in plan.warnings] == ["phone 300c: deleted, but ...", "alias team7: deleted, but ..."]


def test_the_result_file_names_a_phone_by_its_login():
    the_plan = phone_plan()
    report = ApplyReport(tuple(ActionResult(a, "done", "SUCCESS", attempts=1) for a in the_plan.actions))
    document = results.document("sandbox x", report, 0)
    assert document["results"][0] == {"key": "create:phone:100a", "action": "create", "resource": "phone",
                                      "login": "100a", "status": "done", "message": "SUCCESS", "attempts": 1}
    plan_doc = {**render.plan_document(the_plan), "apply": document}
    jsonschema.validate(json.loads(json.dumps(plan_doc)), load_schema("plan.schema.json"))


def test_a_saved_plan_of_phones_loads_back_as_the_same_actions_and_refuses_a_moved_phone(tmp_path):
    import pytest

    from aliassync.errors import PlanFileError
    from aliassync.output import planfile

    the_plan = phone_plan()
    rows = {"100b": (LivePhone("100b", "100", "10.10.10.16", {**FIELDS, "phone_full_name": "Old"}),),
            "300c": (LivePhone("300c", "300", "10.10.10.17", FIELDS),)}
    current = Current({}, {}, {}, rows, frozenset())
    desired = tmp_path / "phones.yaml"
    desired.write_text("version: 1\n", encoding="utf-8")
    path = str(tmp_path / "plan.json")
    planfile.save(path, the_plan, current, render.plan_document(the_plan), target="t", sources=[str(desired)],
                  max_deletes=None, max_delete_percent=None)
    saved = planfile.load(path)
    assert [(a.key, a.kind, a.name, a.depends_on) for a in saved.plan.actions] == [
        (a.key, a.kind, a.name, a.depends_on) for a in the_plan.actions]
    (update,) = [a for a in saved.plan.actions if a.kind == "update"]
    assert update.after.secrets == {"phone_pass": PASS}          # the reference, to be resolved at apply
    assert "AGENT" not in json.dumps(json.load(open(path))["fingerprint"])
    planfile.check_current(saved, current, "t", path)           # the live state is as planned: accepted

    moved = {**rows, "100b": (LivePhone("100b", "100", "10.10.10.16", {**FIELDS, "phone_full_name": "Theirs"}),)}
    with pytest.raises(PlanFileError) as refused:
        planfile.check_current(saved, Current({}, {}, {}, moved, frozenset()), "t", path)
    assert "the live state changed since the plan was made: phone 100b at extension 100 on 10.10.10.16" in str(
        refused.value)


def test_a_reviewer_sees_which_alias_waits_for_which_phone_and_which_delete_waits_for_which_alias():
    from aliassync.core.model import Desired, DesiredAlias, LiveAlias, Phone, Settings
    from aliassync.core.planner import plan

    # 100a is new and the new alias sales1 lists it; 300c goes, once team3 stops listing it.
    rows = {"300c": (LivePhone("300c", "300", "10.10.10.17", FIELDS),),
            "300d": (LivePhone("300d", "300", "10.10.10.16", FIELDS),)}
    live = Current.build([LiveAlias("team3", "Team 3", "300c,300d")],
                         [Phone("300c", True), Phone("300d", True)], [])
    current = Current(live.aliases, live.phones, live.agent_logins, rows,
                      frozenset({"10.10.10.15", "10.10.10.16", "10.10.10.17"}))
    desired = Desired((DesiredAlias("sales1", "Sales", ("100a",)), DesiredAlias("team3", "Team 3", ("300d",))),
                      Settings(), phones=(DesiredPhone("100a", "100", "10.10.10.15", FIELDS,
                                                       {"phone_pass": PASS, "registration_password": PASS}),
                                          DesiredPhone("300c", None, None, present=False),
                                          DesiredPhone("300d", "300", "10.10.10.16", FIELDS)))
    document = render.plan_document(plan(desired, current))
    text = render.render_text(document)
    assert "  + create sales1\n      alias_name:   'Sales'\n      phone_logins: 100a\n" \
           "      after: create phone 100a\n" in text
    assert "  - delete phone 300c  (ensure: absent)\n      extension 300 on 10.10.10.17\n" \
           "      after: update team3\n" in text
    markdown = render.render_markdown(document)
    assert "+ create sales1\n    alias_name:   'Sales'\n    phone_logins: 100a\n    after: create phone 100a\n" \
        in markdown
    assert "after:" not in text.split("  ~ update team3", 1)[1].split("  - delete", 1)[0]   # waits for nothing
