"""Warnings VICIdial never gives, each naming its alias."""
from aliassync.core.checks import warnings
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, Settings
from aliassync.core.phone import DesiredPhone, LivePhone, SecretRef

PHONES = [Phone("100a", True, pass_group=1), Phone("100b", True, pass_group=1),
          Phone("100c", False, pass_group=1), Phone("200a", True, pass_group=2), Phone("sales9", True)]


def found(*aliases, live=(), ignore=()):
    desired = Desired(tuple(aliases), Settings(ignore=tuple(ignore)))
    return [(w.code, w.name, w.message) for w in warnings(desired, Current.build(live, PHONES))]


def test_a_clean_alias_has_no_warning():
    assert found(DesiredAlias("sales1", "Sales", ("100a", "100B"))) == []


def test_an_id_with_dash_or_underscore_cannot_be_typed_by_agents():
    assert found(DesiredAlias("sales_1", "Sales", ("100a", "100b"))) == [
        ("untypeable-id", "sales_1",
         "the id holds '-' or '_', which the agent screen strips: agents cannot log in with it")]


def test_an_id_equal_to_a_phone_login_hides_the_phone():
    assert found(DesiredAlias("SALES9", "Sales", ("100a", "100b"))) == [
        ("hides-phone", "SALES9",
         "the id equals phone login sales9; agents can no longer log in to that phone directly")]


def test_inactive_members_missing_phones_and_mixed_passwords():
    assert found(DesiredAlias("sales1", "Sales", ("100a", "100c", "200a", "999z"))) == [
        ("missing-phone", "sales1", "not a phone: 999z (apply refuses any write of this alias)"),
        ("inactive-member", "sales1", "inactive phone: 100c (agents picked for it cannot log in)"),
        ("mixed-passwords", "sales1",
         "member phones do not all share one password; agent logins will fail at random"),
    ]


def test_a_live_alias_listing_logins_that_are_no_longer_phones():
    live = [LiveAlias("old1", "Old", "100a,gone1, 100b,"), LiveAlias("tmp1", "Tmp", "gone2")]
    assert found(live=live, ignore=["tmp*"]) == [
        ("dangling-member", "old1", "the live alias lists logins that are not phones: gone1, ' 100b', ''")]


# ------------------------------------------------------------------ members as they will be once applied

AGENT_PASS, OTHER_PASS = SecretRef("env", "AGENT_PASS"), SecretRef("env", "OTHER_PASS")


def found_with_phones(alias, declared, stored, matches=None):
    """`stored`: (login, active, pass_group) rows on the dialer; `matches`: login -> whether the database
    said the stored phone_pass equals the declared one (only for declared phones with a live row)."""
    phones = [Phone(login, active, group) for login, active, group in stored]
    rows = {login.lower(): (LivePhone(login, login[:-1], "10.10.10.15", {"active": "Y" if active else "N"},
                                      {"phone_pass": (matches or {}).get(login, False)}),)
            for login, active, _ in stored}
    current = Current.build((), phones)
    current = Current(current.aliases, current.phones, current.agent_logins, phone_rows=rows)
    desired = Desired((alias,), Settings(), phones=tuple(declared))
    return [(w.code, w.message) for w in warnings(desired, current)]


def declared(login, ref=None, active=None):
    return DesiredPhone(login, login[:-1], "10.10.10.15", {} if active is None else {"active": active},
                        {} if ref is None else {"phone_pass": ref})


MIXED = ("mixed-passwords", "member phones do not all share one password; agent logins will fail at random")


def test_a_declared_password_the_database_found_equal_is_the_one_undeclared_members_share():
    # 300a declares AGENT_PASS and already holds it (compared inside the database); 300b is not
    # declared and holds the same stored password: one password, no warning.
    alias = DesiredAlias("desk300", "Desk", ("300a", "300b"))
    assert found_with_phones(alias, [declared("300a", AGENT_PASS)], [("300a", True, 1), ("300b", True, 1)],
                             matches={"300a": True}) == []
    # The same, but 300a's stored password differs from AGENT_PASS: once applied, 300a holds AGENT_PASS and
    # 300b still the old one.
    assert found_with_phones(alias, [declared("300a", AGENT_PASS)], [("300a", True, 1), ("300b", True, 1)],
                             matches={"300a": False}) == [MIXED]


def test_a_declared_phone_without_a_password_keeps_its_stored_one():
    # 300a is declared for its fields only: its stored password (group 2) stays, and differs from 300b's.
    alias = DesiredAlias("desk300", "Desk", ("300a", "300b"))
    assert found_with_phones(alias, [declared("300a")], [("300a", True, 2), ("300b", True, 1)]) == [MIXED]
    assert found_with_phones(alias, [declared("300a")], [("300a", True, 1), ("300b", True, 1)]) == []


def test_declared_phones_share_a_password_when_they_share_a_reference():
    alias = DesiredAlias("desk300", "Desk", ("300a", "300b"))
    assert found_with_phones(alias, [declared("300a", AGENT_PASS), declared("300b", AGENT_PASS)], []) == []
    assert found_with_phones(alias, [declared("300a", AGENT_PASS), declared("300b", OTHER_PASS)], []) == [MIXED]


def test_a_member_is_inactive_as_declared_else_as_it_is_on_the_dialer():
    alias = DesiredAlias("desk300", "Desk", ("300a", "300b"))
    inactive = ("inactive-member", "inactive phone: 300a (agents picked for it cannot log in)")
    stored = [("300a", False, 1), ("300b", True, 1)]
    assert found_with_phones(alias, [declared("300a")], stored) == [inactive]            # not declared: stays N
    assert found_with_phones(alias, [declared("300a", active="Y")], stored) == []        # declared active
    assert found_with_phones(alias, [declared("300a", active="N")], [("300b", True, 1)]) == [inactive]


def test_a_dash_in_an_id_cannot_be_typed_either():
    assert found(DesiredAlias("sales-1", "Sales", ("100a", "100b"))) == [
        ("untypeable-id", "sales-1",
         "the id holds '-' or '_', which the agent screen strips: agents cannot log in with it")]


def test_an_ignored_live_alias_does_not_hide_the_dangling_members_of_those_after_it():
    live = [LiveAlias("old1", "Old", "gone1"), LiveAlias("tmp1", "Tmp", "gone2"), LiveAlias("zz1", "Z", "gone3")]
    assert [(code, name) for code, name, _ in found(live=live, ignore=["tmp*"])] == [
        ("dangling-member", "old1"), ("dangling-member", "zz1")]


def test_warnings_come_in_the_order_of_the_ids_whatever_their_case():
    assert [name for _, name, _ in found(DesiredAlias("Beta_1", "B", ("100a",)),
                                         DesiredAlias("alpha_1", "A", ("100a",)))] == ["alpha_1", "Beta_1"]
