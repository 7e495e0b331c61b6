"""The sandbox served over real HTTP on 127.0.0.1."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from aliassync.sandbox.faults import FaultSpec
from aliassync.sandbox.server import API_PATH, running_sandbox, sandbox_server
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
            elsewhere = client.post("/vicidial/user_stats.php", data=CREDENTIALS)
            admin = client.get("/vicidial/admin.php")   # served too (admin_screens.py): it wants basic auth

    assert urlsplit(base_url).hostname == "127.0.0.1"
    assert (added.status_code, added.headers["content-type"], added.text) == (
        200, "text/html; charset=utf-8",
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - 6666|sales1|Sales floor|100a,100b\n")
    assert probe.text == "NOTICE: update_phone_alias NO UPDATES DEFINED: |6666|\n"
    assert elsewhere.status_code == 404
    assert (admin.status_code, admin.headers["www-authenticate"]) == (401, 'Basic realm="VICI-PROJECTS"')
    with pytest.raises(httpx.ConnectError):
        httpx.post(base_url + API_PATH, data={"function": "version"}, timeout=2)


def test_refuses_to_listen_beyond_loopback(sandbox_path) -> None:
    with pytest.raises(SandboxError) as refused:
        with running_sandbox(sandbox_path, host="0.0.0.0"):
            pass

    assert str(refused.value) == "the sandbox serves on an IPv4 loopback address (127.0.0.1) only, not 0.0.0.0"


# ---------------------------------------------------------------- persistent connections, as Apache keeps them

VERSION_CALL = {"function": "version", "source": "test"}


def test_one_client_makes_all_its_calls_over_one_connection(sandbox_path) -> None:
    with sandbox_server(sandbox_path) as server:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            answers = [client.post(API_PATH, data=VERSION_CALL),
                       client.post("/vicidial/user_stats.php", data={**CREDENTIALS, "function": "version"}),
                       client.head(API_PATH, params=VERSION_CALL),
                       client.post(API_PATH, data={**CREDENTIALS, "function": "add_phone_alias",
                                                   "alias_id": "sales1", "alias_name": "Sales floor",
                                                   "phone_logins": "100a"}),
                       client.get(API_PATH, params=VERSION_CALL)]
        accepted = server.connections_accepted

    assert [(a.http_version, a.status_code) for a in answers] == [("HTTP/1.1", 200), ("HTTP/1.1", 404),
                                                                   ("HTTP/1.1", 200), ("HTTP/1.1", 200),
                                                                   ("HTTP/1.1", 200)]
    assert answers[2].content == b"" and int(answers[2].headers["content-length"]) > 0
    assert answers[3].text == "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - 6666|sales1|Sales floor|100a\n"
    assert answers[4].text.startswith("VERSION: 2.14-202|")
    assert accepted == 1


def test_pipelined_calls_are_answered_in_order_and_connection_close_is_honoured(sandbox_path) -> None:
    def post(body: bytes, *headers: bytes) -> bytes:
        return b"\r\n".join([b"POST " + API_PATH.encode() + b" HTTP/1.1", b"Host: sandbox",
                             b"Content-Type: application/x-www-form-urlencoded",
                             b"Content-Length: %d" % len(body), *headers, b"", body])

    with sandbox_server(sandbox_path) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
            raw.sendall(post(b"function=version&source=one")
                        + post(b"function=update_phone_alias&user=6666&pass=1234&source=two&alias_id=sales1"
                               b"&delete_alias=N")
                        + post(b"function=version&source=three", b"Connection: close"))
            received = _read_to_end(raw)       # ends: the server closed the connection after the third answer

    first, second, third = (answer.split(b"\r\n\r\n", 1) for answer in _split_answers(received))
    assert first[1].startswith(b"VERSION: 2.14-202|") and first[1].endswith(b"|\n")
    assert second[1] == b"ERROR: update_phone_alias PHONE ALIAS DOES NOT EXIST: |6666|sales1\n"
    assert third[1].startswith(b"VERSION: 2.14-202|") and third[1].endswith(b"|\n")
    assert [b"Connection: close" in head for head, _ in (first, second, third)] == [False, False, True]
    assert server.connections_accepted == 1


def test_a_body_without_a_length_is_refused_and_its_connection_closed(sandbox_path) -> None:
    """Without a Content-Length the server cannot tell where the next call starts: 411, and the connection closes."""
    with sandbox_server(sandbox_path) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
            raw.sendall(b"POST " + API_PATH.encode() + b" HTTP/1.1\r\nHost: sandbox\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n1c\r\nfunction=version&source=test\r\n0\r\n\r\n")
            received = _read_to_end(raw)

    assert received.startswith(b"HTTP/1.1 411 Length Required\r\n")
    assert b"\r\nConnection: close\r\n" in received and b"VERSION" not in received


def _split_answers(received: bytes) -> list[bytes]:
    answers = received.split(b"HTTP/1.1 200 OK\r\n")
    assert answers[0] == b"", received
    return answers[1:]


def _read_to_end(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_call_left_unanswered_closes_its_connection_and_the_next_call_opens_another(sandbox_path) -> None:
    with sandbox_server(sandbox_path, faults=FaultSpec(mode="drop-before", calls="writes")) as server:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            before = client.post(API_PATH, data=VERSION_CALL)
            with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
                client.post(API_PATH, data={**CREDENTIALS, "function": "add_phone_alias", "alias_id": "sales1",
                                            "alias_name": "Sales floor", "phone_logins": "100a"})
            after = client.post(API_PATH, data=VERSION_CALL)
        accepted = server.connections_accepted

    assert (before.status_code, after.status_code) == (200, 200)
    assert accepted == 2


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(sandbox_path) -> None:
    with sandbox_server(sandbox_path, keep_alive=0.3) as server:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
            raw.sendall(b"GET " + API_PATH.encode() + b"?function=version&source=test HTTP/1.1\r\n"
                        b"Host: sandbox\r\n\r\n")
            started = time.monotonic()
            received = _read_to_end(raw)        # the answer, then the end of the connection
            closed_after = time.monotonic() - started

    assert received.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\n\r\nVERSION: 2.14-202|" in received
    assert 0.3 <= closed_after < 3


def test_shutdown_closes_an_idle_connection_at_once_and_leaves_no_thread(sandbox_path) -> None:
    threads = threading.active_count()
    with httpx.Client(timeout=5) as client:
        with sandbox_server(sandbox_path, keep_alive=60) as server:
            assert client.post(server.url + API_PATH, data=VERSION_CALL).status_code == 200
            time.sleep(0.2)     # the server's thread is back waiting for the next call on the open connection
            started = time.monotonic()
        stopped_in = time.monotonic() - started
        with pytest.raises(httpx.ConnectError):
            client.post(server.url + API_PATH, data=VERSION_CALL)

    assert server.connections_accepted == 1
    assert stopped_in < 1.0
    assert threading.active_count() == threads


# ---------------------------------------------------------------- aliassync sandbox serve

def _serve_command(path, port: int) -> list[str]:
    return [sys.executable, "-m", "aliassync", "sandbox", "serve", str(path), "--port", str(port)]


def test_serve_on_a_busy_port_fails_in_one_line_without_claiming_to_serve(sandbox_path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(_serve_command(sandbox_path, port), capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert result.stderr == f"error: cannot serve the sandbox on 127.0.0.1:{port}: Address already in use\n"
    assert "serving" not in result.stdout + result.stderr


def test_serve_says_it_serves_only_once_the_port_takes_connections(sandbox_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(_serve_command(sandbox_path, port), stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        socket.create_connection(("127.0.0.1", port), timeout=2).close()    # at once: no retry, no wait
        answer = httpx.post(f"http://127.0.0.1:{port}{API_PATH}", data=VERSION_CALL, timeout=5)
    finally:
        process.terminate()
        process.communicate(timeout=10)

    assert line == (f"serving sandbox {sandbox_path} on http://127.0.0.1:{port}{API_PATH} and "
                    f"http://127.0.0.1:{port}/vicidial/admin.php (Ctrl-C stops)\n")
    assert answer.text.startswith("VERSION: 2.14-202|")
