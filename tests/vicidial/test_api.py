"""The API client and writer against a real HTTP server on 127.0.0.1.

Each test scripts the server's replies; the server records every request
(method, path, raw body, form fields in order, client port) and stops at
the end of the test.
"""
from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest

from aliassync.errors import ApiError, ConfigError, TargetError
from aliassync.core.model import LiveAlias
from aliassync.core.plan import Action, AliasValues
from aliassync.retry import READS, Backoff
from aliassync.core.target import WriteOutcome
from aliassync.vicidial.api import ApiClient, ApiWriter

USER = "apiuser"
PASSWORD = "Pa55word_x9"
PATH = "/vicidial/non_agent_api.php"
LOGIN_INCORRECT = f"ERROR: Login incorrect, please try again: |{USER}|{PASSWORD}|BAD|\n"
LOGIN_INCORRECT_REDACTED = f"ERROR: Login incorrect, please try again: |{USER}|***|BAD|"
VERSION = (
    "VERSION: 2.14-202|BUILD: 250720-1841|DATE: 2025-07-21 10:00:00|EPOCH: 1753110000"
    "|DST: 0|TZ: -5.00|TZNOW: -5.00|\n"
)
HTML_PAGE = "<html><body><h1>It works!</h1></body></html>\n"
HTML_EXCERPT = repr(HTML_PAGE)


@dataclass(frozen=True)
class Reply:
    body: str = ""
    status: int = 200
    delay: float = 0.0        # seconds to wait before answering
    drop: bool = False        # close the connection without answering


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content_type: str
    body: bytes
    fields: tuple[tuple[str, str], ...]
    client_port: int


class _Server(ThreadingHTTPServer):
    daemon_threads = False    # server_close() waits for every handler


class FakeVicidial:
    """A scripted `non_agent_api.php` on a free port of 127.0.0.1."""

    def __init__(self):
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{PATH}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(fake: FakeVicidial):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"     # keep-alive, as a real web server
        timeout = 5

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append(Request(
                self.command, self.path, self.headers.get("Content-Type", ""), body,
                tuple(parse_qsl(body.decode(), keep_blank_values=True)), self.client_address[1],
            ))
            reply = fake.replies.popleft() if fake.replies else Reply("unexpected request\n", 500)
            if reply.drop:
                self.close_connection = True
                return
            fake.stopping.wait(reply.delay)
            self._send(reply)

        do_GET = do_POST

        def _send(self, reply: Reply) -> None:
            payload = reply.body.encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True    # the client gave up waiting

        def log_message(self, format, *args):
            pass

    return Handler



@pytest.fixture
def writer(client):
    return ApiWriter(client)


def sent_fields(function: str, *fields: tuple[str, str]):
    """What every logged-in call sends, in this order: the password is never last."""
    return (("function", function), ("user", USER), ("pass", PASSWORD), ("source", "aliassync")) + fields


def create(alias_id="sales1", name="Sales floor 1", logins=("100a", "100b")):
    return Action(f"create:{alias_id}", "create", alias_id, "declared",
                  after=AliasValues(alias_id, name, logins))


def update(alias_id, name, before, after):
    return Action(f"update:{alias_id}", "update", alias_id, "declared",
                  before=LiveAlias(alias_id, name, before), after=AliasValues(alias_id, name, after))


def delete(alias_id):
    return Action(f"delete:{alias_id}", "delete", alias_id, "prune",
                  before=LiveAlias(alias_id, "Old", "100a"))


def line(text: str) -> Reply:
    """VICIdial's way to answer: one line ending in a newline."""
    return Reply(text + "\n")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- what is sent ---------------------------------------------------------------------------

ADDED = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|sales1|Sales floor 1|100a,100b"
UPDATED = "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - apiuser|sales1|"
DELETED = "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN DELETED - apiuser|old7"


def test_create_posts_a_form_with_the_password_before_the_alias_fields(vicidial, writer):
    vicidial.script(line(ADDED))

    outcome = writer.write(create())

    assert outcome == WriteOutcome("success", ADDED)
    [request] = vicidial.requests
    assert (request.method, request.path, request.content_type) == (
        "POST", PATH, "application/x-www-form-urlencoded"
    )
    assert request.fields == sent_fields(
        "add_phone_alias",
        ("alias_id", "sales1"), ("alias_name", "Sales floor 1"), ("phone_logins", "100a,100b"),
    )
    assert request.body == (
        b"function=add_phone_alias&user=apiuser&pass=Pa55word_x9&source=aliassync"
        b"&alias_id=sales1&alias_name=Sales+floor+1&phone_logins=100a%2C100b"
    )


def test_update_sends_the_full_member_list_in_order(vicidial, writer):
    vicidial.script(line(UPDATED))

    outcome = writer.write(update("sales1", "Sales floor 1", before="a,b,c", after=("c", "b")))

    assert outcome == WriteOutcome("success", UPDATED)
    [request] = vicidial.requests
    assert request.fields == sent_fields(
        "update_phone_alias",
        ("alias_id", "sales1"), ("alias_name", "Sales floor 1"), ("phone_logins", "c,b"),
    )


def test_delete_sends_only_the_alias_id_and_a_capital_y(vicidial, writer):
    vicidial.script(line(DELETED))

    outcome = writer.write(delete("old7"))

    assert outcome == WriteOutcome("success", DELETED)
    [request] = vicidial.requests
    assert request.fields == sent_fields("update_phone_alias", ("alias_id", "old7"), ("delete_alias", "Y"))


def test_one_connection_serves_the_whole_run(vicidial, writer):
    vicidial.script(line(DELETED), line(DELETED.replace("old7", "old8")))

    writer.write(delete("old7"))
    writer.write(delete("old8"))

    first, second = vicidial.requests
    assert first.client_port == second.client_port


# --- what an answer means -------------------------------------------------------------------

REFUSALS = {  # answer, fatal (stop the run), final (no use sending it again)
    "missing phone": ("ERROR: add_phone_alias PHONE DOES NOT EXIST: |apiuser|100c", False, True),
    "alias exists": ("ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |apiuser|sales1", False, False),
    "no permission to add": (
        "ERROR: add_phone_alias USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES: |apiuser|0", True, True
    ),
    "lockout": ("ERROR: Too many login attempts, try again in 15 minutes: |apiuser|LOCK|", True, True),
    "IP block": ("ERROR: Your IP Address is not allowed: 10.0.0.9: |apiuser|IPBLOCK|", True, True),
}


@pytest.mark.parametrize("answer, fatal, final", REFUSALS.values(), ids=REFUSALS.keys())
def test_an_error_is_a_refusal(vicidial, writer, answer, fatal, final):
    vicidial.script(line(answer))

    # ALREADY EXISTS only tells the state: the applier reads the state to know whether the goal is met
    settle = "ALREADY EXISTS" in answer
    assert writer.write(create()) == WriteOutcome("refused", answer, fatal=fatal, final=final, settle_by_state=settle)


def test_a_delete_refused_by_a_notice_is_a_fatal_refusal(vicidial, writer):
    notice = "NOTICE: update_phone_alias USER DOES NOT HAVE PERMISSION TO DELETE PHONE ALIASES: |apiuser|0"
    vicidial.script(line(notice))

    assert writer.write(delete("old7")) == WriteOutcome("refused", notice, fatal=True, final=True)


UNKNOWNS = {
    "HTTP 500": (Reply("Internal Server Error\n", status=500), "HTTP 500 from {url}"),
    "HTML page": (Reply(HTML_PAGE), "not a VICIdial answer from {url}: " + HTML_EXCERPT),
    "empty body": (Reply(""), "empty answer from {url}"),
    "long page": (
        Reply("x" * 100),
        "not a VICIdial answer from {url}: '" + "x" * 80 + "'...",
    ),
    "dropped connection": (
        Reply(drop=True), "connection dropped by {url}: Server disconnected without sending a response."
    ),
    "read timeout": (Reply(VERSION, delay=5.0), "timed out after 0.5s waiting for an answer from {url}"),
}


@pytest.mark.parametrize("reply, message", UNKNOWNS.values(), ids=UNKNOWNS.keys())
def test_no_usable_answer_is_an_unknown_outcome(vicidial, writer, reply, message):
    vicidial.script(reply)

    assert writer.write(create()) == WriteOutcome("unknown", message.format(url=vicidial.url))
    assert len(vicidial.requests) == 1


def test_no_connection_means_nothing_was_written():
    url = f"http://127.0.0.1:{closed_port()}{PATH}"
    writer = ApiWriter(ApiClient(url, USER, PASSWORD))
    refused = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"

    outcome = writer.write(create())
    writer.close()

    assert outcome == WriteOutcome("refused", f"could not connect to {url}: {refused}; nothing was sent", sent=False)


MOCK_URL = "http://vicidial.test/vicidial/non_agent_api.php"
TRANSPORT_FAILURES = {
    "connect timeout": (
        httpx.ConnectTimeout("timed out"),
        WriteOutcome("refused", f"could not connect to {MOCK_URL}: timed out; nothing was sent", sent=False),
    ),
    "write timeout": (
        httpx.WriteTimeout("timed out"),
        WriteOutcome("unknown", f"timed out after 5s sending to {MOCK_URL}"),
    ),
    "connection reset": (
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        WriteOutcome("unknown", f"connection dropped by {MOCK_URL}: [Errno 104] Connection reset by peer"),
    ),
    "other failure, its text redacted": (
        httpx.ProxyError(f"proxy refused http://{USER}:{PASSWORD}@proxy.test"),
        WriteOutcome("unknown", f"request to {MOCK_URL} failed: proxy refused http://{USER}:***@proxy.test"),
    ),
}


@pytest.mark.parametrize("failure, expected", TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
def test_a_transport_failure_is_described_not_raised(failure, expected):
    def fail(request):
        raise failure

    writer = ApiWriter(ApiClient(MOCK_URL, USER, PASSWORD, transport=httpx.MockTransport(fail),
                                 timeout=httpx.Timeout(5.0)))

    assert writer.write(create()) == expected
    writer.close()


# --- secrets --------------------------------------------------------------------------------

def test_an_echoed_password_is_redacted_everywhere(vicidial, writer, caplog):
    caplog.set_level(logging.DEBUG)
    vicidial.script(Reply(LOGIN_INCORRECT))

    outcome = writer.write(create())

    assert outcome == WriteOutcome("refused", LOGIN_INCORRECT_REDACTED, fatal=True, final=True)
    assert PASSWORD not in repr(outcome)
    assert f"api add_phone_alias: {LOGIN_INCORRECT_REDACTED}" in caplog.messages
    assert PASSWORD not in caplog.text


# --- check_access ---------------------------------------------------------------------------

BOTH = {"add_phone_alias": "2 create(s)", "update_phone_alias": "1 update(s), 1 delete(s)"}


def test_check_access_probes_each_function_the_plan_needs_with_no_fields(vicidial, client):
    vicidial.script(Reply("ERROR: add_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |apiuser|||\n"),
                    Reply("ERROR: update_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |apiuser|||\n"))

    assert client.check_access(BOTH) is None
    assert [r.fields for r in vicidial.requests] == [sent_fields("add_phone_alias"), sent_fields("update_phone_alias")]


def test_check_access_names_the_function_a_user_may_not_call_and_what_needs_it(vicidial, client):
    # a user allowed only add_phone_alias: its updates would fail after its creates were written
    vicidial.script(Reply("ERROR: add_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |apiuser|||\n"),
                    Reply("ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|"
                          "update_phone_alias|\n"))

    with pytest.raises(ApiError) as refused:
        client.check_access(BOTH)

    assert str(refused.value) == (
        "apply refused, nothing written: user apiuser may not call update_phone_alias, which the plan needs for "
        "1 update(s), 1 delete(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: "
        "|apiuser|update_phone_alias|")


def test_check_access_tries_a_bad_password_once_and_never_shows_it(vicidial, client, caplog):
    caplog.set_level(logging.DEBUG)
    vicidial.script(Reply(LOGIN_INCORRECT), Reply(LOGIN_INCORRECT))

    with pytest.raises(ApiError) as refused:
        client.check_access(BOTH)

    assert str(refused.value) == f"VICIdial refused the login for user apiuser: {LOGIN_INCORRECT_REDACTED}"
    assert len(vicidial.requests) == 1
    assert PASSWORD not in caplog.text


def test_a_locked_user_is_told_when_to_try_again_after_one_call(vicidial, client):
    vicidial.script(Reply("ERROR: Too many login attempts, try again in 15 minutes: |apiuser|LOCK|\n"))

    earliest = datetime.now() + timedelta(minutes=15)
    with pytest.raises(ApiError) as refused:
        client.check_access(BOTH)
    latest = datetime.now() + timedelta(minutes=15)

    retry_at = {earliest.strftime("%H:%M"), latest.strftime("%H:%M")}
    assert str(refused.value) in {
        f"VICIdial has locked user apiuser after too many failed logins; nothing was written; check the password, "
        f"then try again in 15 minutes (after {at}): "
        "ERROR: Too many login attempts, try again in 15 minutes: |apiuser|LOCK|" for at in retry_at}
    assert len(vicidial.requests) == 1


ACCESS_REFUSALS = {
    "IP block": (
        "ERROR: Your IP Address is not allowed: 10.0.0.9: |apiuser|IPBLOCK|\n",
        "VICIdial refused the login for user apiuser: "
        "ERROR: Your IP Address is not allowed: 10.0.0.9: |apiuser|IPBLOCK|",
    ),
    "function not allowed": (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|add_phone_alias|\n",
        "apply refused, nothing written: user apiuser may not call add_phone_alias, which the plan needs for "
        "2 create(s): ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|add_phone_alias|",
    ),
    "no alias permission": (
        "ERROR: add_phone_alias USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES: |apiuser|0\n",
        "apply refused, nothing written: user apiuser may not call add_phone_alias, which the plan needs for "
        "2 create(s): ERROR: add_phone_alias USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES: |apiuser|0",
    ),
    "an answer a probe cannot get": (
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|x|y|z\n",
        "VICIdial access check of add_phone_alias got an unexpected answer: "
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|x|y|z",
    ),
}


@pytest.mark.parametrize("body, message", ACCESS_REFUSALS.values(), ids=ACCESS_REFUSALS.keys())
def test_check_access_stops_the_run_on_a_refusal(vicidial, client, body, message):
    vicidial.script(Reply(body))

    with pytest.raises(ApiError) as refused:
        client.check_access(BOTH)

    assert str(refused.value) == message
    assert len(vicidial.requests) == 1


def test_check_access_without_an_answer_is_a_target_error(vicidial, client):
    vicidial.script(Reply("Internal Server Error\n", status=500))

    with pytest.raises(TargetError) as failed:
        client.check_access(BOTH)

    assert str(failed.value) == f"VICIdial access check failed: HTTP 500 from {vicidial.url}"


# --- version --------------------------------------------------------------------------------

def test_version_needs_no_login(vicidial, writer):
    vicidial.script(Reply(VERSION))

    assert writer.version() == "2.14-202 build 250720-1841"
    [request] = vicidial.requests
    assert request.fields == (("function", "version"), ("source", "aliassync"))


def test_version_from_a_web_server_that_is_not_vicidial(vicidial):
    url_with_credentials = vicidial.url.replace("http://", f"http://{USER}:{PASSWORD}@")
    client = ApiClient(url_with_credentials, USER, PASSWORD)
    vicidial.script(Reply(HTML_PAGE))

    with pytest.raises(TargetError) as failed:
        client.version()
    client.close()

    assert str(failed.value) == (
        f"VICIdial version check failed: not a VICIdial answer from {vicidial.url}: {HTML_EXCERPT}"
    )


def test_version_answered_by_something_else_than_a_version_line(vicidial, client):
    vicidial.script(Reply("ERROR: Invalid Source - aliassync\nERROR: Invalid Source: |aliassync|\n"))

    with pytest.raises(TargetError) as failed:
        client.version()

    assert str(failed.value) == (
        f"VICIdial version check failed: {vicidial.url} answered 'ERROR: Invalid Source - aliassync'"
    )


def test_version_of_an_unreachable_url_is_tried_again_then_named():
    url = f"http://127.0.0.1:{closed_port()}{PATH}"
    sleeps = []
    client = ApiClient(url, USER, PASSWORD, sleep=sleeps.append)
    refused = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"

    with pytest.raises(TargetError) as failed:
        client.version()
    client.close()

    assert str(failed.value) == (
        f"VICIdial version check failed: could not connect to {url}: {refused}; nothing was sent"
    )
    assert len(sleeps) == READS.retries


def test_version_after_a_passing_failure_of_the_web_server(vicidial):
    sleeps = []
    client = ApiClient(vicidial.url, USER, PASSWORD, sleep=sleeps.append, timeout=httpx.Timeout(5.0, read=0.5))
    vicidial.script(Reply("Internal Server Error\n", status=503), Reply(""), Reply(drop=True), Reply(VERSION))

    assert client.version() == "2.14-202 build 250720-1841"
    client.close()

    assert len(vicidial.requests) == 4
    bounds = [READS.base, READS.base * 2, READS.base * 4]     # exponential, with full jitter below each
    assert len(sleeps) == 3 and all(0 <= delay <= bound for delay, bound in zip(sleeps, bounds))


def test_version_gives_up_when_the_retries_are_spent(vicidial, caplog):
    client = ApiClient(vicidial.url, USER, PASSWORD, sleep=lambda seconds: None,
                       retry=Backoff(base=0.01, retries=2))
    vicidial.script(*[Reply("Bad Gateway\n", status=502)] * 3)

    with pytest.raises(TargetError) as failed:
        client.version()
    client.close()

    assert str(failed.value) == f"VICIdial version check failed: HTTP 502 from {vicidial.url}"
    assert len(vicidial.requests) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m.split(";")[0] for m in warnings] == [f"VICIdial version check failed: HTTP 502 from {vicidial.url}"] * 2
    assert [m.split("(")[-1] for m in warnings] == ["retry 1 of at most 2)", "retry 2 of at most 2)"]


def test_a_page_that_is_not_vicidial_is_not_tried_again(vicidial):
    client = ApiClient(vicidial.url, USER, PASSWORD, sleep=lambda seconds: pytest.fail("slept"))
    vicidial.script(Reply(HTML_PAGE))

    with pytest.raises(TargetError):
        client.version()
    client.close()

    assert len(vicidial.requests) == 1


# --- settings -------------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["a", "", "alias-sync", "alias sync"])
def test_a_source_vicidial_would_refuse_is_a_config_error(source):
    with pytest.raises(ConfigError) as bad:
        ApiClient("http://127.0.0.1/vicidial/non_agent_api.php", USER, PASSWORD, source=source)

    assert str(bad.value) == f"API source {source!r} must be 2 or more characters of [0-9A-Za-z]"


@pytest.mark.parametrize("url, shown", [
    ("ftp://127.0.0.1/vicidial/non_agent_api.php", "ftp://127.0.0.1/vicidial/non_agent_api.php"),
    ("127.0.0.1/vicidial/non_agent_api.php", "127.0.0.1/vicidial/non_agent_api.php"),
    (f"http://127.0.0.1{PATH}?user=x&pass={PASSWORD}", f"http://127.0.0.1{PATH}"),
], ids=["not http", "no scheme", "query would override the form"])
def test_an_unusable_url_is_a_config_error(url, shown):
    with pytest.raises(ConfigError) as bad:
        ApiClient(url, USER, PASSWORD)

    assert str(bad.value) == f"API URL must be an http:// or https:// URL without a query: {shown}"


# --- answers are data: only the echo of a password is masked ---------------------------------

def test_an_answer_is_shown_as_it_is_even_where_it_holds_a_value_equal_to_the_password(vicidial):
    """A login may equal a password (VICIdial's default is 1234): VICIdial's answers are data."""
    client = ApiClient(vicidial.url, USER, "1234")
    added = "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|1234|Team 1234|1234,100b"
    vicidial.script(line(added))

    outcome = ApiWriter(client).write(create("1234", "Team 1234", ("1234", "100b")))
    client.close()

    assert outcome == WriteOutcome("success", added)


def test_a_bad_login_echo_has_exactly_its_password_field_masked(vicidial, writer, caplog):
    """Whatever the field holds (here not the password sent), and nothing else of the line."""
    caplog.set_level(logging.DEBUG)
    vicidial.script(line("ERROR: Login incorrect, please try again: |1234|Typo_9|BAD|"))

    outcome = writer.write(create())

    masked = "ERROR: Login incorrect, please try again: |1234|***|BAD|"
    assert outcome == WriteOutcome("refused", masked, fatal=True, final=True)
    assert f"api add_phone_alias: {masked}" in caplog.messages
    assert "Typo_9" not in caplog.text


def test_a_page_that_is_not_vicidial_has_every_secret_masked(vicidial):
    client = ApiClient(vicidial.url, USER, PASSWORD, sleep=lambda seconds: None)
    vicidial.script(Reply(f"<html>proxy: login {USER}:{PASSWORD} refused</html>\n", status=502),
                    *[Reply("Bad Gateway\n", status=502)] * READS.retries)

    with pytest.raises(TargetError) as failed:
        client.version()
    client.close()

    assert PASSWORD not in str(failed.value)


def test_a_password_in_the_url_is_sent_as_basic_auth_and_never_logged(caplog):
    """httpx logs every request's URL (`HTTP Request: POST http://...`): the URL it gets holds no password."""
    import base64

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")   # an earlier run in this process may have quieted it
    seen = []

    def answer(request):
        seen.append((str(request.url), request.headers.get("Authorization")))
        return httpx.Response(200, text=VERSION)

    client = ApiClient(MOCK_URL.replace("http://", "http://web:Web-Pw_77@"), USER, PASSWORD,
                       transport=httpx.MockTransport(answer))
    assert client.version() == "2.14-202 build 250720-1841"
    client.close()

    assert seen == [(MOCK_URL, "Basic " + base64.b64encode(b"web:Web-Pw_77").decode())]
    assert f"HTTP Request: POST {MOCK_URL}" in caplog.text
    assert "Web-Pw_77" not in caplog.text
