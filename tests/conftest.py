"""Shared fixtures: a fresh MariaDB database per test.

The server is ALIASSYNC_TEST_DB_URL (a `mysql://` URL without a database),
else mysql://root@127.0.0.1:3306/. When it cannot be reached the tests that
need it are skipped, loudly; under CI=true they fail instead, so a CI job
never passes by skipping the real-database tests.
"""
from __future__ import annotations

import logging
import os
import secrets
from typing import Iterator, NoReturn
from urllib.parse import urlsplit

import pymysql
import pytest

from aliassync.vicidial.db_url import parse_db_url

DEFAULT_TEST_DB_URL = "mysql://root@127.0.0.1:3306/"


def _server_url() -> str:
    return os.environ.get("ALIASSYNC_TEST_DB_URL") or DEFAULT_TEST_DB_URL


def _connect(url: str) -> pymysql.connections.Connection:
    parts = parse_db_url(url)
    return pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                           autocommit=True, connect_timeout=5)


def _unreachable(url: str, problem: str) -> NoReturn:
    reason = (f"MariaDB is not reachable at {parse_db_url(url).public} ({problem}); "
              "set ALIASSYNC_TEST_DB_URL to a server aliassync's tests may create databases on")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(f"!!! SKIPPED, NO DATABASE: {reason}")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """The mysql:// URL of a new, empty database, dropped after the test."""
    url = _server_url()
    try:
        server = _connect(url)
    except pymysql.MySQLError as exc:
        problem = str(exc.args[-1])
    else:
        problem = None
    if problem is not None:
        _unreachable(url, problem)
    name = f"aliassync_test_{secrets.token_hex(6)}"
    with server, server.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8 COLLATE utf8_general_ci")
    try:
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
    finally:
        with _connect(url) as server, server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE `{name}`")


@pytest.fixture(autouse=True)
def root_logging_restored():
    """`main()` sets the root logger up for its run (level, a handler on that run's stderr): undo it after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_secrets_left():
    """Each test starts and ends with no registered secret (redaction is process-wide)."""
    from aliassync import redaction

    redaction.forget_all()
    yield
    redaction.forget_all()
