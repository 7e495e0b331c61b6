"""Phones, the second resource kind: planned as a pure function of declared and live phones."""
from dataclasses import replace

import pytest

from aliassync.core import phone as phone_kind
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, PhoneSettings, Settings
from aliassync.core.plan import Action
from aliassync.core.phone import DesiredPhone, LivePhone, PhoneChange, SecretRef, link, plan_phones
from aliassync.core.planner import plan as plan_aliases

PASS = SecretRef("env", "AGENT_PHONE_PASS")
SIP = SecretRef("file", "secrets/sip")
FULL = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk 100", "protocol": "SIP",
        "local_gmt": "-5.00", "outbound_cid": "3125550100", "active": "Y"}


def declared(login="100a", extension="100", server_ip="10.10.10.15", fields=None, secrets=None, **kwargs):
    return DesiredPhone(login, extension, server_ip, dict(FULL if fields is None else fields),
                        {"phone_pass": PASS, "registration_password": SIP} if secrets is None else secrets, **kwargs)


def live(login="100a", extension="100", server_ip="10.10.10.15", fields=None, match=True):
    return LivePhone(login, extension, server_ip, dict(FULL if fields is None else fields),
                     {"phone_pass": match, "registration_password": True})


def state(*rows, aliases=(), servers=("10.10.10.15", "10.10.10.16")):
    by_login = {}
    for row in rows:
        by_login[row.login.lower()] = by_login.get(row.login.lower(), ()) + (row,)
    return Current({a.alias_id.lower(): a for a in aliases}, {}, {}, by_login, frozenset(servers))


def summary(part):
    return [(a.key, a.kind, a.depends_on) for a in part.actions]


def test_a_declared_phone_that_does_not_exist_is_one_add_phone_with_every_field_and_its_password_references():
    part = plan_phones([declared()], PhoneSettings(), state())
    (create,) = part.actions
    assert (create.key, create.kind, create.name, create.resource) == ("create:phone:100a", "create", "100a", "phone")
    assert create.after.fields == {k: v for k, v in FULL.items() if k != "active"}   # add_phone ignores active
    assert create.after.secrets == {"phone_pass": PASS, "registration_password": SIP}   # references, never values


def test_an_inactive_phone_is_created_then_updated_because_add_phone_always_stores_active_y():
    part = plan_phones([declared(fields={**FULL, "active": "N"})], PhoneSettings(), state())
    assert summary(part) == [("create:phone:100a", "create", ()),
                             ("update:phone:100a", "update", ("create:phone:100a",))]
    assert part.actions[1].after.fields == {"active": "N"}


def test_an_update_carries_only_the_fields_that_differ_and_says_a_password_changes_not_what_to():
    # update_phone writes (and flags an Asterisk rebuild) even when nothing changes: never send what is as declared
    row = live(fields={**FULL, "phone_full_name": "Old desk"}, match=False)
    (update,) = plan_phones([declared(fields={**FULL, "phone_full_name": "Desk 100"})], PhoneSettings(),
                            state(row)).actions
    assert update.after.fields == {"phone_full_name": "Desk 100"}
    assert update.after.secrets == {"phone_pass": PASS}
    assert update.change == PhoneChange((("phone_full_name", "Old desk", "Desk 100"),), ("phone_pass",))


def test_a_phone_as_declared_needs_nothing_and_a_field_not_declared_is_left_alone():
    row = live(fields={**FULL, "email": "desk@example.com"})
    part = plan_phones([declared()], PhoneSettings(), state(row))
    assert part.actions == () and part.in_sync == ("100a",)


def test_a_phone_whose_key_changes_is_replaced_delete_first():
    part = plan_phones([declared(server_ip="10.10.10.16")], PhoneSettings(), state(live()))
    assert summary(part) == [("delete:phone:100a", "delete", ()),
                             ("create:phone:100a", "create", ("delete:phone:100a",))]
    assert part.actions[0].reason == ("moves from extension 100 on 10.10.10.15 to extension 100 on 10.10.10.16: "
                                      "neither can be updated")


@pytest.mark.parametrize("rows, aliases, want, problem", [
    ((), (LiveAlias("100A", "Desk", "200a,200b"),), declared(),
     "phone 100a: the dialer has an alias 100A; agents typing 100a would reach the alias, not the phone "
     "(VICIdial looks aliases up first)"),
    ((live(), live(extension="101")), (), declared(),
     "phone 100a: 2 phones hold this login on the dialer (extension 100 on 10.10.10.15; extension 101 on "
     "10.10.10.15); which one the files mean cannot be told: remove the others by hand"),
    ((), (), declared(server_ip="10.10.10.99"), "phone 100a: server_ip 10.10.10.99 is not one of VICIdial's servers"),
    ((live(login="300x"),), (), declared(),
     "phone 100a: extension 100 on 10.10.10.15 is phone 300x on the dialer; VICIdial keys phones by extension "
     "and server, so it cannot hold both"),
    ((live(login="100A", extension="200"),), (), declared(),
     "phone 100a: the dialer has phone 100A on extension 200 on 10.10.10.15 (logins compare case-insensitively); "
     "declare it as 100A to move it, or remove it by hand"),
    ((), (), declared(fields={"protocol": "SIP"}, secrets={}),
     "phone 100a: not on the dialer, and creating it needs dialplan_number, voicemail_id, phone_full_name, "
     "local_gmt, outbound_cid, phone_pass, registration_password (declare them, or set them in phone_defaults)"),
], ids=["login is a live alias", "login held twice", "unknown server", "key taken", "other case elsewhere",
        "create lacks fields"])
def test_what_cannot_be_planned_safely_is_refused_with_its_reason(rows, aliases, want, problem):
    part = plan_phones([want], PhoneSettings(), state(*rows, aliases=aliases))
    assert part.problems == (problem,)
    assert part.actions == ()


def test_the_same_login_in_other_case_at_the_same_place_is_an_update_of_its_spelling():
    (update,) = plan_phones([declared()], PhoneSettings(), state(live(login="100A"))).actions
    assert update.after.fields == {"phone_login": "100a"}


def test_undeclared_phones_are_left_alone_unless_prune_and_never_when_ignored_or_protected():
    rows = (live(login="300a", extension="300"), live(login="test1", extension="900"),
            live(login="vip1", extension="901"))
    assert plan_phones([], PhoneSettings(), state(*rows)).unmanaged == ("300a", "test1", "vip1")
    part = plan_phones([], PhoneSettings(prune=True, ignore=("test*",), protected=("vip*",)), state(*rows))
    assert summary(part) == [("delete:phone:300a", "delete", ())]
    assert (part.ignored, part.protected) == (("test1",), ("vip1",))


def test_a_tombstone_deletes_every_row_holding_the_login():
    part = plan_phones([DesiredPhone("100a", None, None, present=False)], PhoneSettings(),
                       state(live(), live(extension="101")))
    assert [(a.key, a.before.extension) for a in part.actions] == [("delete:phone:100a#1", "100"),
                                                                   ("delete:phone:100a#2", "101")]


# ------------------------------------------------------------------ one graph for both kinds

def both(aliases, phones, current, prune_phones=False):
    alias_plan = plan_aliases(Desired(tuple(aliases)), current)
    part = plan_phones(phones, PhoneSettings(prune=prune_phones), current)
    return link(alias_plan.actions, part.actions, current)


def test_an_alias_naming_a_new_phone_waits_for_its_create():
    # VICIdial's own advice: add the phone entries first, then group them
    aliases, phones, problems = both([DesiredAlias("200", "Desk 200", ("200a", "200b"))],
                                     [declared("200a", "200"), declared("200b", "200", "10.10.10.16")], state())
    (create_alias,) = aliases
    assert create_alias.depends_on == ("create:phone:200a", "create:phone:200b")
    assert problems == ()


def test_a_phone_dropped_by_an_alias_update_is_deleted_only_after_the_update():
    current = state(live("200a", "200"), live("200b", "200", "10.10.10.16"),
                    aliases=(LiveAlias("200", "Desk 200", "200a,200b"),))
    aliases, phones, problems = both([DesiredAlias("200", "Desk 200", ("200a",))], [declared("200a", "200")],
                                     current, prune_phones=True)
    (update,) = aliases
    (delete,) = phones
    assert (delete.key, delete.depends_on) == ("delete:phone:200b", (update.key,))
    assert problems == ()


def test_deleting_a_phone_an_alias_that_stays_still_lists_is_refused():
    current = state(live("200a", "200"), live("200b", "200", "10.10.10.16"),
                    aliases=(LiveAlias("200", "Desk 200", "200a,200b"),))
    _, _, problems = both([], [declared("200a", "200")], current, prune_phones=True)
    assert problems == ("phone 200b: deleting it would leave alias(es) 200 listing it; drop it from them first "
                        "(in the files)",)


def test_a_replaced_phone_keeps_its_login_so_its_aliases_need_nothing():
    current = state(live("200a", "200"), aliases=(LiveAlias("200", "Desk 200", "200a"),))
    aliases, phones, problems = both([DesiredAlias("200", "Desk 200", ("200a",))],
                                     [declared("200a", "200", "10.10.10.16")], current)
    assert aliases == ()
    assert [(p.key, p.depends_on) for p in phones] == [("delete:phone:200a", ()),
                                                       ("create:phone:200a", ("delete:phone:200a",))]
    assert problems == ()


def test_the_planner_orders_a_station_phones_first_then_its_alias_and_counts_what_it_leaves():
    # station 200 on two servers: two phones, then the alias over them, in one graph
    desired = Desired((DesiredAlias("200", "Desk 200", ("200a", "200b")),),
                      phones=(declared("200a", "200"), declared("200b", "200", "10.10.10.16")))
    result = plan_aliases(desired, state(live("300a", "300")))
    assert [(a.key, a.depends_on) for a in result.actions] == [
        ("create:phone:200a", ()), ("create:phone:200b", ()),
        ("create:200", ("create:phone:200a", "create:phone:200b"))]
    assert result.phones.unmanaged == ("300a",)
    assert [w.code for w in result.warnings] == []     # 200a and 200b count as the phones they will be


def test_deleting_a_phone_and_an_alias_agents_log_in_with_names_each_by_its_kind():
    """Agent 1001's default login is phone 300c, agent 1002's is alias team7; prune would delete both.
    The warning and the refusal must say which is a phone, or a reviewer goes looking for an alias 300c."""
    desired = Desired((), Settings(prune=True, phones=PhoneSettings(prune=True)), phones=(declared(),))
    current = replace(state(live(), live("300c", "300")), aliases={"team7": LiveAlias("team7", "Team", "100a")},
                      agent_logins={"300c": ("1001",), "team7": ("1002",)})
    result = plan_aliases(desired, current)
    assert [(w.code, w.resource, w.name) for w in result.warnings if w.code == "in-use"] == [
        ("in-use", "alias", "team7"), ("in-use", "phone", "300c")]
    assert result.refusals == (
        "agents log in with 1 alias(es) and 1 phone(s) it deletes: team7 (users 1002); phone 300c (users 1001); "
        "deleting them leaves those agents without their default phone login; to delete them anyway, run with "
        "--allow-in-use-deletes",)


def test_a_phone_delete_whose_agents_cannot_be_checked_is_counted_as_a_phone():
    desired = Desired((), Settings(phones=PhoneSettings(prune=True)), phones=(declared(),))
    current = replace(state(live(), live("300c", "300")), agent_logins=None)
    result = plan_aliases(desired, current)
    assert [(w.code, w.resource, w.name) for w in result.warnings] == [("agents-unchecked", "phone", "300c")]
    assert result.refusals[0].startswith("the plan deletes 1 phone(s), but which agents log in with them cannot")


def test_a_phone_naming_a_conf_template_the_dialer_lacks_is_refused_and_one_it_has_is_planned():
    """VICIdial refuses an unknown template_id only when that call comes, after the writes before it:
    the plan refuses it up front instead, for a create and for an update that would send it."""
    with_template = {**FULL, "template_id": "SIP_generic"}
    known = replace(state(), templates=frozenset({"sip_generic"}))
    assert plan_phones([declared(fields=with_template)], PhoneSettings(), known).problems == ()
    unknown = replace(state(), templates=frozenset({"other"}))
    assert plan_phones([declared(fields=with_template)], PhoneSettings(), unknown).problems == (
        "phone 100a: template_id SIP_generic is not one of VICIdial's conf templates (vicidial_conf_templates)",)
    stored = replace(state(live()), templates=frozenset({"other"}))
    assert plan_phones([declared(fields=with_template)], PhoneSettings(), stored).problems == (
        "phone 100a: template_id SIP_generic is not one of VICIdial's conf templates (vicidial_conf_templates)",)
    # the live phone already holds it: nothing sends it, nothing to refuse (the template may have gone since)
    holding = replace(state(live(fields=with_template)), templates=frozenset({"other"}))
    assert plan_phones([declared(fields=with_template)], PhoneSettings(), holding).problems == ()
    # not read (no grant): VICIdial's own check is all there is
    assert plan_phones([declared(fields=with_template)], PhoneSettings(), state()).problems == ()


# ------------------------------------------------------------------ the details mutants showed unpinned

def test_a_saved_plan_reference_reads_back_only_as_written():
    assert SecretRef.parse("{env: AGENT_PHONE_PASS}") == PASS
    assert SecretRef.parse("{file: secrets/sip}") == SIP
    for text in ("{env: }", "{bogus: X}", "env AGENT_PHONE_PASS", "{env AGENT}"):
        with pytest.raises(ValueError, match="not a password reference"):
            SecretRef.parse(text)


def test_values_compare_by_content_not_by_where_they_were_written():
    from aliassync.core.model import Location

    here, there = Location("a.yaml", 1, 1), Location("b.yaml", 9, 3)
    assert declared(location=here) == declared(location=there)
    assert LivePhone("100a", "100", "10.10.10.15").fields == {} == phone_kind.PhoneValues("100a", "100", "x").fields


def test_changed_fields_come_in_the_order_vicidial_checks_them():
    # update_phone answers the first bad field; the plan lists them in that order (voicemail_id before active)
    change = phone_kind.field_changes(declared(fields={**FULL, "active": "N", "voicemail_id": "200"}), live())
    assert [name for name, _, _ in change.fields] == ["voicemail_id", "active"]


def test_a_password_the_database_did_not_compare_is_sent():
    # No comparison result (a login the reader did not compare) is never taken for "equal".
    row = LivePhone("100a", "100", "10.10.10.15", dict(FULL), {})
    assert phone_kind.field_changes(declared(), row).secrets == ("phone_pass", "registration_password")


def test_an_inactive_phone_is_created_then_updated_and_the_update_says_so():
    part = plan_phones([declared(fields={**FULL, "active": "N"})], PhoneSettings(), state())
    create, inactive = part.actions
    assert (inactive.key, inactive.depends_on, inactive.change) == (
        "update:phone:100a", ("create:phone:100a",), PhoneChange((("active", "Y", "N"),)))


def test_one_row_deleted_keeps_the_plain_key_and_rows_sharing_a_login_are_numbered():
    tombstone = DesiredPhone("100a", None, None, present=False)
    part = plan_phones([tombstone], PhoneSettings(), state(live()))
    assert [a.key for a in part.actions] == ["delete:phone:100a"]
    part = plan_phones([tombstone], PhoneSettings(), state(live(), live(server_ip="10.10.10.16")))
    assert [a.key for a in part.actions] == ["delete:phone:100a#1", "delete:phone:100a#2"]
    part = plan_phones([], PhoneSettings(prune=True), state(live(), live(server_ip="10.10.10.16")))
    assert [a.key for a in part.actions] == ["delete:phone:100a#1", "delete:phone:100a#2"]


def test_each_declared_phone_is_planned_whatever_came_before_it():
    # a tombstone, a refused phone and one lacking add_phone's fields, each before a phone to create
    phones = [DesiredPhone("100a", None, None, present=False), declared("100b", server_ip="10.10.10.99"),
              declared("100c", extension="101", fields={}), declared("100d", extension="102")]
    part = plan_phones(phones, PhoneSettings(), state(live()))
    assert [a.key for a in part.actions] == ["delete:phone:100a", "create:phone:100d"]
    assert [p.split(":")[0] for p in part.problems] == ["phone 100b", "phone 100c"]


def test_the_managed_live_phones_leave_out_the_unmanaged_and_the_ignored():
    rows = state(live("100a"), live("100b", extension="101"), live("test1", extension="102"),
                 live("200a", extension="103"))
    part = plan_phones([declared("100a")], PhoneSettings(ignore=("test*",)), rows)
    assert (part.unmanaged, part.ignored, part.managed_live) == (("100b", "200a"), ("test1",), 1)
    part = plan_phones([declared("100a")], PhoneSettings(prune=True, ignore=("test*",)), rows)
    assert part.managed_live == 3


def test_a_saved_plan_creating_a_phone_on_a_server_the_dialer_lost_is_refused():
    create = Action("create:phone:100a", "create", "100a", "declared", after=phone_kind.PhoneValues(
        "100a", "100", "10.10.10.99"), resource="phone")
    update = Action("update:phone:100a", "update", "100a", "declared", before=live(server_ip="10.10.10.99"),
                    after=phone_kind.PhoneValues("100a", "100", "10.10.10.99", {"email": "a@b.co"}), resource="phone")
    current = state()
    assert phone_kind.unknown_references(create, current) == ("phone 100a: server_ip 10.10.10.99 is not one of "
                                                              "VICIdial's servers")
    assert phone_kind.unknown_references(update, current) is None   # its key is the dialer's own row


def test_a_phone_delete_names_the_staying_alias_as_the_dialer_spells_it():
    part = plan_phones([DesiredPhone("100a", None, None, present=False)], PhoneSettings(),
                       state(live(), aliases=[LiveAlias("Sales1", "S", "100a,100b")]))
    _, _, problems = link((), part.actions, state(live(), aliases=[LiveAlias("Sales1", "S", "100a,100b")]))
    assert problems == ("phone 100a: deleting it would leave alias(es) Sales1 listing it; drop it from them "
                        "first (in the files)",)


def test_how_the_applier_judges_a_phone_row():
    row = live()
    create = Action("create:phone:100a", "create", "100a", "declared",
                    after=phone_kind.PhoneValues("100a", "100", "10.10.10.15", {"protocol": "SIP"}), resource="phone")
    delete = Action("delete:phone:100a", "delete", "100a", "prune", before=row, resource="phone")
    renamed = Action("update:phone:100a", "update", "100A", "declared", before=row,
                     after=phone_kind.PhoneValues("100A", "100", "10.10.10.15", {"phone_login": "100A"}),
                     resource="phone")
    assert phone_kind.matches(row, create) and not phone_kind.matches(None, create)
    assert not phone_kind.matches(live(server_ip="10.10.10.16"), create)
    assert not phone_kind.matches(live(fields={**FULL, "protocol": "IAX2"}), create)
    assert phone_kind.matches(None, delete) and not phone_kind.matches(row, delete)
    assert not phone_kind.matches(row, renamed) and phone_kind.matches(live("100A"), renamed)
    assert phone_kind.same(None, None) and not phone_kind.same(None, row) and not phone_kind.same(row, None)
    assert phone_kind.row_for(create, [live(server_ip="10.10.10.16"), row]) is row
    assert phone_kind.shown(None) == phone_kind.asked(delete) == "no such phone"
    assert phone_kind.asked(create) == "phone 100a at extension 100 on 10.10.10.15 (protocol 'SIP')"
    assert phone_kind.shown(LivePhone("100a", "100", "10.10.10.15", {"email": "a@b.co"})) == \
        "phone 100a at extension 100 on 10.10.10.15 (email 'a@b.co')"


def test_both_readers_group_phones_by_folded_login_those_sharing_one_by_server_then_extension():
    # VICIdial does not forbid two phones one login; which one a check reads must not depend on the
    # order the database or the admin screens listed them in
    a = live("200A", "200", "10.10.10.16")
    b = live("200a", "201", "10.10.10.15")
    c = live("200a", "Z200", "10.10.10.15")
    d = live("200a", "y200", "10.10.10.15")
    single = live("300a", "300")
    grouped = phone_kind.by_login([a, single, c, b, d])
    assert list(grouped) == ["200a", "300a"]
    assert grouped["300a"] == (single,)
    assert grouped["200a"] == (b, d, c, a)           # server, then extension folded (y < Z)
    assert phone_kind.by_login([a, b]) == {"200a": (b, a)}
    assert phone_kind.by_login([]) == {}


def test_an_update_of_a_phone_a_staying_alias_lists_is_not_taken_for_a_delete():
    row = live(fields={**FULL, "phone_full_name": "Old desk"})
    current = state(row, aliases=[LiveAlias("sales", "Sales", "100a")])
    part = plan_phones([declared()], PhoneSettings(), current)
    (update,) = part.actions
    assert update.kind == "update"
    _, linked, problems = link((), part.actions, current)
    assert problems == () and linked == (update,)
