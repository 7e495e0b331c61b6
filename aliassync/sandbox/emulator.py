"""VICIdial's `/vicidial/non_agent_api.php`, emulated as a WSGI app over a sandbox store.

It answers as non_agent_api.php 2.14-202 (build 250720-1841) does for the
functions aliassync drives (see vicidial-api.md): characters are stripped
from every field before anything is checked, the checks run in VICIdial's
order, and the answer is VICIdial's exact line, always with HTTP 200 and
`Content-type: text/html; charset=utf-8` (but for PHP dying on an SQL error:
HTTP 500, empty body). What is not emulated: IP lists, two-factor logins,
user-group restrictions other than the phones update_phone may see, and
VICIdial's other functions.

The app is a plain WSGI callable, so faults (a 500 before or after the
write, an HTML page, an empty body, a dropped connection, latency) can be
added around it as WSGI middleware without touching it.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, fields as dataclass_fields
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Literal, Mapping
from urllib.parse import parse_qsl

from .store import DATETIME_FORMAT, DuplicateRow, Store

VERSION = "2.14-202"
BUILD = "250720-1841"
RESPONSE_HEADERS = (
    ("Content-type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-cache, must-revalidate"),
    ("Pragma", "no-cache"),
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# --------------------------------------------------------------------------
# The request: GET and POST fields, stripped as VICIdial strips them

# The characters VICIdial keeps in each field it reads (non_agent_api.php
# with use_non_latin off); everything else is removed before any check.
KEPT_CHARACTERS: Mapping[str, str] = {
    "function": "-_0-9a-zA-Z",
    "user": "-_0-9a-zA-Z",
    "pass": "-_0-9a-zA-Z",
    "source": "0-9a-zA-Z",
    "alias_id": "-_0-9a-zA-Z",
    "alias_name": "- +.:/@_0-9a-zA-Z",
    "phone_logins": "-,_0-9a-zA-Z",
    "delete_alias": "A-Z",
    "extension": "-_0-9a-zA-Z",
    "server_ip": "-.:_0-9a-zA-Z",
    "delete_phone": "A-Z",
    "dialplan_number": "*#0-9a-zA-Z",
    "voicemail_id": "0-9a-zA-Z",
    "phone_login": "-_0-9a-zA-Z",
    "phone_pass": "-_0-9a-zA-Z",
    "protocol": "0-9a-zA-Z",
    "registration_password": "-_0-9a-zA-Z",
    "phone_full_name": "- +._0-9a-zA-Z",
    "local_gmt": "-.0-9",
    "outbound_cid": "0-9",        # but the exact value ---ALL--- is kept (strip_fields)
    "email": "- '+.:/@%_0-9a-zA-Z",
    "phone_context": "-_0-9a-zA-Z",
    "admin_user_group": "-_0-9a-zA-Z",
    "active": "A-Z",
    "is_webphone": "-_0-9a-zA-Z",
    "webphone_auto_answer": "-_0-9a-zA-Z",
    "use_external_server_ip": "-_0-9a-zA-Z",
    "on_hook_agent": "-_0-9a-zA-Z",
    "template_id": "-_0-9a-zA-Z",
    "phone_ring_timeout": "0-9",
    "delete_vm_after_email": "a-zA-Z",
    "outbound_alt_cid": "0-9a-zA-Z",
}
_STRIPPERS = {name: re.compile(f"[^{kept}]") for name, kept in KEPT_CHARACTERS.items()}


def request_params(environ: Mapping[str, Any]) -> dict[str, str]:
    """GET and POST form fields; GET wins where both carry one (`$_GET` before `$_POST`)."""
    params = _form_fields(environ)
    params.update(_parse(environ.get("QUERY_STRING", "")))
    return params


def _form_fields(environ: Mapping[str, Any]) -> dict[str, str]:
    content_type = environ.get("CONTENT_TYPE", "").lower()
    if environ.get("REQUEST_METHOD") != "POST" or not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return _parse(environ["wsgi.input"].read(length).decode("utf-8", "replace"))


def _parse(text: str) -> dict[str, str]:
    """A repeated field keeps its last value, as PHP does."""
    return dict(parse_qsl(text, keep_blank_values=True))


def strip_fields(params: Mapping[str, str]) -> dict[str, str]:
    """Every field VICIdial reads, stripped to the characters it keeps ('' when absent)."""
    fields = {name: stripper.sub("", params.get(name, "")) for name, stripper in _STRIPPERS.items()}
    if params.get("outbound_cid") == "---ALL---":
        fields["outbound_cid"] = "---ALL---"
    fields["email"] = fields["email"].replace("+", " ")   # an apostrophe survives: see _statement
    return fields


# --------------------------------------------------------------------------
# Answers


@dataclass(frozen=True)
class Answer:
    """One result: `SUCCESS: <reason> - <user>|<data>` or `ERROR|NOTICE: <reason>: |<user>|<data>`."""

    result: Literal["SUCCESS", "ERROR", "NOTICE"]
    reason: str
    data: str

    def line(self, user: str) -> str:
        if self.result == "SUCCESS":
            return f"SUCCESS: {self.reason} - {user}|{self.data}\n"
        return f"{self.result}: {self.reason}: |{user}|{self.data}\n"


def version_line(store: Store, now: float) -> str:
    """`function=version`, answered before any login; the sandbox's clock has no DST."""
    server = store.fetch_one("servers", ("local_gmt",), {"active": "Y"})
    gmt = server["local_gmt"] if server else ""
    server_now = datetime.fromtimestamp(now, timezone(timedelta(hours=float(gmt or 0))))
    return (f"VERSION: {VERSION}|BUILD: {BUILD}|DATE: {server_now.strftime(DATETIME_FORMAT)}"
            f"|EPOCH: {int(now)}|DST: 0|TZ: {gmt}|TZNOW: {gmt or 0}|\n")


# --------------------------------------------------------------------------
# Login, with VICIdial's lockout

LOCK_ATTEMPTS = 10
LOCK_SECONDS = 15 * 60

Verdict = Literal["GOOD", "BAD", "LOCK"]


def authenticate(store: Store, user: str, password: str, now: float) -> Verdict:
    """VICIdial's user_authorization() for the API.

    A login needs the password, user_level above 6 and active='Y'. Failures
    count up to ten; the 15 minutes run from the last good login (or the
    last restart of the count): ten failures inside them lock the user,
    right password included, and a failure after them restarts the count
    at one. A good login clears the count.
    """
    row = store.fetch_one("vicidial_users", ("user_level", "active", "failed_login_count", "last_login_date"),
                          {"user": user})
    if row is None:
        return "BAD"
    failures = row["failed_login_count"]
    window_over = _epoch(row["last_login_date"]) < now - LOCK_SECONDS
    if (store.count("vicidial_users", {"user": user, "pass": password}) and row["user_level"] > 6
            and row["active"] == "Y" and (failures < LOCK_ATTEMPTS or window_over)):
        _start_login_window(store, user, 0, now)
        return "GOOD"
    if failures < LOCK_ATTEMPTS:
        store.update("vicidial_users", {"failed_login_count": failures + 1}, {"user": user})
        return "BAD"
    if window_over:
        _start_login_window(store, user, 1, now)
        return "BAD"
    return "LOCK"


def _start_login_window(store: Store, user: str, failures: int, now: float) -> None:
    store.update("vicidial_users", {"failed_login_count": failures, "last_login_date": _datetime_text(now)},
                 {"user": user})


def _epoch(text: str) -> float:
    return datetime.strptime(text, DATETIME_FORMAT).replace(tzinfo=timezone.utc).timestamp()


def _datetime_text(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime(DATETIME_FORMAT)


@dataclass(frozen=True)
class ApiUser:
    """The logged-in user's permission columns."""

    user_level: int
    active: str
    vdc_agent_api_access: str
    ast_admin_access: str
    ast_delete_phones: str
    api_allowed_functions: str
    user_group: str | None      # whose admin_viewable_groups limit the phones update_phone sees

    def may_call(self, function: str) -> bool:
        """VICIdial's test: ` <function> ` or ALL_FUNCTIONS in api_allowed_functions."""
        return f" {function} " in self.api_allowed_functions or "ALL_FUNCTIONS" in self.api_allowed_functions

    @property
    def may_administer(self) -> bool:
        """May add and update phones and aliases."""
        return self._api_admin(self.ast_admin_access)

    @property
    def may_delete(self) -> bool:
        """May delete phones and aliases."""
        return self._api_admin(self.ast_delete_phones)

    def _api_admin(self, flag: str) -> bool:
        return self.vdc_agent_api_access == "1" and flag == "1" and self.user_level >= 8 and self.active == "Y"


_API_USER_COLUMNS = tuple(field.name for field in dataclass_fields(ApiUser))


def _api_user(store: Store, user: str) -> ApiUser:
    return ApiUser(**store.fetch_one("vicidial_users", _API_USER_COLUMNS, {"user": user, "active": "Y"}))


# --------------------------------------------------------------------------
# The functions


@dataclass(frozen=True)
class Call:
    """One authenticated call of a function."""

    store: Store
    function: str
    user: str               # as sent, stripped: VICIdial echoes this spelling
    api_user: ApiUser
    fields: Mapping[str, str]
    ip: str
    now: float

    def error(self, reason: str, data: str) -> Answer:
        return Answer("ERROR", f"{self.function} {reason}", data)

    def notice(self, reason: str, data: str) -> Answer:
        return Answer("NOTICE", f"{self.function} {reason}", data)

    def success(self, reason: str, data: str) -> Answer:
        return Answer("SUCCESS", f"{self.function} {reason}", data)

    def log_admin(self, section: str, event_type: str, record_id: str, code: str, notes: str, sql: str) -> None:
        """The vicidial_admin_log row VICIdial writes after each change, with the statement that made it."""
        self.store.insert("vicidial_admin_log", {
            "event_date": _datetime_text(self.now), "user": self.user, "ip_address": self.ip,
            "event_section": section, "event_type": event_type, "record_id": record_id,
            "event_code": code, "event_sql": sql, "event_notes": notes})


def add_phone_alias(call: Call) -> Answer:
    alias_id, alias_name, logins = (call.fields[name] for name in ("alias_id", "alias_name", "phone_logins"))
    if len(alias_id) < 2 or len(logins) < 2 or not alias_name:
        return call.error("YOU MUST USE ALL REQUIRED FIELDS", f"{alias_id}|{alias_name}|{logins}")
    if call.store.count("phones_alias", {"alias_id": alias_id}):
        return call.error("PHONE ALIAS ALREADY EXISTS", alias_id)
    missing = _first_missing_login(call.store, logins)
    if missing is not None:
        return call.error("PHONE DOES NOT EXIST", missing)
    call.store.insert("phones_alias", {"alias_id": alias_id, "alias_name": alias_name, "logins_list": logins})
    call.log_admin("PHONEALIASES", "ADD", alias_id, "ADMIN API ADD PHONE ALIAS", f"phones: {logins}",
                   f"INSERT INTO phones_alias (alias_id,alias_name,logins_list) "
                   f"values('{alias_id}','{alias_name}','{logins}');")
    return call.success("PHONE ALIAS HAS BEEN ADDED", f"{alias_id}|{alias_name}|{logins}")


def update_phone_alias(call: Call) -> Answer:
    alias_id, alias_name, logins, delete = (
        call.fields[name] for name in ("alias_id", "alias_name", "phone_logins", "delete_alias"))
    if len(alias_id) < 2 or (len(logins) < 2 and not alias_name and not delete):
        return call.error("YOU MUST USE ALL REQUIRED FIELDS", f"{alias_id}|{alias_name}|{logins}")
    if not call.store.count("phones_alias", {"alias_id": alias_id}):
        return call.error("PHONE ALIAS DOES NOT EXIST", alias_id)
    if delete == "Y":
        return _delete_phone_alias(call, alias_id)
    changes = {}
    if alias_name:
        if not 2 <= len(alias_name) <= 50:
            return call.error("YOU MUST USE A VALID ALIAS NAME", alias_name)
        changes["alias_name"] = alias_name
    if len(logins) > 1:  # as in VICIdial, a one-character list is ignored
        missing = _first_missing_login(call.store, logins)
        if missing is not None:
            return call.error("PHONE DOES NOT EXIST", missing)
        changes["logins_list"] = logins
    if not changes:
        return call.notice("NO UPDATES DEFINED", "")
    call.store.update("phones_alias", changes, {"alias_id": alias_id})
    # "UPDATE PHONE", not "UPDATE PHONE ALIAS": VICIdial's own event code.
    assignments = ",".join(f"{column}='{value}'" for column, value in changes.items())
    call.log_admin("PHONEALIASES", "MODIFY", alias_id, "ADMIN API UPDATE PHONE", f"phones: {logins}",
                   f"UPDATE phones_alias set {assignments} where alias_id='{alias_id}';")
    return call.success("PHONE ALIAS HAS BEEN UPDATED", f"{alias_id}|")


def _delete_phone_alias(call: Call, alias_id: str) -> Answer:
    """Every other field is ignored; users whose phone_login names the alias are not checked."""
    if not call.api_user.may_delete:
        return call.notice("USER DOES NOT HAVE PERMISSION TO DELETE PHONE ALIASES", "0")
    call.store.delete("phones_alias", {"alias_id": alias_id})
    call.log_admin("PHONEALIASES", "DELETE", alias_id, "ADMIN API DELETE PHONE ALIAS", "",
                   f"DELETE FROM phones_alias where alias_id='{alias_id}' limit 1;")
    return call.success("PHONE ALIAS HAS BEEN DELETED", alias_id)


def _first_missing_login(store: Store, logins: str) -> str | None:
    """The first item of the comma list with no phone of that login ('' for an empty item)."""
    for login in logins.split(","):
        if not store.count("phones", {"login": login}):
            return login
    return None


# --------------------------------------------------------------------------
# Phones (vicidial-api.md, "add_phone / update_phone: managing phones")

PROTOCOLS = ("IAX2", "SIP", "Zap", "EXTERNAL")   # compared case-sensitively: `sip` and `PJSIP` are refused
GMT_OFFSETS = (
    "12.75", "12.00", "11.00", "10.00", "9.50", "9.00", "8.00", "7.00", "6.50", "6.00", "5.75", "5.50",
    "5.00", "4.50", "4.00", "3.50", "3.00", "2.00", "1.00", "0.00", "-1.00", "-2.00", "-3.00", "-3.50",
    "-4.00", "-5.00", "-6.00", "-7.00", "-8.00", "-9.00", "-10.00", "-11.00", "-12.00",
)
_GMT_NUMBERS = frozenset(float(offset) for offset in GMT_OFFSETS)
# A PHP numeric string, as what is left of local_gmt after filtering can spell one.
_PHP_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
BLANK = "--BLANK--"
# add_phone's fields with the length each needs, in the order VICIdial echoes them.
ADD_PHONE_REQUIRED = (
    ("extension", 2), ("dialplan_number", 2), ("voicemail_id", 1), ("phone_login", 1), ("phone_pass", 1),
    ("server_ip", 1), ("protocol", 1), ("registration_password", 1), ("phone_full_name", 1),
    ("local_gmt", 1), ("outbound_cid", 1),
)
# The optional Y/N fields of both functions and the values each takes, case-insensitively (the
# ENUM stores its own upper-case spelling); any other value is ignored without a word.
WEBPHONE_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "is_webphone": ("Y", "N", "Y_API_LAUNCH"),
    "webphone_auto_answer": ("Y", "N"),
    "use_external_server_ip": ("Y", "N"),
    "on_hook_agent": ("Y", "N"),
}


class ScriptDied(Exception):
    """PHP stopped on a database error: the web server answers HTTP 500 with an empty body."""


def valid_gmt(value: str) -> bool:
    """PHP's loose `==` against the 33 offsets: numeric strings compare as numbers (`-5` is `-5.00`)."""
    return _PHP_NUMBER.match(value) is not None and float(value) in _GMT_NUMBERS


def _webphone_choices(fields: Mapping[str, str]) -> dict[str, str]:
    """The webphone columns whose field holds a value VICIdial takes, stored as sent (the ENUM folds it)."""
    return {name: fields[name] for name, allowed in WEBPHONE_OPTIONS.items() if fields[name].upper() in allowed}


def _template(call: Call) -> tuple[str | None, Answer | None]:
    """template_id: `--BLANK--` (any case) is '', one character is ignored (None), more must exist."""
    template_id = call.fields["template_id"]
    if template_id.upper() == BLANK:
        return "", None
    if len(template_id) < 2:
        return None, None
    if not call.store.count("vicidial_conf_templates", {"template_id": template_id}):
        return None, call.error("TEMPLATE ID DOES NOT EXIST, THIS IS AN OPTIONAL FIELD",
                                f"{call.fields['phone_login']}|{template_id}")
    return template_id, None


def _sql_literal(value: Any) -> str:
    """A value as PHP pastes it into its SQL: between quotes, unescaped."""
    return str(value) if isinstance(value, int) else f"'{value}'"


def _statement(sql: str, values: Mapping[str, Any]) -> str:
    """The statement VICIdial runs (and logs in event_sql, passwords in clear).

    VICIdial does not escape the values it pastes in: one holding an
    apostrophe (only email can) breaks the statement, and PHP dies before
    anything is written.
    """
    if any(isinstance(value, str) and "'" in value for value in values.values()):
        raise ScriptDied(sql)
    return sql


def add_phone(call: Call) -> Answer:
    f = call.fields
    if any(len(f[name]) < least for name, least in ADD_PHONE_REQUIRED) or f["protocol"] not in PROTOCOLS:
        return call.error("YOU MUST USE ALL REQUIRED FIELDS", "|".join(f[name] for name, _ in ADD_PHONE_REQUIRED))
    extension, server_ip, login = f["extension"], f["server_ip"], f["phone_login"]
    if not call.store.count("servers", {"server_ip": server_ip}):
        return call.error("SERVER DOES NOT EXIST", server_ip)
    if call.store.count("phones", {"extension": extension, "server_ip": server_ip}):
        return call.error("PHONE ALREADY EXISTS ON THIS SERVER", f"{server_ip}|{extension}")
    if call.store.count("phones", {"login": login}):
        return call.error("PHONE LOGIN ALREADY EXISTS", login)
    if not valid_gmt(f["local_gmt"]):
        return call.error("YOU MUST USE A VALID TIMEZONE", f["local_gmt"])
    template_id, refusal = _template(call)
    if refusal is not None:
        return refusal
    row = {
        "extension": extension, "dialplan_number": f["dialplan_number"], "voicemail_id": f["voicemail_id"],
        "login": login, "pass": f["phone_pass"], "server_ip": server_ip, "protocol": f["protocol"],
        "conf_secret": f["registration_password"], "fullname": f["phone_full_name"],
        "local_gmt": f["local_gmt"], "outbound_cid": f["outbound_cid"],
        "phone_context": f["phone_context"] or "default", "email": f["email"], "active": "Y",
        "status": "ACTIVE", "user_group": f["admin_user_group"] or "---ALL---", "template_id": template_id or "",
        **_webphone_choices(f),
    }
    sql = _statement(f"INSERT INTO phones ({','.join(row)}) values({','.join(map(_sql_literal, row.values()))});",
                     row)
    try:
        call.store.insert("phones", row)
    except DuplicateRow:
        # The checks compare the whole extension; the column keeps 100 characters of it.
        raise ScriptDied(sql) from None
    call.log_admin("PHONES", "ADD", extension, "ADMIN API ADD PHONE", f"phone: {extension}|{server_ip}", sql)
    _rebuild_conf(call.store, server_ip)
    return call.success("PHONE HAS BEEN ADDED", f"{extension}|{server_ip}|{f['protocol']}|{f['dialplan_number']}")


@dataclass(frozen=True)
class PhoneOption:
    """An optional update_phone field: checked when given (not empty), in VICIdial's order.

    `blank` is what `--BLANK--` stores, for the fields that take it; `shown`
    names the field whose value the error line carries (the field itself,
    but for VICIdial's own slip on phone_ring_timeout).
    """

    field: str
    column: str
    valid: Callable[[Call, str], bool]
    reason: str
    blank: str | None = None
    shown: str | None = None


def _length(least: int, most: int) -> Callable[[Call, str], bool]:
    return lambda call, value: least <= len(value) <= most


def _one_of(*allowed: str) -> Callable[[Call, str], bool]:
    return lambda call, value: value in allowed


def _between(least: int, most: int) -> Callable[[Call, str], bool]:
    return lambda call, value: least <= int(value) <= most


def _gmt(call: Call, value: str) -> bool:
    return valid_gmt(value)


def _login_free(call: Call, login: str) -> bool:
    """VICIdial's check, as written: only a phone on another extension AND another server counts."""
    elsewhere = {"extension": call.fields["extension"], "server_ip": call.fields["server_ip"]}
    return not call.store.count("phones", {"login": login}, not_equal=elsewhere)


OPTIONAL = ", THIS IS AN OPTIONAL FIELD"
PHONE_OPTIONS = (
    PhoneOption("local_gmt", "local_gmt", _gmt, "YOU MUST USE A VALID TIMEZONE"),
    PhoneOption("email", "email", _length(5, 300), "YOU MUST USE A VALID EMAIL", blank=""),
    PhoneOption("phone_context", "phone_context", _length(2, 30), "YOU MUST USE A VALID PHONE CONTEXT", blank=""),
    PhoneOption("phone_full_name", "fullname", _length(2, 30), "YOU MUST USE A VALID PHONE NAME", blank=""),
    PhoneOption("registration_password", "conf_secret", _length(2, 30),
                "YOU MUST USE A VALID REGISTRATION PASSWORD", blank=""),
    PhoneOption("protocol", "protocol", _one_of(*PROTOCOLS), "YOU MUST USE A VALID PROTOCOL"),
    PhoneOption("phone_pass", "pass", _length(2, 30), "YOU MUST USE A VALID PHONE PASSWORD"),
    PhoneOption("phone_login", "login", _login_free, "LOGIN ALREADY EXISTS"),
    PhoneOption("voicemail_id", "voicemail_id", _length(2, 30), "YOU MUST USE A VALID VOICEMAIL NUMBER"),
    PhoneOption("dialplan_number", "dialplan_number", _length(3, 30), "YOU MUST USE A VALID DIALPLAN NUMBER"),
    PhoneOption("active", "active", _one_of("Y", "N"), "ACTIVE MUST BE Y OR N" + OPTIONAL),
    PhoneOption("outbound_cid", "outbound_cid", _length(6, 18),
                "OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL),
    PhoneOption("admin_user_group", "user_group", _length(2, 20),
                "USER GROUP MUST BE FROM 2 TO 20 CHARACTERS" + OPTIONAL),
    PhoneOption("outbound_alt_cid", "outbound_alt_cid", _length(6, 18),
                "OUTBOUND ALT CID MUST BE FROM 6 TO 18 DIGITS" + OPTIONAL),
    PhoneOption("phone_ring_timeout", "phone_ring_timeout", _between(2, 180),
                "PHONE RING TIMEOUT MUST BE FROM 2 TO 180 SECONDS" + OPTIONAL, shown="outbound_alt_cid"),
    PhoneOption("delete_vm_after_email", "delete_vm_after_email", _one_of("Y", "N"),
                "DELETE VOICEMAIL AFTER EMAIL MUST BE Y OR N" + OPTIONAL),
)


def update_phone(call: Call) -> Answer:
    """Keyed by (extension, server_ip); every call that reaches the end writes.

    VICIdial's "NO UPDATES DEFINED" branch cannot be reached (the SQL
    fragment it measures always holds `install_directory=''`): with no
    field, or only ignored values, the phone is still updated, logged and
    its server flagged for a rebuild.
    """
    extension, server_ip = call.fields["extension"], call.fields["server_ip"]
    if len(extension) < 2 or not server_ip:
        return call.error("YOU MUST USE ALL REQUIRED FIELDS", f"{extension}|{server_ip}")
    if not call.store.count("servers", {"server_ip": server_ip}):
        return call.error("SERVER DOES NOT EXIST", server_ip)
    phone = {"extension": extension, "server_ip": server_ip}
    if not _visible_phone(call, phone):
        return call.error("PHONE DOES NOT EXIST ON THIS SERVER", f"{server_ip}|{extension}")
    if call.fields["delete_phone"] == "Y":
        return _delete_phone(call, phone)
    changes: dict[str, Any] = {"install_directory": ""}
    for option in PHONE_OPTIONS:
        value = call.fields[option.field]
        if option.blank is not None and value == BLANK:
            changes[option.column] = option.blank
        elif value:
            if not option.valid(call, value):
                return call.error(option.reason, call.fields[option.shown or option.field])
            changes[option.column] = int(value) if option.column == "phone_ring_timeout" else value
    changes.update(_webphone_choices(call.fields))
    template_id, refusal = _template(call)
    if refusal is not None:
        return refusal
    if template_id is not None:
        changes["template_id"] = template_id
    assignments = ",".join(f"{column}={_sql_literal(value)}" for column, value in changes.items())
    sql = _statement(f"UPDATE phones set {assignments} where extension='{extension}' "
                     f"and server_ip='{server_ip}';", changes)
    call.store.update("phones", changes, phone)
    call.log_admin("PHONES", "MODIFY", extension, "ADMIN API UPDATE PHONE", f"phone: {extension}|{server_ip}", sql)
    _rebuild_conf(call.store, server_ip)
    return call.success("PHONE HAS BEEN UPDATED", f"{extension}|{server_ip}|")


def _visible_phone(call: Call, phone: Mapping[str, str]) -> bool:
    """Whether the phone exists and the API user's group may see it.

    VICIdial adds `user_group IN('---ALL---',<admin_viewable_groups>)` to
    the query unless the group's admin_viewable_groups holds `--ALL--` or
    is 3 characters or fewer; add_phone's checks have no such condition.
    """
    row = call.store.fetch_one("phones", ("user_group",), phone)
    if row is None:
        return False
    group = call.store.fetch_one("vicidial_user_groups", ("admin_viewable_groups",),
                                 {"user_group": call.api_user.user_group or ""})
    viewable = (group or {}).get("admin_viewable_groups") or ""
    if "--ALL--" in viewable.upper() or len(viewable) <= 3:
        return True
    listed = {"---ALL---", *viewable.replace(" -", "").split(" ")}
    return row["user_group"] is not None and row["user_group"].casefold() in {g.casefold() for g in listed}


def _delete_phone(call: Call, phone: Mapping[str, str]) -> Answer:
    """Every other field is ignored; aliases listing the phone and users naming it are not checked."""
    if not call.api_user.may_delete:
        return call.notice("USER DOES NOT HAVE PERMISSION TO DELETE PHONES", "0")
    extension, server_ip = phone["extension"], phone["server_ip"]
    call.store.delete("phones", phone)
    call.log_admin("PHONES", "DELETE", extension, "ADMIN API DELETE PHONE", f"phone: {extension}|{server_ip}",
                   f"DELETE from phones where extension='{extension}' and server_ip='{server_ip}' limit 1;")
    _rebuild_conf(call.store, server_ip)
    return call.success("PHONE HAS BEEN DELETED", f"{extension}|{server_ip}|")


def _rebuild_conf(store: Store, server_ip: str) -> None:
    """A phone write flags its server for an Asterisk rebuild, if that server generates its configuration."""
    store.update("servers", {"rebuild_conf_files": "Y"},
                 {"generate_vicidial_conf": "Y", "active_asterisk_server": "Y", "server_ip": server_ip})


@dataclass(frozen=True)
class ApiFunction:
    handler: Callable[[Call], Answer]
    refusal: str  # the reason given to a user without the admin permissions the function needs


FUNCTIONS: Mapping[str, ApiFunction] = {
    "add_phone_alias": ApiFunction(add_phone_alias, "USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES"),
    "update_phone_alias": ApiFunction(update_phone_alias, "USER DOES NOT HAVE PERMISSION TO UPDATE PHONE ALIASES"),
    "add_phone": ApiFunction(add_phone, "USER DOES NOT HAVE PERMISSION TO ADD PHONES"),
    "update_phone": ApiFunction(update_phone, "USER DOES NOT HAVE PERMISSION TO UPDATE PHONES"),
}


# --------------------------------------------------------------------------
# The script


def respond(store: Store, params: Mapping[str, str], ip: str, now: float) -> str:
    """The body non_agent_api.php answers to these request parameters."""
    fields = strip_fields(params)
    function, user, password, source = fields["function"], fields["user"], fields["pass"], fields["source"]
    if function == "version":
        return version_line(store, now)
    verdict = authenticate(store, user, password, now)
    if verdict == "LOCK":
        return f"ERROR: Too many login attempts, try again in 15 minutes: |{user}|LOCK|\n"
    if verdict == "BAD":
        return f"ERROR: Login incorrect, please try again: |{user}|{password}|BAD|\n"
    api_function = FUNCTIONS.get(function)
    if api_function is None:
        # A name VICIdial does not know, or none, reaches the script's last line. The
        # functions VICIdial has and the sandbox does not emulate get the same answer.
        return "ERROR: NO FUNCTION SPECIFIED\n"
    if len(source) < 2:
        return f"ERROR: Invalid Source - {source}\nERROR: Invalid Source: |{source}|\n"
    api_user = _api_user(store, user)
    if not api_user.may_call(function):
        refusal = Answer("ERROR", "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION", f"{function}|")
        return refusal.line(user)
    call = Call(store, function, user, api_user, fields, ip, now)
    if not api_user.may_administer:
        return call.error(api_function.refusal, "0").line(user)
    return api_function.handler(call).line(user)


def make_app(store: Store, clock: Callable[[], float] = time.time) -> WsgiApp:
    """The emulated script as a WSGI app; it answers on any path (the server mounts it).

    Always HTTP 200, but when PHP dies on a database error (ScriptDied):
    then HTTP 500 with an empty body, and nothing of the call is written.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            body = respond(store, request_params(environ), environ.get("REMOTE_ADDR", ""), clock()).encode()
        except ScriptDied:
            start_response("500 Internal Server Error", [*RESPONSE_HEADERS, ("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [*RESPONSE_HEADERS, ("Content-Length", str(len(body)))])
        return [body]

    return app
