"""Drift, worded for the nightly job that asks "did someone change the dialer by hand?".

Each entry names the alias or phone and says what differs, in words an
operator acts on; the text and markdown forms are what lands in a chat
channel or an issue, so they are asserted whole.
"""
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, PhoneSettings, Settings
from aliassync.core.phone import DesiredPhone, LivePhone
from aliassync.core.planner import plan
from aliassync.output import drift, render

PHONES = [Phone(login, True) for login in ("p1", "p2", "p3", "p4")]
FIELDS = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk", "protocol": "SIP",
          "local_gmt": "-5.00", "outbound_cid": "3125550100"}


def drift_of(aliases, live, **settings):
    result = plan(Desired(tuple(aliases), Settings(**settings)), Current.build(live, PHONES, []))
    document = {**render.plan_document(result), "drift": drift.drift_entries(result)}
    return document


def test_an_alias_declared_absent_that_still_exists_is_drift():
    document = drift_of([DesiredAlias("old7", None, (), present=False)], [LiveAlias("old7", "Old", "p1")])
    assert document["drift"] == [{"resource": "alias", "alias_id": "old7", "status": "present",
                                  "detail": "declared ensure: absent but exists on the dialer"}]
    assert drift.render_text(document) == ("  present: old7: declared ensure: absent but exists on the dialer\n"
                                           "Drift: 1 alias(es) differ from the files.\n")


def test_a_name_changed_by_hand_is_drift_naming_both_values():
    document = drift_of([DesiredAlias("s1", "Sales", ("p1",))], [LiveAlias("s1", "Sales floor", "p1")])
    assert document["drift"] == [{"resource": "alias", "alias_id": "s1", "status": "changed",
                                  "detail": "alias_name 'Sales floor' on the dialer, 'Sales' in the files"}]


def test_members_in_another_order_are_drift_because_vicidial_uses_the_order():
    document = drift_of([DesiredAlias("s1", "Sales", ("p1", "p2"))], [LiveAlias("s1", "Sales", "p2,p1")])
    assert document["drift"] == [{"resource": "alias", "alias_id": "s1", "status": "changed",
                                  "detail": "logins p2,p1 on the dialer, p1,p2 in the files (order differs)"}]


def test_a_name_and_members_changed_together_are_one_entry_saying_both():
    document = drift_of([DesiredAlias("s1", "Sales", ("p1", "p3"))], [LiveAlias("s1", "Old", "p2,p1, p4")])
    assert document["drift"][0]["detail"] == ("alias_name 'Old' on the dialer, 'Sales' in the files; logins "
                                              "p2,p1,' p4' on the dialer, p1,p3 in the files (+p3, -p2, -' p4')")


def test_an_empty_drift_in_markdown_says_what_is_in_sync():
    document = drift_of([DesiredAlias("s1", "Sales", ("p1",))], [LiveAlias("s1", "Sales", "p1")])
    assert document["drift"] == []
    assert drift.render_markdown(document) == ("<!-- aliassync-drift -->\n### aliassync drift\n\n"
                                               "In sync: 1 declared aliases match the dialer.\n")
    assert drift.render_text(document) == "In sync: 1 declared aliases match the dialer.\n"


def test_an_empty_drift_keeps_its_warnings_in_markdown():
    document = drift_of([DesiredAlias("s_1", "Sales", ("p1",))], [LiveAlias("s_1", "Sales", "p1")])
    assert drift.render_markdown(document) == (
        "<!-- aliassync-drift -->\n### aliassync drift\n\nIn sync: 1 declared aliases match the dialer.\n\n"
        "<details open><summary>Warnings (1)</summary>\n\n- `s_1`: the id holds '-' or '_', which the agent screen "
        "strips: agents cannot log in with it\n\n</details>\n")


def test_a_pipe_in_a_detail_cannot_break_the_markdown_table():
    document = drift_of([DesiredAlias("s1", "Sales", ("p1",))], [LiveAlias("s1", "Sales", "p1|x")])
    (table_row,) = [line for line in drift.render_markdown(document).splitlines() if line.startswith("| `s1`")]
    assert table_row.count("|") == 4
    assert table_row == "| `s1` | changed | logins p1/x on the dialer, p1 in the files (+p1, -p1/x) |"


def test_phones_drift_by_login_with_the_alias_heading_widened():
    rows = {"100a": (LivePhone("100a", "100", "10.10.10.15", {**FIELDS, "phone_full_name": "Hand"}),),
            "100b": (LivePhone("100b", "100", "10.10.10.16", FIELDS),),
            "100c": (LivePhone("100c", "101", "10.10.10.15", FIELDS),)}
    live = Current.build([], [Phone(login, True) for login in rows], {})
    current = Current(live.aliases, live.phones, {}, rows, frozenset({"10.10.10.15", "10.10.10.16"}))
    desired = Desired((), Settings(phones=PhoneSettings(prune=True)),
                      phones=(DesiredPhone("100a", "100", "10.10.10.15", FIELDS),
                              DesiredPhone("100b", None, None, present=False),
                              DesiredPhone("100c", "102", "10.10.10.16", FIELDS)))
    result = plan(desired, current)
    document = {**render.plan_document(result), "drift": drift.drift_entries(result)}
    assert drift.render_markdown(document).split("\n\n", 2)[1:] == [
        "**3 phone(s) differ from the files.**", "| alias or phone | drift | detail |\n| --- | --- | --- |\n"
        "| phone `100a` | changed | phone_full_name 'Hand' on the dialer, 'Desk' in the files |\n"
        "| phone `100c` | changed | at extension 101 on 10.10.10.15 on the dialer, elsewhere in the files |\n"
        "| phone `100b` | present | declared ensure: absent but exists on the dialer |\n"]


def test_drift_text_carries_the_warnings_too():
    document = drift_of([DesiredAlias("s_1", "Sales", ("p1",))], [LiveAlias("s_1", "Sales", "p2")])
    assert drift.render_text(document) == (
        "  changed: s_1: logins p2 on the dialer, p1 in the files (+p1, -p2)\n"
        "Warnings:\n"
        "  ! alias s_1: the id holds '-' or '_', which the agent screen strips: agents cannot log in with it\n"
        "Drift: 1 alias(es) differ from the files.\n")
