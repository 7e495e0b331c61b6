"""No lockout: a refused login stops the run after that one call, and a locked user is told when to retry.

VICIdial locks an API user for 15 minutes after ten failed logins, whichever program made them; the
sandbox counts failures as VICIdial does (vicidial_users.failed_login_count). The sandbox's login is
changed on the command line (--api-user, --api-pass-file): it never takes one from the environment.
"""
from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from aliassync.cli import main
from aliassync.sandbox.store import init_sandbox

DESIRED = "version: 1\naliases:\n  team1: {alias_name: Team one, phone_logins: [100a, 100b]}\n"



@pytest.fixture
def sandbox(tmp_path) -> str:
    path = str(tmp_path / "dialer.sqlite")
    init_sandbox(path, [{"login": "100a"}, {"login": "100b"}], api_user="apiuser", api_pass="RightPw1")
    return path


@pytest.fixture
def desired(tmp_path) -> str:
    path = tmp_path / "aliases.yaml"
    path.write_text(DESIRED, encoding="utf-8")
    return str(path)


def user_row(path: str) -> tuple[int, int, int]:
    """(failed_login_count, aliases, admin log rows)."""
    with closing(sqlite3.connect(path)) as db:
        (failures,) = db.execute("SELECT failed_login_count FROM vicidial_users WHERE user = 'apiuser'").fetchone()
        (aliases,) = db.execute("SELECT COUNT(*) FROM phones_alias").fetchone()
        (logged,) = db.execute("SELECT COUNT(*) FROM vicidial_admin_log").fetchone()
    return failures, aliases, logged


def last_good_login(path: str, minutes_ago: int, failures: int) -> None:
    when = (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M:%S")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE vicidial_users SET failed_login_count = ?, last_login_date = ? WHERE user = 'apiuser'",
                   (failures, when))


def apply(desired: str, sandbox: str, capsys, password: str) -> tuple[int, str]:
    """apply as the sandbox's API user `apiuser`, with `password`."""
    password_file = os.path.join(os.path.dirname(sandbox), "api-pass")
    with open(password_file, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    code = main(["apply", desired, "--sandbox", sandbox, "--yes", "--api-user", "apiuser",
                 "--api-pass-file", password_file])
    return code, capsys.readouterr().err


def test_a_wrong_password_costs_one_failed_login_and_writes_nothing(sandbox, desired, capsys):
    code, err = apply(desired, sandbox, capsys, "WrongPw1")

    assert code == 1
    assert err.splitlines()[-1] == ("error: VICIdial refused the login for user apiuser: "
                                    "ERROR: Login incorrect, please try again: |apiuser|***|BAD|")
    assert user_row(sandbox) == (1, 0, 0)


def test_nine_wrong_runs_then_the_right_password_still_gets_in(sandbox, desired, capsys):
    for _ in range(9):
        assert apply(desired, sandbox, capsys, "WrongPw1")[0] == 1
    assert user_row(sandbox) == (9, 0, 0)     # one failed login per run, never a retry

    assert apply(desired, sandbox, capsys, "RightPw1")[0] == 0
    assert user_row(sandbox) == (0, 1, 1)


def test_a_locked_user_is_told_when_to_try_again(sandbox, desired, capsys):
    last_good_login(sandbox, minutes_ago=1, failures=0)   # the 15 minutes run from the last good login
    for _ in range(10):
        apply(desired, sandbox, capsys, "WrongPw1")

    earliest = datetime.now() + timedelta(minutes=15)
    code, err = apply(desired, sandbox, capsys, "RightPw1")
    latest = datetime.now() + timedelta(minutes=15)

    assert code == 1
    assert err.splitlines()[-1] in {
        f"error: VICIdial has locked user apiuser after too many failed logins; nothing was written; check the "
        f"password, then try again in 15 minutes (after {at:%H:%M}): "
        "ERROR: Too many login attempts, try again in 15 minutes: |apiuser|LOCK|" for at in (earliest, latest)}
    assert user_row(sandbox) == (10, 0, 0)


def test_the_lock_ends_after_15_minutes(sandbox, desired, capsys):
    last_good_login(sandbox, minutes_ago=16, failures=10)

    assert apply(desired, sandbox, capsys, "RightPw1")[0] == 0
    assert user_row(sandbox) == (0, 1, 1)
