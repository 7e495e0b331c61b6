"""Warnings VICIdial never gives, each naming its alias."""
from aliassync.core.checks import warnings
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, Settings

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
