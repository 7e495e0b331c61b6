"""The applier against an in-memory target: preflight, order, outcomes, read-back."""
import pytest

from aliassync.workflow.applier import (Applier, ApplyOptions, Interruption, check_delete_limits, check_passwords,
                                        check_references, missing_phones, preflight)
from aliassync.errors import AliassyncError, RefusedError, TargetError
from aliassync.core.model import Desired, DesiredAlias, LiveAlias, Settings
from aliassync.core.planner import plan
from aliassync.core.target import WriteOutcome

from fakes import FakeVicidial


def plan_for(vicidial, *aliases, **settings):
    return plan(Desired(tuple(aliases), Settings(**settings)), vicidial.read())


def apply(vicidial, the_plan, sleeps=None, **options):
    sleep = (sleeps.append if sleeps is not None else lambda seconds: None)
    return Applier(vicidial, vicidial, ApplyOptions(**options), sleep=sleep).apply(the_plan)


def test_a_member_that_is_not_a_phone_refuses_the_whole_apply_and_lists_every_one():
    vicidial = FakeVicidial(aliases=[LiveAlias("s1", "S", "a,b")])
    the_plan = plan_for(vicidial, DesiredAlias("s0", "Zero", ("a", "b")),
                        DesiredAlias("s1", "S", ("x", "b")), DesiredAlias("s2", "T", ("y", "x")))
    with pytest.raises(RefusedError) as caught:
        preflight(the_plan, vicidial.read(), None, None, ApplyOptions())
    assert str(caught.value) == ("apply refused, nothing written: 2 login(s) are not phones: "
                                 "x (in s1, s2); y (in s2)")
    assert vicidial.calls == []


def test_logins_are_matched_to_phones_case_insensitively():
    # VICIdial's collation matches 100A to phone 100a: refusing it would block a valid plan; a login that
    # differs by more than case is still refused.
    vicidial = FakeVicidial(phones=("100a", "100B"))
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("100A", "100b")))
    assert missing_phones(the_plan, vicidial.read()) == {}
    assert preflight(the_plan, vicidial.read(), None, None, ApplyOptions()) is None
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("100A", "100c")))
    assert missing_phones(the_plan, vicidial.read()) == {"100c": ["s1"]}


def test_creates_and_updates_run_before_deletes_and_all_land():
    vicidial = FakeVicidial(aliases=[LiveAlias("old", "O", "a"), LiveAlias("s1", "S", "a,b")])
    the_plan = plan_for(vicidial, DesiredAlias("old", None, (), present=False),
                        DesiredAlias("s1", "S", ("c", "b")), DesiredAlias("s2", "T", ("a", "b")))
    report = apply(vicidial, the_plan)
    assert vicidial.calls == [("update", "s1"), ("create", "s2"), ("delete", "old")]
    assert report.counts == {"done": 3, "failed": 0, "skipped": 0, "conflict": 0, "unknown": 0}
    assert vicidial.aliases["s1"].logins_list == "c,b"


def test_a_failed_update_keeps_every_delete_from_running():
    vicidial = FakeVicidial(aliases=[LiveAlias("old", "O", "a"), LiveAlias("s1", "S", "a,b")])
    vicidial.script["update:s1"] = [WriteOutcome("refused", "ERROR: update_phone_alias PHONE DOES NOT EXIST: |u|c",
                                                 final=True)]
    the_plan = plan_for(vicidial, DesiredAlias("old", None, (), present=False),
                        DesiredAlias("s1", "S", ("c", "b")), DesiredAlias("s2", "T", ("a", "b")))
    report = apply(vicidial, the_plan)
    assert [(r.action.key, r.status) for r in report.results] == [
        ("delete:old", "skipped"), ("update:s1", "failed"), ("create:s2", "done")]
    assert "old" in vicidial.aliases


def test_a_case_change_deletes_the_old_spelling_then_creates_the_new():
    vicidial = FakeVicidial(aliases=[LiveAlias("SALES1", "S", "a,b")])
    report = apply(vicidial, plan_for(vicidial, DesiredAlias("sales1", "S", ("a", "b"))))
    assert vicidial.calls == [("delete", "SALES1"), ("create", "sales1")]
    assert report.complete
    assert vicidial.aliases["sales1"].alias_id == "sales1"


def test_success_that_the_database_did_not_keep_is_a_failed_verification():
    vicidial = FakeVicidial()
    original = vicidial.write

    def cutting_write(action):
        outcome = original(action)
        alias = vicidial.aliases["s1"]
        vicidial.aliases["s1"] = LiveAlias(alias.alias_id, alias.alias_name[:5], alias.logins_list)
        return outcome

    vicidial.write = cutting_write
    report = apply(vicidial, plan_for(vicidial, DesiredAlias("s1", "Sales floor", ("a", "b"))))
    (result,) = report.results
    assert result.status == "failed"
    assert result.message == ("VICIdial answered SUCCESS but the database holds s1 name 'Sales' logins 'a,b', "
                              "not s1 name 'Sales floor' logins 'a,b'")


def test_an_unknown_outcome_is_settled_by_reading_the_alias_back():
    vicidial = FakeVicidial()
    original = vicidial.write

    def lost_answer(action):
        original(action)                       # the write happened ...
        return WriteOutcome("unknown", "HTTP 500 from http://dialer/")   # ... but the answer was lost

    vicidial.write = lost_answer
    (result,) = apply(vicidial, plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))).results
    assert (result.status, result.message) == (
        "done", "outcome unknown (HTTP 500 from http://dialer/); read back: as asked")


def test_an_unknown_outcome_with_the_alias_untouched_is_sent_again_after_a_backoff():
    vicidial = FakeVicidial()
    vicidial.script["create:s1"] = [WriteOutcome("unknown", "empty answer from http://dialer/")]
    sleeps = []
    (result,) = apply(vicidial, plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b"))), sleeps, settle=0).results
    assert (result.status, result.attempts) == ("done", 2)
    assert vicidial.calls == [("create", "s1"), ("create", "s1")]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5


def test_resends_stop_at_the_retry_budget():
    vicidial = FakeVicidial()
    vicidial.script["create:s1"] = [WriteOutcome("unknown", "HTTP 502 from http://dialer/")] * 5
    sleeps = []
    (result,) = apply(vicidial, plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b"))), sleeps, settle=0).results
    assert (result.status, result.attempts) == ("failed", 3)
    assert result.message == "HTTP 502 from http://dialer/; gave up after 3 attempts (read back: not written)"
    assert len(sleeps) == 2 and sleeps[1] <= 1.0


def test_a_refused_connection_wrote_nothing_and_is_sent_again():
    vicidial = FakeVicidial()
    vicidial.script["create:s1"] = [WriteOutcome("refused", "could not connect to http://dialer/; nothing was sent",
                                                 sent=False)]
    (result,) = apply(vicidial, plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))).results
    assert (result.status, result.attempts) == ("done", 2)


def test_a_final_refusal_is_never_sent_again():
    vicidial = FakeVicidial()
    vicidial.script["create:s1"] = [WriteOutcome("refused", "ERROR: add_phone_alias PHONE DOES NOT EXIST: |u|a",
                                                 final=True)]
    (result,) = apply(vicidial, plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))).results
    assert (result.status, result.attempts) == ("failed", 1)


def test_an_unknown_outcome_with_a_foreign_change_is_a_conflict():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))

    def lost_answer_and_someone_else_wrote(action):
        vicidial.aliases["s1"] = LiveAlias("s1", "Theirs", "c")
        return WriteOutcome("unknown", "connection dropped by http://dialer/")

    vicidial.write = lost_answer_and_someone_else_wrote
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.message) == (
        "conflict", "outcome unknown (connection dropped by http://dialer/); read back: s1 name 'Theirs' "
                    "logins 'c', neither what the plan saw nor what was asked")
    assert result.attempts == 1


def test_a_change_made_after_the_plan_is_a_conflict_and_survives():
    vicidial = FakeVicidial(aliases=[LiveAlias("s1", "S", "a,b"), LiveAlias("s2", "T", "a")])
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("c", "b")), DesiredAlias("s2", "T", ("b", "a")))
    vicidial.aliases["s1"] = LiveAlias("s1", "S", "d,b")        # the admin screen, meanwhile
    report = apply(vicidial, the_plan)
    assert [(r.action.key, r.status, r.attempts) for r in report.results] == [
        ("update:s1", "conflict", 0), ("update:s2", "done", 1)]
    assert report.results[0].message == ("changed since the plan: it saw s1 name 'S' logins 'a,b', now s1 name 'S' "
                                         "logins 'd,b'; not overwritten")
    assert vicidial.aliases["s1"].logins_list == "d,b"
    assert vicidial.calls == [("update", "s2")]


def test_a_change_someone_already_made_is_done_without_a_write():
    vicidial = FakeVicidial(aliases=[LiveAlias("s1", "S", "a,b")])
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("c", "b")))
    vicidial.aliases["s1"] = LiveAlias("s1", "S", "c,b")
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.message, result.attempts) == ("done", "already as asked; nothing sent", 0)
    assert vicidial.calls == []


def test_delete_limits_name_the_rule_and_the_numbers():
    vicidial = FakeVicidial(aliases=[LiveAlias(f"x{i}", "X", "a") for i in range(11)])
    the_plan = plan_for(vicidial, prune=True)
    # one delete is fine; the eleventh trips max_deletes 10
    check_delete_limits(plan_for(FakeVicidial(aliases=[LiveAlias("x0", "X", "a")]), prune=True), 10, None, None)
    with pytest.raises(RefusedError) as caught:
        check_delete_limits(the_plan, 10, None, None)
    assert str(caught.value) == ("apply refused, nothing written: 11 deletes is over max_deletes 10; "
                                 "to allow it, run with --allow-deletes 11")
    check_delete_limits(the_plan, 10, None, 11)          # the run allows it


def test_the_delete_percentage_counts_managed_live_aliases():
    vicidial = FakeVicidial(aliases=[LiveAlias(f"x{i}", "X", "a") for i in range(4)])
    the_plan = plan_for(vicidial, DesiredAlias("x0", "X", ("a", "b")), DesiredAlias("x1", "X", ("a", "b")),
                        prune=True)
    with pytest.raises(RefusedError) as caught:
        check_delete_limits(the_plan, None, 25, None)
    assert str(caught.value) == ("apply refused, nothing written: deleting 2 of the 4 managed live aliases (50.0%) "
                                 "is over max_delete_percent 25; to allow it, run with --allow-deletes 2")


def test_the_read_back_reads_only_the_aliases_written_never_the_whole_state():
    # at 100,000 aliases a whole read after every apply cost seconds and 140 MB; only the written ones matter
    vicidial = FakeVicidial(aliases=[LiveAlias(f"x{i}", "X", "a") for i in range(50)])
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))
    reads, whole = [], []
    original = vicidial.read_aliases
    vicidial.read_aliases = lambda ids: reads.append(list(ids)) or original(ids)
    vicidial.read = lambda: whole.append(1)
    report = apply(vicidial, the_plan)
    assert report.complete
    assert whole == []                      # the state is never read whole during apply
    assert reads == [["s1"], ["s1"]]        # the conflict check, then the read-back


def test_a_delete_answered_success_but_not_carried_out_fails_its_read_back():
    vicidial = FakeVicidial(aliases=[LiveAlias("old", "O", "a")])
    the_plan = plan_for(vicidial, DesiredAlias("old", None, (), present=False))
    vicidial.write = lambda action: WriteOutcome("success", "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN "
                                                            "DELETED - apiuser|old")   # ... but nothing went
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.message) == (
        "failed", "VICIdial answered SUCCESS but the database holds old name 'O' logins 'a', not no such alias")


def test_a_read_back_that_cannot_be_done_leaves_the_apply_unverified_not_crashed():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))
    original, calls = vicidial.read_aliases, []

    def failing_second_read(ids):
        calls.append(ids)
        if len(calls) == 2:
            raise TargetError("cannot read the live state from sandbox: gone")
        return original(ids)

    vicidial.read_aliases = failing_second_read
    report = apply(vicidial, the_plan)
    assert [r.status for r in report.results] == ["done"]
    assert report.unverified == "cannot read the live state from sandbox: gone"
    assert not report.complete              # so apply exits 3 and says it could not check


def test_a_delete_is_refused_when_which_agents_log_in_with_the_alias_cannot_be_read():
    # no SELECT on vicidial_users.phone_login: a delete could strand an agent unseen, so it waits for a grant
    vicidial = FakeVicidial(aliases=[LiveAlias("old", "O", "a")], agents=None)
    the_plan = plan_for(vicidial, DesiredAlias("old", None, (), present=False))
    with pytest.raises(RefusedError) as refused:
        preflight(the_plan, vicidial.read(), None, None, ApplyOptions())
    assert str(refused.value) == (
        "apply refused, nothing written: the plan deletes 1 alias(es), but which agents log in with them cannot be "
        "checked (vicidial_users.phone_login could not be read); grant that, or run with --allow-in-use-deletes "
        "to accept the risk")
    preflight(the_plan, vicidial.read(), None, None, ApplyOptions(allow_in_use=True))   # the run accepts it
    assert vicidial.calls == []


def test_a_delete_is_refused_before_any_write_when_the_delete_right_cannot_be_read_or_is_missing():
    for right, why in ((None, "whether API user apiuser may delete cannot be read (vicidial_users.ast_delete_phones); "
                              "grant SELECT on that column to the read-only account"),
                       (False, "API user apiuser may not delete phone aliases (vicidial_users.ast_delete_phones is "
                               "not 1)")):
        vicidial = FakeVicidial(aliases=[LiveAlias("old", "O", "a")], may_delete=right)
        the_plan = plan_for(vicidial, DesiredAlias("s9", "S", ("a", "b")), DesiredAlias("old", None, (), present=False))
        with pytest.raises(RefusedError) as refused:
            apply(vicidial, the_plan)
        assert str(refused.value) == f"apply refused, nothing written: the plan deletes 1 alias(es), but {why}"
        assert vicidial.calls == []          # not even the create: the refusal comes before the first write


def test_a_fatal_refusal_during_the_writes_stops_the_run_before_the_next_login():
    # The password was changed on the dialer after the first write: every further call would be one more
    # failed login toward VICIdial's lockout (10 in 15 minutes locks the API user for everyone). The run
    # stops at the first: nothing else is sent, and each action not run says why.
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, *[DesiredAlias(f"s{n}", "S", ("a",)) for n in range(5)])
    vicidial.script["create:s1"] = [WriteOutcome("refused", "ERROR: Login incorrect, please try again: "
                                                            "|apiuser|***|BAD|", fatal=True, final=True)]
    report = apply(vicidial, the_plan)
    assert vicidial.calls == [("create", "s0"), ("create", "s1")]
    assert [(r.action.name, r.status) for r in report.results] == [
        ("s0", "done"), ("s1", "failed"), ("s2", "skipped"), ("s3", "skipped"), ("s4", "skipped")]
    assert report.results[2].message == ("not run: the run stopped after create:s1 (ERROR: Login incorrect, "
                                         "please try again: |apiuser|***|BAD|)")
    assert report.wrote and not report.complete


def test_fail_fast_reaches_the_graph():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, *[DesiredAlias(f"s{n}", "S", ("a",)) for n in range(3)])
    vicidial.script["create:s0"] = [WriteOutcome("refused", "ERROR: add_phone_alias PHONE DOES NOT EXIST: "
                                                            "|apiuser|a", final=True)]
    report = apply(vicidial, the_plan, fail_fast=True)
    assert vicidial.calls == [("create", "s0")]
    assert [r.message for r in report.results[1:]] == ["not run: --fail-fast after create:s0 ended failed"] * 2
    vicidial = FakeVicidial()
    vicidial.script["create:s0"] = [WriteOutcome("refused", "ERROR: add_phone_alias PHONE DOES NOT EXIST: "
                                                            "|apiuser|a", final=True)]
    assert [r.status for r in apply(vicidial, the_plan).results] == ["failed", "done", "done"]


def test_concurrency_reaches_the_graph():
    import threading

    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, *[DesiredAlias(f"s{n}", "S", ("a",)) for n in range(3)])
    barrier = threading.Barrier(3, timeout=10)
    vicidial.before_write = lambda action: barrier.wait()   # returns only once three writes are in flight
    report = apply(vicidial, the_plan, workers=3)
    assert [r.status for r in report.results] == ["done"] * 3


def test_an_alias_deleted_by_hand_after_the_plan_is_a_conflict_saying_so():
    vicidial = FakeVicidial(aliases=[LiveAlias("s1", "S", "a")])
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))
    vicidial.aliases.clear()                  # someone deleted it in the admin screen meanwhile
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.message) == (
        "conflict", "changed since the plan: it saw s1 name 'S' logins 'a', now no such alias; not overwritten")
    assert vicidial.calls == []


# ------------------------------------------------------------------ when the state, a password or the run gives out

def gone_after(vicidial, reads):
    """Make read_aliases fail from its `reads`-th call on (the database lost mid-run)."""
    original, count = vicidial.read_aliases, []

    def reading(ids):
        count.append(1)
        if len(count) >= reads:
            raise TargetError("cannot read the live state from db: gone")
        return original(ids)
    vicidial.read_aliases = reading


def test_a_state_lost_before_the_write_sends_nothing_and_stops_the_run():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)), DesiredAlias("s2", "S", ("a",)))
    gone_after(vicidial, 1)
    report = apply(vicidial, the_plan)
    assert [(r.status, r.message, r.attempts) for r in report.results] == [
        ("failed", "not sent: the live state could not be read: cannot read the live state from db: gone", 0),
        ("skipped", "not run: the run stopped after create:s1 (not sent: the live state could not be read: "
                    "cannot read the live state from db: gone)", 0)]
    assert vicidial.calls == [] and not report.wrote


def test_a_lost_answer_that_cannot_be_settled_is_unknown_and_stops_the_run():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("unknown", "HTTP 500 from http://dialer/")]
    gone_after(vicidial, 2)     # the conflict check reads; the settling read finds the database gone
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.stop, result.attempts) == ("unknown", True, 1)
    assert result.message == ("outcome unknown (HTTP 500 from http://dialer/); then the state could not be read to "
                              "settle it: cannot read the live state from db: gone")
    assert result.wrote


def test_a_refusal_that_cannot_be_settled_is_failed_with_what_was_sent():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("refused", "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: "
                                                            "|apiuser|s1", settle_by_state=True)]
    gone_after(vicidial, 2)
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.stop, result.attempts) == ("failed", True, 1)
    assert result.message == "not written; then the live state could not be read: cannot read the live state " \
                             "from db: gone"


def test_a_refusal_about_the_state_is_settled_by_the_state():
    # ALREADY EXISTS: someone made it meanwhile. As asked: done; as the plan saw it: failed; else a conflict.
    refusal = WriteOutcome("refused", "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |apiuser|s1",
                           settle_by_state=True)
    for theirs, status, message in [
            (LiveAlias("s1", "S", "a"), "done", "already as asked (VICIdial answered: ERROR: add_phone_alias PHONE "
                                                "ALIAS ALREADY EXISTS: |apiuser|s1)"),
            (None, "failed", "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |apiuser|s1"),
            (LiveAlias("s1", "Theirs", "b"), "conflict", "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: "
                                                         "|apiuser|s1; read back: s1 name 'Theirs' logins 'b', neither "
                                                         "what the plan saw nor what was asked; not overwritten")]:
        vicidial = FakeVicidial()
        the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))

        def refused(action, theirs=theirs):
            if theirs is not None:
                vicidial.aliases["s1"] = theirs
            return refusal

        vicidial.write = refused
        (result,) = apply(vicidial, the_plan).results
        assert (result.status, result.message, result.attempts) == (status, message, 1)


def test_a_password_that_cannot_be_read_at_send_time_sends_nothing_and_stops_the_run():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)), DesiredAlias("s2", "S", ("a",)))

    def unreadable(action):
        raise AliassyncError("phone 100a: phone_pass {env: GONE}: environment variable GONE is not set")

    vicidial.write = unreadable
    report = apply(vicidial, the_plan)
    assert [(r.status, r.attempts) for r in report.results] == [("failed", 0), ("skipped", 0)]
    assert report.results[0].message == ("not sent: phone 100a: phone_pass {env: GONE}: environment variable GONE is "
                                         "not set")
    assert not report.wrote


def test_a_second_signal_ends_the_wait_for_a_lost_answer_leaving_it_unknown():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("unknown", "HTTP 500 from http://dialer/")]
    interruption = Interruption()
    interruption.signal("SIGTERM")
    interruption.signal("SIGTERM")          # the second: stop waiting
    assert (interruption.reason, interruption.stop.is_set(), interruption.abort.is_set()) == ("SIGTERM", True, True)
    applier = Applier(vicidial, vicidial, ApplyOptions(settle=10), sleep=lambda s: None, interruption=interruption)
    result = applier.perform(the_plan.actions[0])
    assert (result.status, result.attempts) == ("unknown", 1)
    assert result.message == ("outcome unknown (HTTP 500 from http://dialer/); the apply was stopped before the write "
                              "showed; read back: no such alias")


def test_an_interruption_during_the_backoff_sends_nothing_again():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("refused", "could not connect to http://dialer/; nothing was sent",
                                                 sent=False)]
    interruption = Interruption()
    applier = Applier(vicidial, vicidial, ApplyOptions(), sleep=lambda s: interruption.signal("SIGINT"),
                      interruption=interruption)
    result = applier.perform(the_plan.actions[0])
    assert (result.status, result.attempts) == ("failed", 1)
    assert result.message == ("could not connect to http://dialer/; nothing was sent; not sent again: the apply was "
                              "interrupted (read back: not written)")
    assert vicidial.calls == [("create", "s1")]


def test_preflight_refuses_unknown_servers_and_unreadable_passwords_of_a_saved_plan(monkeypatch):
    from aliassync.core.model import Current
    from aliassync.core.phone import PhoneValues, SecretRef
    from aliassync.core.plan import Action, Plan

    monkeypatch.delenv("GONE_PASS", raising=False)
    create = Action("create:phone:100a", "create", "100a", "declared", resource="phone",
                    after=PhoneValues("100a", "100", "10.10.10.99", {}, {"phone_pass": SecretRef("env", "GONE_PASS")}))
    current = Current({}, {}, {}, {}, frozenset({"10.10.10.15"}))
    with pytest.raises(RefusedError) as caught:
        check_references(Plan((create,)), current)
    assert str(caught.value) == ("apply refused, nothing written: phone 100a: server_ip 10.10.10.99 is not one of "
                                 "VICIdial's servers")
    with pytest.raises(RefusedError) as caught:
        check_passwords(Plan((create,)))
    assert str(caught.value) == ("apply refused, nothing written: phone 100a: phone_pass {env: GONE_PASS}: "
                                 "environment variable GONE_PASS is not set")


def test_the_read_back_after_a_lost_answer_looks_again_at_growing_gaps_until_the_settle_time():
    # 0.1 s, then doubling, the last look cut to end exactly at --settle (1 s here); a write still not shown
    # then is sent again (after a backoff).
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("unknown", "HTTP 500 from http://dialer/")]
    sleeps = []
    result = Applier(vicidial, vicidial, ApplyOptions(settle=1.0), sleep=sleeps.append,
                     clock=lambda: 0.0).perform(the_plan.actions[0])
    assert (result.status, result.attempts) == ("done", 2)
    assert [round(s, 6) for s in sleeps[:4]] == [0.1, 0.2, 0.4, 0.3] and len(sleeps) == 5


def test_a_foreign_change_seen_while_settling_ends_the_look_at_once():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))

    def lost_and_theirs(action):
        vicidial.aliases["s1"] = LiveAlias("s1", "Theirs", "c")
        return WriteOutcome("unknown", "HTTP 500 from http://dialer/")

    vicidial.write = lost_and_theirs
    sleeps = []
    result = Applier(vicidial, vicidial, ApplyOptions(settle=10), sleep=sleeps.append,
                     clock=lambda: 0.0).perform(the_plan.actions[0])
    assert result.status == "conflict" and sleeps == []


def test_a_plain_refusal_is_failed_even_when_the_row_changed_meanwhile():
    # PHONE DOES NOT EXIST says nothing about the alias's state: the answer is the outcome, not a conflict.
    vicidial = FakeVicidial(aliases=[LiveAlias("s1", "S", "a")])
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a", "b")))
    vicidial.script["update:s1"] = [WriteOutcome("refused", "ERROR: update_phone_alias PHONE DOES NOT EXIST: "
                                                            "|apiuser|b", final=True)]
    vicidial.before_write = lambda action: vicidial.aliases.update(s1=LiveAlias("s1", "Theirs", "c"))
    (result,) = apply(vicidial, the_plan).results
    assert (result.status, result.message, result.attempts) == (
        "failed", "ERROR: update_phone_alias PHONE DOES NOT EXIST: |apiuser|b", 1)


def test_a_bad_login_met_on_a_resend_still_stops_the_run():
    # The first write's answer was lost and it did not land; the resend meets a changed password: the run
    # stops there, as it would on a first write.
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)), DesiredAlias("s2", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("unknown", "HTTP 500 from http://dialer/"),
                                    WriteOutcome("refused", "ERROR: Login incorrect, please try again: "
                                                            "|apiuser|***|BAD|", fatal=True, final=True)]
    report = apply(vicidial, the_plan, settle=0)
    assert [(r.status, r.stop, r.attempts) for r in report.results] == [("failed", True, 2), ("skipped", False, 0)]
    assert vicidial.calls == [("create", "s1"), ("create", "s1")]


def test_a_password_unreadable_on_a_resend_says_the_first_write_did_not_land():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    answers = [WriteOutcome("unknown", "HTTP 500 from http://dialer/")]

    def write(action):
        if answers:
            return answers.pop()
        raise AliassyncError("phone_pass {env: GONE}: environment variable GONE is not set")

    vicidial.write = write
    (result,) = apply(vicidial, the_plan, settle=0).results
    assert (result.status, result.stop, result.attempts) == ("failed", True, 1)
    assert result.message == ("outcome unknown (HTTP 500 from http://dialer/); read back: not written; not sent "
                              "again: phone_pass {env: GONE}: environment variable GONE is not set")


def test_a_run_already_interrupted_sends_nothing_again_after_a_refused_connection():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)))
    vicidial.script["create:s1"] = [WriteOutcome("refused", "could not connect to http://dialer/; nothing was sent",
                                                 sent=False)]
    interruption = Interruption()
    interruption.signal("SIGINT")
    sleeps = []
    result = Applier(vicidial, vicidial, ApplyOptions(), sleep=sleeps.append,
                     interruption=interruption).perform(the_plan.actions[0])
    assert result.message.endswith("not sent again: the apply was interrupted (read back: not written)")
    assert sleeps == []


def test_an_interrupted_run_starts_nothing_and_every_result_is_reported():
    vicidial = FakeVicidial()
    the_plan = plan_for(vicidial, DesiredAlias("s1", "S", ("a",)), DesiredAlias("s2", "S", ("a",)))
    interruption, reported = Interruption(), []
    interruption.signal("SIGTERM")
    report = Applier(vicidial, vicidial, ApplyOptions(), on_result=reported.append,
                     interruption=interruption).apply(the_plan)
    assert vicidial.calls == []
    assert [r.message for r in report.results] == ["not run: the apply was interrupted"] * 2
    assert [r.action.key for r in reported] == ["create:s1", "create:s2"]


def test_the_functions_a_plan_needs_are_counted_per_kind():
    from aliassync.workflow.applier import functions_needed

    vicidial = FakeVicidial(aliases=[LiveAlias("u1", "U", "a"), LiveAlias("d1", "D", "a"), LiveAlias("d2", "D", "a")])
    the_plan = plan_for(vicidial, DesiredAlias("c1", "C", ("a",)), DesiredAlias("c2", "C", ("a",)),
                        DesiredAlias("u1", "U", ("b",)), prune=True)
    assert functions_needed(the_plan) == {"add_phone_alias": "2 create(s)",
                                          "update_phone_alias": "1 update(s), 2 delete(s)"}


def test_the_delete_right_is_read_only_for_a_plan_that_deletes():
    vicidial = FakeVicidial(aliases=[LiveAlias("u1", "U", "a")], may_delete=None)
    asked = []
    vicidial.delete_right = lambda user: asked.append(user)
    the_plan = plan_for(vicidial, DesiredAlias("u1", "U", ("b",)), DesiredAlias("c1", "C", ("a",)))
    assert apply(vicidial, the_plan).complete and asked == []


def test_a_user_who_may_not_delete_phones_is_told_which_right_is_missing():
    from aliassync.core.phone import LivePhone
    from aliassync.core.plan import Action, Plan

    vicidial = FakeVicidial(may_delete=False)
    delete = Action("delete:phone:100a", "delete", "100a", "prune", before=LivePhone("100a", "100", "10.10.10.15"),
                    resource="phone")
    with pytest.raises(RefusedError) as caught:
        Applier(vicidial, vicidial).prove_access(Plan((delete,)))
    assert str(caught.value) == ("apply refused, nothing written: the plan deletes 1 phone(s), but API user apiuser "
                                 "may not delete phones (vicidial_users.ast_delete_phones is not 1)")


def test_preflight_runs_every_check_before_the_first_write(monkeypatch):
    from aliassync.core.model import Current
    from aliassync.core.phone import PhoneValues, SecretRef
    from aliassync.core.plan import Action, Plan

    monkeypatch.setenv("AGENT_PASS", "Secret12")
    monkeypatch.delenv("GONE_PASS", raising=False)
    current = Current({}, {}, {}, {}, frozenset({"10.10.10.15"}))

    def one(server="10.10.10.15", variable="AGENT_PASS"):
        return Plan((Action("create:phone:100a", "create", "100a", "declared", resource="phone",
                            after=PhoneValues("100a", "100", server, {}, {"phone_pass": SecretRef("env", variable)})),))

    assert preflight(one(), current, None, None, ApplyOptions()) is None
    for bad, why in [(one(server="10.10.10.99"), "server_ip 10.10.10.99 is not one of VICIdial's servers"),
                     (one(variable="GONE_PASS"), "environment variable GONE_PASS is not set")]:
        with pytest.raises(RefusedError, match=why):
            preflight(bad, current, None, None, ApplyOptions())
    vicidial = FakeVicidial(aliases=[LiveAlias("d1", "D", "a")])
    with pytest.raises(RefusedError, match="1 deletes is over max_deletes 0"):
        preflight(plan_for(vicidial, prune=True), vicidial.read(), 0, None, ApplyOptions())


def test_phones_a_plan_creates_count_as_phones_for_the_aliases_naming_them():
    from aliassync.core.phone import PhoneValues
    from aliassync.core.plan import Action, AliasValues, Plan

    vicidial = FakeVicidial(phones=("a",))
    create_phone = Action("create:phone:200a", "create", "200a", "declared", resource="phone",
                          after=PhoneValues("200a", "200", "10.10.10.15"))
    update_phone = Action("update:phone:200b", "update", "200b", "declared", resource="phone",
                          after=PhoneValues("200b", "200", "10.10.10.16"))
    delete_alias = Action("delete:old", "delete", "old", "prune", before=LiveAlias("old", "O", "zz"))
    alias = Action("create:200", "create", "200", "declared", after=AliasValues("200", "Desk", ("200a", "200b", "a")))
    the_plan = Plan((create_phone, update_phone, delete_alias, alias))
    # 200a is created by the plan; 200b is only updated (so it must exist already: it does not)
    assert missing_phones(the_plan, vicidial.read()) == {"200b": ["200"]}
