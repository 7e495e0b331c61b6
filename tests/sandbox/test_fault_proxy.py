"""The fault proxy (fault_proxy.py) in front of the real sandbox server.

Each fault is checked twice: by what the client makes of it (httpx's
exception, or the Answer aliassync's ApiClient reports) and by what
reached the database (the alias rows and VICIdial's audit trail, one
vicidial_admin_log row per write that landed).
"""
from __future__ import annotations

import socket
import sqlite3
import time
from collections import Counter
from contextlib import closing, contextmanager
from typing import Iterator

import httpx
import pytest

from aliassync.sandbox.faults import FaultSpec
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_sandbox
from aliassync.vicidial.api import ApiClient
from fault_proxy import Die, DropAfterResponse, DropBeforeForward, DropWhileWorking, FaultProxy, Rule

ADD_S1 = {"alias_id": "s1", "alias_name": "Sales one", "phone_logins": "100a,100b"}
RENAME_S1 = {"alias_id": "s1", "alias_name": "Sales renamed"}
ADDED_S1 = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - 6666|s1|Sales one|100a,100b\n"
DROPPED = "connection dropped by {url}: Server disconnected without sending a response."


@pytest.fixture
def sandbox(tmp_path) -> str:
    path = str(tmp_path / "proxy.sqlite")
    init_sandbox(path, [{"login": "100a"}, {"login": "100b"}])
    return path


def aliases(path: str) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT alias_id, alias_name, logins_list FROM phones_alias ORDER BY alias_id").fetchall()


def audit(path: str) -> list[tuple[str, str]]:
    """(event_type, record_id) of every alias write VICIdial logged, in order."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT event_type, record_id FROM vicidial_admin_log "
                          "WHERE event_section = 'PHONEALIASES' ORDER BY admin_log_id").fetchall()


@contextmanager
def proxied(path: str, rules: list[Rule], faults: FaultSpec | None = None) -> Iterator[tuple[FaultProxy, ApiClient]]:
    """The sandbox served over HTTP, the proxy in front of it, and an API client that goes through the proxy."""
    with running_sandbox(path, faults=faults) as base, FaultProxy(base + API_PATH, rules) as proxy:
        client = ApiClient(proxy.url, "6666", "1234", timeout=httpx.Timeout(5.0), sleep=lambda seconds: None)
        with closing(client):
            yield proxy, client


def test_without_a_fault_calls_pass_through_over_one_kept_alive_connection(sandbox):
    with proxied(sandbox, []) as (proxy, client):
        version = client.version()
        added = client.call("add_phone_alias", **ADD_S1)
        renamed = client.call("update_phone_alias", **RENAME_S1)

    assert version == "2.14-202 build 250720-1841"
    assert (added.line + "\n", renamed.kind) == (ADDED_S1, "SUCCESS")
    assert proxy.forwarded == proxy.received == Counter(version=1, add_phone_alias=1, update_phone_alias=1)
    assert proxy.connections == 1
    assert [event.fault for event in proxy.events] == [None, None, None]
    assert aliases(sandbox) == [("s1", "Sales renamed", "100a,100b")]
    assert audit(sandbox) == [("ADD", "s1"), ("MODIFY", "s1")]


def test_drop_after_response_loses_the_answer_of_a_write_that_landed(sandbox):
    with proxied(sandbox, [Rule(DropAfterResponse(), function="add_phone_alias")]) as (proxy, client):
        added = client.call("add_phone_alias", **ADD_S1)
        after = client.version()            # the next call gets a connection of its own, and its answer

    assert (added.kind, added.reason) == ("UNKNOWN", DROPPED.format(url=client.public_url))
    assert added.sent
    assert after == "2.14-202 build 250720-1841"
    assert aliases(sandbox) == [("s1", "Sales one", "100a,100b")]
    assert audit(sandbox) == [("ADD", "s1")]
    assert proxy.forwarded == Counter(add_phone_alias=1, version=1)
    assert proxy.connections == 2


def test_a_rule_strikes_only_the_nth_request_it_matches(sandbox):
    renames = [{"alias_id": "s1", "alias_name": f"Name {n}"} for n in (1, 2, 3)]
    rules = [Rule(DropAfterResponse(), function="update_phone_alias", nth=2)]
    with proxied(sandbox, rules) as (proxy, client):
        client.call("add_phone_alias", **ADD_S1)
        answers = [client.call("update_phone_alias", **fields) for fields in renames]

    assert [answer.kind for answer in answers] == ["SUCCESS", "UNKNOWN", "SUCCESS"]
    assert [event.fault for event in proxy.events] == [None, None, DropAfterResponse(), None]
    assert audit(sandbox) == [("ADD", "s1"), ("MODIFY", "s1"), ("MODIFY", "s1"), ("MODIFY", "s1")]
    assert proxy.forwarded["update_phone_alias"] == 3


def test_a_rule_can_match_on_anything_in_the_request_and_strike_every_match(sandbox):
    rules = [Rule(DropAfterResponse(), match=lambda request: request.fields.get("alias_id") == "s2", nth=None)]
    with proxied(sandbox, rules) as (proxy, client):
        answers = [client.call("add_phone_alias", alias_id=alias_id, alias_name="Sales", phone_logins="100a")
                   for alias_id in ("s1", "s2", "s3")]
        again = client.call("update_phone_alias", alias_id="s2", alias_name="Sales two")

    assert [answer.kind for answer in answers] == ["SUCCESS", "UNKNOWN", "SUCCESS"]
    assert again.kind == "UNKNOWN"
    assert audit(sandbox) == [("ADD", "s1"), ("ADD", "s2"), ("ADD", "s3"), ("MODIFY", "s2")]
    assert [event.request.number for event in proxy.events if event.fault] == [2, 4]


def test_drop_while_working_gives_up_before_the_slow_write_lands(sandbox):
    slow_writes = FaultSpec(latency=1.0, calls="writes")
    with proxied(sandbox, [Rule(DropWhileWorking(delay=0.1), function="add_phone_alias")],
                 faults=slow_writes) as (proxy, client):
        started = time.monotonic()
        added = client.call("add_phone_alias", **ADD_S1)
        gave_up_after = time.monotonic() - started
        written_when_the_client_gave_up = (aliases(sandbox), audit(sandbox))
        proxy.wait_for_upstream()
        written_later = (aliases(sandbox), audit(sandbox))

    assert (added.kind, added.reason) == ("UNKNOWN", DROPPED.format(url=client.public_url))
    assert 0.1 <= gave_up_after < 0.9
    assert written_when_the_client_gave_up == ([], [])
    assert written_later == ([("s1", "Sales one", "100a,100b")], [("ADD", "s1")])
    assert proxy.forwarded == Counter(add_phone_alias=1)


def test_drop_before_forward_sends_the_write_after_the_client_gave_up(sandbox):
    with proxied(sandbox, [Rule(DropBeforeForward(delay=0.6), function="add_phone_alias")]) as (proxy, client):
        started = time.monotonic()
        added = client.call("add_phone_alias", **ADD_S1)
        gave_up_after = time.monotonic() - started
        time.sleep(0.2)
        forwarded_after_the_client_gave_up = proxy.forwarded["add_phone_alias"]
        written_after_the_client_gave_up = (aliases(sandbox), audit(sandbox))
        proxy.wait_for_upstream()
        landed_after = time.monotonic() - started

    assert (added.kind, added.reason) == ("UNKNOWN", DROPPED.format(url=client.public_url))
    assert gave_up_after < 0.4
    assert forwarded_after_the_client_gave_up == 0
    assert written_after_the_client_gave_up == ([], [])
    assert landed_after >= 0.6
    assert proxy.forwarded["add_phone_alias"] == 1
    assert aliases(sandbox) == [("s1", "Sales one", "100a,100b")]
    assert audit(sandbox) == [("ADD", "s1")]


def test_the_with_block_waits_for_a_delayed_write_to_land(sandbox):
    with running_sandbox(sandbox) as base:
        with FaultProxy(base + API_PATH, [Rule(DropBeforeForward(delay=0.3))]) as proxy:
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.post(proxy.url, data={"function": "add_phone_alias", "user": "6666", "pass": "1234",
                                            "source": "test", **ADD_S1}, timeout=5)
        assert audit(sandbox) == [("ADD", "s1")]


def test_die_takes_the_api_away_mid_run(sandbox):
    with proxied(sandbox, [Rule(Die(), function="update_phone_alias")]) as (proxy, client):
        added = client.call("add_phone_alias", **ADD_S1)
        renamed = client.call("update_phone_alias", **RENAME_S1)
        later = client.call("update_phone_alias", **RENAME_S1)
        with pytest.raises(httpx.ConnectError):
            httpx.post(proxy.url, data={"function": "version", "source": "test"}, timeout=2)

    assert added.kind == "SUCCESS"
    assert (renamed.kind, renamed.reason, renamed.sent) == ("UNKNOWN", DROPPED.format(url=client.public_url), True)
    assert later.kind == "UNKNOWN" and not later.sent
    assert later.reason.startswith(f"could not connect to {client.public_url}: ")
    assert later.reason.endswith("; nothing was sent")
    assert proxy.forwarded == Counter(add_phone_alias=1)
    assert proxy.received == Counter(add_phone_alias=1, update_phone_alias=1)
    assert aliases(sandbox) == [("s1", "Sales one", "100a,100b")]
    assert audit(sandbox) == [("ADD", "s1")]


def test_die_closes_the_connections_clients_keep_alive(sandbox):
    """Had the kept-alive connection stayed open, the next call would go out on it and meet a dropped
    connection (RemoteProtocolError); closed, the client sees it is gone and finds no API to connect to."""
    with running_sandbox(sandbox) as base, FaultProxy(base + API_PATH) as proxy:
        with httpx.Client(timeout=5) as client:
            assert client.post(proxy.url, data={"function": "version", "source": "test"}).status_code == 200
            proxy.die()
            time.sleep(0.1)     # the FIN reaches the client
            with pytest.raises(httpx.ConnectError):
                client.post(proxy.url, data={"function": "version", "source": "test"})
    assert proxy.connections == 1


def test_a_keep_alive_client_is_framed_by_content_length(sandbox):
    """Two requests in one write: the proxy finds where the first ends, forwards both, relays both answers,
    and closes the connection after the second, which asked for it."""
    def post(body: bytes, *headers: bytes) -> bytes:
        return b"\r\n".join([b"POST " + API_PATH.encode() + b" HTTP/1.1", b"Host: proxy",
                             b"Content-Type: application/x-www-form-urlencoded",
                             b"Content-Length: %d" % len(body), *headers, b"", body])

    with running_sandbox(sandbox) as base, FaultProxy(base + API_PATH) as proxy:
        with socket.create_connection(proxy.address, timeout=5) as raw:
            raw.sendall(post(b"function=version&source=test")
                        + post(b"function=add_phone_alias&user=6666&pass=1234&source=test&alias_id=s1"
                               b"&alias_name=Sales+one&phone_logins=100a,100b", b"Connection: close"))
            received = b""
            while chunk := raw.recv(65536):
                received += chunk

    first, second = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert first.split(b"\r\n\r\n")[1].startswith(b"VERSION: 2.14-202|")
    assert second.endswith(b"\r\n\r\n" + ADDED_S1.encode())
    assert proxy.forwarded == Counter(version=1, add_phone_alias=1)
    assert proxy.connections == 1


def test_the_proxy_listens_on_loopback_and_forwards_to_loopback_only(sandbox):
    with pytest.raises(ValueError, match="the upstream must be http://127.0.0.1:PORT/..., not http://10.1.2.3:80/"):
        FaultProxy("http://10.1.2.3:80/")
    with running_sandbox(sandbox) as base:
        with FaultProxy(base + API_PATH) as proxy:
            assert proxy.url == f"http://127.0.0.1:{proxy.port}{API_PATH}"
            assert proxy.address == ("127.0.0.1", proxy.port)
        with pytest.raises(httpx.ConnectError):     # gone with its with block
            httpx.post(proxy.url, data={"function": "version", "source": "test"}, timeout=2)


def test_nth_counts_from_one():
    with pytest.raises(ValueError, match=r"nth 0 is not 1 or more \(1: the first matching request\)"):
        Rule(DropAfterResponse(), nth=0)
