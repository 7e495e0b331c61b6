"""Apply progress: a bar on a terminal, log lines otherwise."""
import io
import logging

from aliassync.core.graph import ActionResult
from aliassync.core.plan import Action
from aliassync.output.progress import Progress


def result(alias_id, status, message=""):
    return ActionResult(Action(f"create:{alias_id}", "create", alias_id, "declared"), status, message)


def test_a_terminal_gets_a_bar_with_counts_and_a_line_per_problem():
    stream = io.StringIO()
    progress = Progress(2, stream, bar=True)
    progress(result("a1", "done"))
    progress(result("a2", "failed", "ERROR: nope"))
    assert stream.getvalue() == (
        "\r[###############---------------] 1/2  done 1\x1b[K"
        "\r\x1b[Kfailed: create a2: ERROR: nope\n"
        "\r[##############################] 2/2  done 1  failed 1\x1b[K\n")


def test_without_a_terminal_each_action_is_one_log_line(caplog):
    stream = io.StringIO()
    progress = Progress(2, stream, bar=False)
    with caplog.at_level(logging.INFO, logger="aliassync.apply"):
        progress(result("a1", "done"))
        progress(result("a2", "conflict", "changed since the plan"))
    assert stream.getvalue() == ""
    assert [r.getMessage() for r in caplog.records] == [
        "apply: create a1: done", "apply: create a2: conflict (changed since the plan)"]


def test_a_crowd_of_skipped_actions_is_three_lines_and_a_count_not_one_line_each(caplog):
    # a refused login mid-run skips every action left: 1,297 lines would bury the one that matters
    stream = io.StringIO()
    progress = Progress(1 + 1297, stream, bar=False)
    why = "not run: the run stopped after create:a0 (ERROR: Login incorrect, please try again: |u|***|BAD|)"
    with caplog.at_level(logging.INFO, logger="aliassync.apply"):
        progress(result("a0", "failed", "ERROR: Login incorrect, please try again: |u|***|BAD|"))
        for i in range(1, 1298):
            progress(result(f"a{i}", "skipped", why))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "apply: create a0: failed (ERROR: Login incorrect, please try again: |u|***|BAD|)",
        f"apply: create a1: skipped ({why})", f"apply: create a2: skipped ({why})",
        f"apply: create a3: skipped ({why})",
        f"apply: 1294 more action(s) skipped ({why})",
    ]


def test_on_a_terminal_the_crowd_is_counted_on_a_line_of_its_own():
    stream = io.StringIO()
    progress = Progress(5, stream, bar=True)
    for i in range(5):
        progress(result(f"a{i}", "skipped", "not run: the apply was interrupted"))
    text = stream.getvalue()
    assert "\r\x1b[Kskipped: 2 more action(s): not run: the apply was interrupted\n" in text
    assert text.count("skipped: create") == 3


def test_a_note_is_never_written_onto_the_bar_line():
    stream = io.StringIO()
    progress = Progress(2, stream, bar=True)
    progress(result("a1", "done"))
    progress.note("aliassync: SIGTERM: starting nothing new; finishing the calls in flight")
    assert stream.getvalue() == (
        "\r[###############---------------] 1/2  done 1\x1b[K"
        "\r\x1b[Kaliassync: SIGTERM: starting nothing new; finishing the calls in flight\n"
        "\r[###############---------------] 1/2  done 1\x1b[K")
