"""Apply progress: a bar on a terminal, log lines otherwise."""
import io
import logging

from aliassync.graph import ActionResult
from aliassync.plan import Action
from aliassync.progress import Progress


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
