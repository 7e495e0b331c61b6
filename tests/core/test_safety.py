"""Safety behaviours of the plan, narrated: what an operator would lose if each one broke.

Each test is one behaviour the planner, the graph and the delete limits
owe a user: deletes that wait for what must come first, and limits that
trip exactly where the settings say.
"""
import pytest

from aliassync.core import graph, refusals
from aliassync.core.graph import ActionResult
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, PhoneSettings, Settings
from aliassync.core.phone import DesiredPhone, LivePhone, SecretRef
from aliassync.core.planner import ALL_CREATES, ALL_UPDATES, plan
from aliassync.errors import PlanError

PHONES = [Phone(login, True) for login in ("a", "b", "c", "d")]
FIELDS = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk", "protocol": "SIP",
          "local_gmt": "-5.00", "outbound_cid": "3125550100"}
PASS = SecretRef("env", "AGENT_PHONE_PASS")


def aliases(*ids):
    return [LiveAlias(alias_id, "Live", "a") for alias_id in ids]


def keys(result):
    return [(a.key, a.depends_on) for a in result.actions]


# ------------------------------------------------------------------ prune deletes wait for creates and updates

def test_prune_deletes_wait_for_every_create_and_update():
    # Agents move from old1 to new1 and to the updated keep1 in the same apply. If old1 went first and the
    # create or update then failed, the agents would have no alias at all: the prune delete waits for both.
    desired = Desired((DesiredAlias("new1", "New", ("a",)), DesiredAlias("keep1", "Keep", ("a", "b"))),
                      Settings(prune=True))
    result = plan(desired, Current.build(aliases("keep1", "old1"), PHONES))
    assert sorted(keys(result)) == [("create:new1", ()), ("delete:old1", (ALL_CREATES, ALL_UPDATES)),
                                    ("update:keep1", ())]


def test_a_prune_delete_is_not_run_when_a_create_before_it_fails():
    desired = Desired((DesiredAlias("new1", "New", ("a",)), DesiredAlias("keep1", "Keep", ("a", "b"))),
                      Settings(prune=True))
    result = plan(desired, Current.build(aliases("keep1", "old1"), PHONES))
    seen = []

    def perform(action):
        seen.append(action.key)
        return ActionResult(action, "failed" if action.key == "create:new1" else "done", "refused")

    outcome = {r.action.key: (r.status, r.message) for r in graph.run(result.actions, perform, workers=4)}
    assert outcome["delete:old1"] == ("skipped", "not run: create:new1 ended failed")
    assert "delete:old1" not in seen


def test_a_phone_prune_delete_waits_for_the_alias_updates_that_drop_it():
    # 300c is dropped from team3 and pruned: the alias must stop listing it before it goes, or agents picked
    # for 300c in between cannot log in.
    rows = {"300c": (LivePhone("300c", "300", "10.10.10.17", FIELDS),),
            "300d": (LivePhone("300d", "300", "10.10.10.16", FIELDS),)}
    live = Current.build(aliases("team3"), [Phone("300c", True), Phone("300d", True)], [])
    live = Current({"team3": LiveAlias("team3", "Team", "300c,300d")}, live.phones, live.agent_logins, rows,
                   frozenset({"10.10.10.16", "10.10.10.17"}))
    desired = Desired((DesiredAlias("team3", "Team", ("300d",)),),
                      Settings(phones=PhoneSettings(prune=True)), phones=(DesiredPhone("300d", "300", "10.10.10.16",
                                                                                        FIELDS),))
    result = plan(desired, live)
    assert keys(result) == [("update:team3", ()), ("delete:phone:300c", ("update:team3",))]


# ------------------------------------------------------------------ delete limits, at their boundaries

def limited(deletes, live_count, *, max_deletes=None, percent=None, allow=None, unmanaged=0, ignored=0):
    """A pruning plan deleting `deletes` of `live_count` managed live aliases (plus unmanaged/ignored ones)."""
    live = aliases(*[f"m{n}" for n in range(live_count)], *[f"tmp{n}" for n in range(ignored)])
    kept = [DesiredAlias(f"m{n}", "Live", ("a",)) for n in range(deletes, live_count)]
    settings = Settings(prune=unmanaged == 0, ignore=("tmp*",), max_deletes=max_deletes, max_delete_percent=percent)
    result = plan(Desired(tuple(kept), settings), Current.build(live, PHONES))
    if unmanaged:   # prune off: what is not declared is unmanaged, not deleted; deletes come from ensure: absent
        gone = [DesiredAlias(f"m{n}", None, (), present=False) for n in range(deletes)]
        extra = aliases(*[f"u{n}" for n in range(unmanaged)])
        result = plan(Desired(tuple(kept + gone), settings), Current.build(live + extra, PHONES))
    assert result.count("delete") == deletes
    return refusals.delete_limit(result, max_deletes, percent, allow)


def test_max_deletes_allows_exactly_that_many_and_refuses_one_more():
    assert limited(10, 40, max_deletes=10) is None          # ten is fine
    assert limited(11, 40, max_deletes=10) == ("11 deletes is over max_deletes 10; to allow it, run with "
                                               "--allow-deletes 11")


def test_max_deletes_zero_refuses_a_single_delete():
    assert limited(1, 5, max_deletes=0) == "1 deletes is over max_deletes 0; to allow it, run with --allow-deletes 1"
    assert limited(0, 5, max_deletes=0) is None


def test_allow_deletes_allows_up_to_its_number():
    assert limited(11, 40, max_deletes=10, allow=11) is None
    assert limited(12, 40, max_deletes=10, allow=11) == ("12 deletes is over max_deletes 10; to allow it, run with "
                                                         "--allow-deletes 12")


def test_max_delete_percent_allows_exactly_that_share_and_refuses_more():
    assert limited(5, 20, percent=25) is None                # 25.0% of 20 is allowed
    assert limited(6, 20, percent=25) == ("deleting 6 of the 20 managed live aliases (30.0%) is over "
                                          "max_delete_percent 25; to allow it, run with --allow-deletes 6")


def test_the_percentage_is_of_managed_aliases_not_of_those_left_alone():
    # 4 deletes among 10 managed aliases is 40%, however many ignored or unmanaged aliases the dialer also holds:
    # counting those would let a plan wipe out most of what the files manage.
    assert limited(4, 10, percent=30, ignored=90) == ("deleting 4 of the 10 managed live aliases (40.0%) is over "
                                                      "max_delete_percent 30; to allow it, run with --allow-deletes 4")
    assert limited(4, 10, percent=30, unmanaged=90) == ("deleting 4 of the 10 managed live aliases (40.0%) is over "
                                                        "max_delete_percent 30; to allow it, run with --allow-deletes 4")


def phone_plan(deleted_phones, live_phones, settings, deleted_aliases=0):
    """A plan pruning `deleted_phones` of `live_phones` managed phones and `deleted_aliases` of 10 aliases."""
    rows = {f"p{n}": (LivePhone(f"p{n}", f"{100 + n}", "10.10.10.15", FIELDS),) for n in range(live_phones)}
    live = Current.build(aliases(*[f"m{n}" for n in range(10)]), [Phone(f"p{n}", True) for n in range(live_phones)])
    live = Current(live.aliases, live.phones, {}, rows, frozenset({"10.10.10.15"}))
    kept = tuple(DesiredPhone(f"p{n}", f"{100 + n}", "10.10.10.15", FIELDS) for n in range(deleted_phones, live_phones))
    desired = Desired(tuple(DesiredAlias(f"m{n}", "Live", ("a",)) for n in range(deleted_aliases, 10)), settings,
                      phones=kept)
    return plan(desired, live)


def test_max_delete_percent_judges_phones_against_the_managed_live_phones():
    # 3 phone deletes among 30 managed phones is 10%, not 30% of the 10 live aliases.
    settings = Settings(max_delete_percent=20, phones=PhoneSettings(prune=True))
    result = phone_plan(3, 30, settings)
    assert result.count("delete", "phone") == 3 and result.phones.managed_live == 30
    assert refusals.delete_limit(result, None, 20) is None
    assert result.refusals == ()
    result = phone_plan(7, 30, settings)
    assert refusals.delete_limit(result, None, 20) == (
        "deleting 7 of the 30 managed live phones (23.3%) is over max_delete_percent 20; to allow it, run with "
        "--allow-deletes 7")


def test_max_deletes_counts_aliases_and_phones_together():
    # two phones and one alias go: three deletes, whatever their kinds
    result = phone_plan(2, 30, Settings(prune=True, phones=PhoneSettings(prune=True)), deleted_aliases=1)
    assert (result.count("delete", "alias"), result.count("delete", "phone")) == (1, 2)
    assert refusals.delete_limit(result, 3, None) is None
    assert refusals.delete_limit(result, 2, None) == "3 deletes is over max_deletes 2; to allow it, run with " \
                                                     "--allow-deletes 3"


@pytest.mark.parametrize("deletes, allowed", [(0, True), (1, False)])
def test_a_plan_says_apply_will_refuse_what_the_limits_refuse(deletes, allowed):
    result = plan(Desired(tuple(DesiredAlias(f"m{n}", "Live", ("a",)) for n in range(deletes, 5)),
                          Settings(prune=True, max_deletes=0)),
                  Current.build(aliases(*[f"m{n}" for n in range(5)]), PHONES))
    assert (result.refusals == ()) is allowed


# ------------------------------------------------------------------ agents' default logins

def agents_plan(desired_aliases, live, agents, prune=False):
    current = Current.build(live, PHONES, agents)
    return plan(Desired(tuple(desired_aliases), Settings(prune=prune)), current), current


def test_deleting_an_alias_an_agent_logs_in_with_is_refused_but_changing_its_case_or_members_is_not():
    # agent7's default phone login is sales1. Deleting sales1 strands them; respelling it SALES1 (delete, then
    # create again under the same case-insensitive name) or updating its members does not.
    live = [LiveAlias("sales1", "Sales", "a"), LiveAlias("team2", "Team", "a")]
    agents = [("agent7", "sales1"), ("agent8", "team2")]
    result, current = agents_plan([DesiredAlias("SALES1", "Sales", ("a",)), DesiredAlias("team2", "Team", ("b",))],
                                  live, agents)
    assert [a.key for a in result.actions] == ["delete:sales1", "create:sales1", "update:team2"]
    assert refusals.guarded_deletes(result) == []
    assert refusals.agents_stranded(result, current, False) is None
    result, current = agents_plan([DesiredAlias("team2", "Team", ("a",)), DesiredAlias("sales1", None, (),
                                                                                         present=False)],
                                  live, agents)
    assert refusals.agents_stranded(result, current, False) == (
        "agents log in with 1 alias(es) it deletes: sales1 (users agent7); deleting them leaves those agents "
        "without their default phone login; to delete them anyway, run with --allow-in-use-deletes")
    assert refusals.agents_stranded(result, current, True) is None


@pytest.mark.parametrize("count, listed", [
    (5, "u1, u2, u3, u4, u5"), (6, "u1, u2, u3, u4, u5 and 1 more"), (8, "u1, u2, u3, u4, u5 and 3 more")])
def test_a_refusal_names_five_users_and_counts_the_rest(count, listed):
    agents = [(f"u{n}", "sales1") for n in range(1, count + 1)]
    result, current = agents_plan([DesiredAlias("sales1", None, (), present=False)],
                                  [LiveAlias("sales1", "Sales", "a")], agents)
    assert f"sales1 (users {listed});" in refusals.agents_stranded(result, current, False)


# ------------------------------------------------------------------ what the planner refuses, and keeps

def test_every_problem_of_a_plan_is_named_in_one_refusal():
    # Two aliases the planner cannot act on: both are named at once, not one per run.
    live = Current.build([LiveAlias("pad1 ", "Pad", "a"), LiveAlias("vip1", "V", "a"), LiveAlias("pad2 ", "Pad", "a"),
                          LiveAlias("vip2", "V", "a")], PHONES, [])
    desired = Desired((DesiredAlias("pad1", "Pad", ("a",)), DesiredAlias("VIP1", "V", ("a",)),
                       DesiredAlias("pad2", "Pad", ("a",)), DesiredAlias("VIP2", "V", ("a",))),
                      Settings(protected=("vip*",)))
    with pytest.raises(PlanError) as caught:
        plan(desired, live)
    assert str(caught.value).count("; alias ") == 3
    assert str(caught.value).startswith("alias pad1: the dialer holds alias 'pad1 '")
    assert "alias VIP2: the live id is spelled vip2; changing its case needs a delete, but vip2 matches " \
           "protected pattern 'vip*'" in str(caught.value)


def test_a_phone_problem_refuses_the_whole_plan():
    rows = {"100a": (LivePhone("100a", "100", "10.10.10.15", FIELDS),)}
    live = Current.build([], [Phone("100a", True)], [])
    live = Current(live.aliases, live.phones, {}, rows, frozenset({"10.10.10.15"}))
    desired = Desired((DesiredAlias("s1", "S", ("100a",)),), Settings(),
                      phones=(DesiredPhone("100a", "100", "10.10.10.99", FIELDS),))
    with pytest.raises(PlanError) as caught:
        plan(desired, live)
    assert str(caught.value) == "phone 100a: server_ip 10.10.10.99 is not one of VICIdial's servers"


def test_deletes_keep_the_row_they_delete_and_a_respelled_alias_what_it_becomes():
    # The row a delete saw is what apply checks just before the write (a conflict otherwise) and what a
    # saved plan fingerprints: an ensure: absent delete and an id case change carry it.
    live = [LiveAlias("old7", "Old", "a"), LiveAlias("sales1", "Sales", "a,b")]
    result = plan(Desired((DesiredAlias("old7", None, (), present=False), DesiredAlias("SALES1", "Sales", ("b",))),
                          Settings()), Current.build(live, PHONES, []))
    by_key = {a.key: a for a in result.actions}
    assert by_key["delete:old7"].before == live[0]
    assert by_key["delete:sales1"].before == live[1]
    assert by_key["create:sales1"].after.alias_id == "SALES1"
    assert by_key["create:sales1"].after.phone_logins == ("b",)


def test_a_phone_replacement_is_shown_delete_then_create_before_the_aliases_and_prunes_last():
    # Whatever the names' order (a300 < desk1 < p100): phones to create or move, then aliases, then prunes.
    rows = {"p100": (LivePhone("p100", "101", "10.10.10.15", FIELDS),),
            "a300": (LivePhone("a300", "300", "10.10.10.15", FIELDS),)}
    live = Current.build([LiveAlias("desk1", "S", "p100")], [Phone("p100", True), Phone("a300", True)], [])
    live = Current(live.aliases, live.phones, {}, rows, frozenset({"10.10.10.15"}))
    desired = Desired((DesiredAlias("desk1", "Sales", ("p100",)),), Settings(phones=PhoneSettings(prune=True)),
                      phones=(DesiredPhone("p100", "100", "10.10.10.15", FIELDS,
                                           {"phone_pass": PASS, "registration_password": PASS}),))
    result = plan(desired, live)
    assert [a.key for a in result.actions] == ["delete:phone:p100", "create:phone:p100", "update:desk1",
                                               "delete:phone:a300"]
