"""Reading a SQLite sandbox's tables in a test: what reached the dialer."""
from __future__ import annotations

import sqlite3
from contextlib import closing


def sql(path: str, statement: str, *params) -> list[tuple]:
    """One statement, committed (tests change the dialer by hand with it, as the admin screen would)."""
    with closing(sqlite3.connect(path)) as db, db:
        return db.execute(statement, params).fetchall()


def rows(path: str) -> dict[str, str]:
    """alias_id -> logins_list."""
    return {a: logins for a, logins in sql(path, "SELECT alias_id, logins_list FROM phones_alias")}


def admin_log(path: str) -> list[tuple]:
    """The writes that reached the dialer, in order (VICIdial's audit trail)."""
    return sql(path, "SELECT event_section, event_type, record_id FROM vicidial_admin_log ORDER BY admin_log_id")
