"""The sandbox served over real HTTP on 127.0.0.1."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import SandboxError, init_sandbox

CREDENTIALS = {"source": "test", "user": "6666", "pass": "1234"}


@pytest.fixture
def sandbox_path(tmp_path):
    path = tmp_path / "sandbox.sqlite"
    init_sandbox(path, [{"login": "100a"}, {"login": "100b"}])
    return path


def test_serves_post_and_get_on_loopback_then_stops(sandbox_path) -> None:
    with running_sandbox(sandbox_path) as base_url:
        with httpx.Client(base_url=base_url, timeout=5) as client:
            added = client.post(API_PATH, data={**CREDENTIALS, "function": "add_phone_alias", "alias_id": "sales1",
                                                "alias_name": "Sales floor", "phone_logins": "100a,100b"})
            probe = client.get(API_PATH, params={**CREDENTIALS, "function": "update_phone_alias",
                                                 "alias_id": "sales1", "delete_alias": "N"})
            elsewhere = client.post("/vicidial/admin.php", data=CREDENTIALS)

    assert urlsplit(base_url).hostname == "127.0.0.1"
    assert (added.status_code, added.headers["content-type"], added.text) == (
        200, "text/html; charset=utf-8",
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - 6666|sales1|Sales floor|100a,100b\n")
    assert probe.text == "NOTICE: update_phone_alias NO UPDATES DEFINED: |6666|\n"
    assert elsewhere.status_code == 404
    with pytest.raises(httpx.ConnectError):
        httpx.post(base_url + API_PATH, data={"function": "version"}, timeout=2)


def test_refuses_to_listen_beyond_loopback(sandbox_path) -> None:
    with pytest.raises(SandboxError) as refused:
        with running_sandbox(sandbox_path, host="0.0.0.0"):
            pass

    assert str(refused.value) == "the sandbox serves on an IPv4 loopback address (127.0.0.1) only, not 0.0.0.0"
