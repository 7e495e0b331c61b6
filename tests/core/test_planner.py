"""The planner: a pure function, tested exactly."""
import deepdiff
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aliassync.errors import PlanError
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, Settings
from aliassync.core.plan import AliasChange, AliasValues
from aliassync.core.planner import ALL_CREATES, ALL_UPDATES, describe_change, plan

PHONES = [Phone(login, True) for login in ("a", "b", "c", "d")]


def desired(*aliases, **settings) -> Desired:
    return Desired(tuple(aliases), Settings(**settings))


def current(*aliases) -> Current:
    return Current.build(aliases, PHONES)


def test_nothing_to_do_when_equal():
    result = plan(desired(DesiredAlias("s1", "Sales", ("a", "b"))), current(LiveAlias("s1", "Sales", "a,b")))
    assert result.actions == ()
    assert result.in_sync == ("s1",)


def test_create_for_a_declared_alias_that_does_not_exist():
    (action,) = plan(desired(DesiredAlias("s1", "Sales", ("a", "b"))), current()).actions
    assert (action.key, action.kind, action.name, action.depends_on) == ("create:s1", "create", "s1", ())
    assert action.after == AliasValues("s1", "Sales", ("a", "b"))


def test_replacing_one_member_is_one_update_carrying_the_full_list_in_order():
    (action,) = plan(desired(DesiredAlias("s1", "Sales", ("c", "b"))),
                     current(LiveAlias("s1", "Sales", "a,b"))).actions
    assert action.kind == "update"
    assert action.after.logins_list == "c,b"
    assert action.change == AliasChange(name=None, added=("c",), removed=("a",), reordered=False)


def test_a_reorder_is_a_change_because_vicidial_uses_the_order():
    (action,) = plan(desired(DesiredAlias("s1", "Sales", ("b", "a"))),
                     current(LiveAlias("s1", "Sales", "a,b"))).actions
    assert action.after.logins_list == "b,a"
    assert action.change == AliasChange(reordered=True)


def test_a_rename_shows_both_names():
    (action,) = plan(desired(DesiredAlias("s1", "Sales two", ("a",  "b"))),
                     current(LiveAlias("s1", "Sales", "a,b"))).actions
    assert action.change == AliasChange(name=("Sales", "Sales two"))


def test_members_added_removed_and_moved_together():
    (action,) = plan(desired(DesiredAlias("s1", "S", ("d", "b", "a"))),
                     current(LiveAlias("s1", "S", "a,b,c"))).actions
    assert action.change == AliasChange(added=("d",), removed=("c",), reordered=True)


def test_tombstone_deletes_only_what_exists_after_all_creates_and_updates():
    result = plan(desired(DesiredAlias("r7", None, (), present=False), DesiredAlias("r8", None, (), present=False)),
                  current(LiveAlias("R7", "Old", "a")))
    (action,) = result.actions
    assert (action.kind, action.name, action.reason) == ("delete", "R7", "ensure: absent")
    assert action.depends_on == (ALL_CREATES, ALL_UPDATES)


def test_prune_off_leaves_undeclared_aliases_alone():
    result = plan(desired(), current(LiveAlias("x1", "X", "a"), LiveAlias("tmp1", "T", "a")))
    assert result.actions == ()
    assert result.unmanaged == ("tmp1", "x1")


def test_prune_on_deletes_undeclared_but_never_ignored_or_protected():
    live = current(LiveAlias("x1", "X", "a"), LiveAlias("TMP1", "T", "a"), LiveAlias("vip1", "V", "a"))
    result = plan(desired(prune=True, ignore=("tmp*",), protected=("VIP*",)), live)
    assert [(a.kind, a.name, a.reason) for a in result.actions] == [("delete", "x1", "prune: not declared")]
    assert result.ignored == ("TMP1",)
    assert result.protected == ("vip1",)
    assert result.unmanaged == ()
    assert result.managed_live == 2   # x1 and vip1: ignored aliases are not managed


def test_an_id_whose_case_differs_is_replaced_delete_first():
    result = plan(desired(DesiredAlias("sales1", "Sales", ("a", "b"))), current(LiveAlias("SALES1", "Sales", "a,b")))
    delete, create = result.actions
    assert (delete.kind, delete.name, delete.key) == ("delete", "SALES1", "delete:sales1")
    assert delete.depends_on == (ALL_UPDATES,)
    assert (create.kind, create.name, create.depends_on) == ("create", "sales1", ("delete:sales1",))
    assert create.reason == "id case changes from SALES1 to sales1"


def test_a_case_change_of_a_protected_alias_is_refused():
    with pytest.raises(PlanError) as caught:
        plan(desired(DesiredAlias("vip1", "V", ("a", "b")), protected=("vip*",)),
             current(LiveAlias("VIP1", "V", "a,b")))
    assert str(caught.value) == ("alias vip1: the live id is spelled VIP1; changing its case needs a delete, "
                                 "but VIP1 matches protected pattern 'vip*'")


def test_actions_are_listed_by_alias_id():
    result = plan(desired(DesiredAlias("b2", "B", ("a", "b")), DesiredAlias("a1", "A", ("a", "b")),
                          DesiredAlias("c3", "C", ("a", "b"))),
                  current(LiveAlias("c3", "C", "b,a")))
    assert [a.key for a in result.actions] == ["create:a1", "create:b2", "update:c3"]


def test_a_live_list_with_spaces_or_empty_items_is_an_update_to_the_clean_list():
    (action,) = plan(desired(DesiredAlias("s1", "S", ("a", "b"))), current(LiveAlias("s1", "S", "a,,b "))).actions
    assert action.before.phone_logins == ("a", "", "b ")
    assert action.change == AliasChange(added=("b",), removed=("", "b "))


def test_equal_aliases_are_never_described(monkeypatch):
    import aliassync.core.planner as planner

    def boom(*args, **kwargs):
        raise AssertionError("describe_change called for an unchanged alias")

    monkeypatch.setattr(planner, "describe_change", boom)
    aliases = [DesiredAlias(f"a{i}", "Name", ("a", "b")) for i in range(1000)]
    live = [LiveAlias(f"a{i}", "Name", "a,b") for i in range(1000)]
    assert plan(desired(*aliases), current(*live)).in_sync == tuple(sorted(a.alias_id for a in aliases))


def test_a_member_listed_twice_on_the_dialer_is_shown_removed_twice_at_its_first_place():
    change = describe_change(LiveAlias("s1", "S", "a,c,b,c"), DesiredAlias("s1", "S", ("b", "a")))
    assert change == AliasChange(removed=("c", "c"), reordered=True)


# The members as the dialer may hold them: repeats, empty items, spaces, case variants.
_LIVE_ITEM = st.sampled_from(["a", "b", "c", "A", "ab", "", " a", "a ", "100", "0100", "8000001", "8000002"])
_DECLARED = st.lists(st.sampled_from(["a", "b", "c", "A", "ab", "100", "0100", "8000001", "8000003"]),
                     min_size=1, max_size=8, unique=True)


@settings(max_examples=500, deadline=None)
@given(live=st.lists(_LIVE_ITEM, max_size=9), declared=_DECLARED, renamed=st.booleans())
def test_describe_change_reads_a_change_as_deepdiff_did(live, declared, renamed):
    """describe_change replaced DeepDiff(ignore_order, report_repetition), 700 times slower; same answers."""
    stored = LiveAlias("s1", "S", ",".join(live))
    before = {"alias_name": "S", "phone_logins": list(stored.phone_logins)}
    after = {"alias_name": "T" if renamed else "S", "phone_logins": declared}
    diff = deepdiff.DeepDiff(before, after, ignore_order=True, report_repetition=True, view="tree")
    added = tuple(item.t2 for item in diff.get("iterable_item_added", ()))
    removed = tuple(item.t1 for item in diff.get("iterable_item_removed", ()))
    for item in diff.get("values_changed", ()):
        if item.path(output_format="list")[0] == "phone_logins":
            added, removed = added + (item.t2,), removed + (item.t1,)

    change = describe_change(stored, DesiredAlias("s1", after["alias_name"], tuple(declared)))

    assert (change.added, change.removed) == (added, removed)
    assert change.name == (("S", "T") if renamed else None)


def test_declared_phones_are_never_planned_against_phones_that_were_not_read():
    # planning phones against an unread table would create every one of them
    from aliassync.core.phone import DesiredPhone

    with pytest.raises(PlanError) as refused:
        plan(Desired((), phones=(DesiredPhone("100a", "100", "10.10.10.15"),)), current())
    assert str(refused.value) == "1 phone(s) are declared (phones: or stations:), but the live phones were not read"
