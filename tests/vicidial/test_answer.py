"""Every answer line of vicidial-api.md, parsed and classified; anything else is UNKNOWN."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from aliassync.vicidial.answer import Answer, parse_answer, unknown


@dataclass(frozen=True)
class Case:
    body: str
    kind: str
    function: str
    reason: str
    fields: tuple[str, ...]
    nothing_done: bool
    fatal: bool
    final: bool


def success(body, function, reason, fields):
    return Case(body, "SUCCESS", function, reason, fields, False, False, False)


def error(body, function, reason, fields, fatal=False, final=False):
    return Case(body, "ERROR", function, reason, fields, True, fatal, final or fatal)


def notice(body, function, reason, fields, fatal=False):
    return Case(body, "NOTICE", function, reason, fields, True, fatal, fatal)


CASES = {
    # the endpoint: login, lockout, IP block, version
    "login incorrect echoes the password": error(
        "ERROR: Login incorrect, please try again: |apiuser|s3cret|BAD|\n",
        "", "Login incorrect, please try again", ("apiuser", "s3cret", "BAD"), fatal=True),
    "too many login attempts": error(
        "ERROR: Too many login attempts, try again in 15 minutes: |apiuser|LOCK|\n",
        "", "Too many login attempts, try again in 15 minutes", ("apiuser", "LOCK"), fatal=True),
    "IP address not allowed": error(
        "ERROR: Your IP Address is not allowed: 10.0.0.9: |apiuser|IPBLOCK|\n",
        "", "Your IP Address is not allowed", ("10.0.0.9", "apiuser", "IPBLOCK"), fatal=True),
    "invalid source, two lines": error(
        "ERROR: Invalid Source - x\nERROR: Invalid Source: |x|\n",
        "", "Invalid Source", ("x",), fatal=True),
    "version": Case(
        "VERSION: 2.14-202|BUILD: 250720-1841|DATE: 2025-07-21 10:00:00|EPOCH: 1753110000"
        "|DST: 0|TZ: -5.00|TZNOW: -5.00|\n",
        "VERSION", "version", "", ("2.14-202", "250720-1841"), False, False, False),
    # add_phone_alias
    "no permission to use the function": error(
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |apiuser|add_phone_alias|\n",
        "auth", "USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION", ("apiuser", "add_phone_alias"),
        fatal=True),
    "no permission to add aliases": error(
        "ERROR: add_phone_alias USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES: |apiuser|0\n",
        "add_phone_alias", "USER DOES NOT HAVE PERMISSION TO ADD PHONE ALIASES", ("apiuser", "0"),
        fatal=True),
    "add without required fields": error(
        "ERROR: add_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |apiuser|s|Sales|100a\n",
        "add_phone_alias", "YOU MUST USE ALL REQUIRED FIELDS", ("apiuser", "s", "Sales", "100a"),
        final=True),
    "alias already exists": error(
        "ERROR: add_phone_alias PHONE ALIAS ALREADY EXISTS: |apiuser|sales1\n",
        "add_phone_alias", "PHONE ALIAS ALREADY EXISTS", ("apiuser", "sales1")),
    "add with a missing phone": error(
        "ERROR: add_phone_alias PHONE DOES NOT EXIST: |apiuser|100c\n",
        "add_phone_alias", "PHONE DOES NOT EXIST", ("apiuser", "100c"), final=True),
    "alias added": success(
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|sales1|Sales floor 1|100a,100b\n",
        "add_phone_alias", "PHONE ALIAS HAS BEEN ADDED", ("apiuser", "sales1", "Sales floor 1", "100a,100b")),
    # update_phone_alias
    "update without required fields": error(
        "ERROR: update_phone_alias YOU MUST USE ALL REQUIRED FIELDS: |apiuser|sales1||\n",
        "update_phone_alias", "YOU MUST USE ALL REQUIRED FIELDS", ("apiuser", "sales1", ""), final=True),
    "alias does not exist": error(
        "ERROR: update_phone_alias PHONE ALIAS DOES NOT EXIST: |apiuser|sales1\n",
        "update_phone_alias", "PHONE ALIAS DOES NOT EXIST", ("apiuser", "sales1")),
    "no permission to delete aliases is a NOTICE that refuses": notice(
        "NOTICE: update_phone_alias USER DOES NOT HAVE PERMISSION TO DELETE PHONE ALIASES: |apiuser|0\n",
        "update_phone_alias", "USER DOES NOT HAVE PERMISSION TO DELETE PHONE ALIASES", ("apiuser", "0"),
        fatal=True),
    "alias deleted": success(
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN DELETED - apiuser|sales1\n",
        "update_phone_alias", "PHONE ALIAS HAS BEEN DELETED", ("apiuser", "sales1")),
    "invalid alias name": error(
        "ERROR: update_phone_alias YOU MUST USE A VALID ALIAS NAME: |apiuser|S\n",
        "update_phone_alias", "YOU MUST USE A VALID ALIAS NAME", ("apiuser", "S"), final=True),
    "update with a missing phone": error(
        "ERROR: update_phone_alias PHONE DOES NOT EXIST: |apiuser|100c\n",
        "update_phone_alias", "PHONE DOES NOT EXIST", ("apiuser", "100c"), final=True),
    "no updates defined": notice(
        "NOTICE: update_phone_alias NO UPDATES DEFINED: |apiuser|\n",
        "update_phone_alias", "NO UPDATES DEFINED", ("apiuser",)),
    "alias updated": success(
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - apiuser|sales1|\n",
        "update_phone_alias", "PHONE ALIAS HAS BEEN UPDATED", ("apiuser", "sales1")),
    # add_phone / update_phone
    "add phone without required fields": error(
        "ERROR: add_phone YOU MUST USE ALL REQUIRED FIELDS: |apiuser|100|\n",
        "add_phone", "YOU MUST USE ALL REQUIRED FIELDS", ("apiuser", "100"), final=True),
    "server does not exist": error(
        "ERROR: add_phone SERVER DOES NOT EXIST: |apiuser|10.0.0.1\n",
        "add_phone", "SERVER DOES NOT EXIST", ("apiuser", "10.0.0.1"), final=True),
    "phone already exists on the server": error(
        "ERROR: add_phone PHONE ALREADY EXISTS ON THIS SERVER: |apiuser|10.0.0.1|100\n",
        "add_phone", "PHONE ALREADY EXISTS ON THIS SERVER", ("apiuser", "10.0.0.1", "100")),
    "phone login already exists": error(
        "ERROR: add_phone PHONE LOGIN ALREADY EXISTS: |apiuser|100a\n",
        "add_phone", "PHONE LOGIN ALREADY EXISTS", ("apiuser", "100a")),
    "invalid timezone": error(
        "ERROR: add_phone YOU MUST USE A VALID TIMEZONE: |apiuser|-5.5\n",
        "add_phone", "YOU MUST USE A VALID TIMEZONE", ("apiuser", "-5.5"), final=True),
    "template does not exist": error(
        "ERROR: add_phone TEMPLATE ID DOES NOT EXIST, THIS IS AN OPTIONAL FIELD: |apiuser|100a|SIPX\n",
        "add_phone", "TEMPLATE ID DOES NOT EXIST, THIS IS AN OPTIONAL FIELD", ("apiuser", "100a", "SIPX"),
        final=True),
    "no permission to add phones": error(
        "ERROR: add_phone USER DOES NOT HAVE PERMISSION TO ADD PHONES: |apilow|0\n",
        "add_phone", "USER DOES NOT HAVE PERMISSION TO ADD PHONES", ("apilow", "0"), fatal=True),
    "phone added": success(
        "SUCCESS: add_phone PHONE HAS BEEN ADDED - apiuser|100|10.0.0.1|SIP|100\n",
        "add_phone", "PHONE HAS BEEN ADDED", ("apiuser", "100", "10.0.0.1", "SIP", "100")),
    "phone not on the server": error(
        "ERROR: update_phone PHONE DOES NOT EXIST ON THIS SERVER: |apiuser|10.0.0.1|100\n",
        "update_phone", "PHONE DOES NOT EXIST ON THIS SERVER", ("apiuser", "10.0.0.1", "100")),
    "update phone without required fields": error(
        "ERROR: update_phone YOU MUST USE ALL REQUIRED FIELDS: |apiuser||\n",
        "update_phone", "YOU MUST USE ALL REQUIRED FIELDS", ("apiuser", ""), final=True),
    "update phone on a server that does not exist": error(
        "ERROR: update_phone SERVER DOES NOT EXIST: |apiuser|10.9.9.9\n",
        "update_phone", "SERVER DOES NOT EXIST", ("apiuser", "10.9.9.9"), final=True),
    "update phone with a login on another server": error(
        "ERROR: update_phone LOGIN ALREADY EXISTS: |apiuser|100b\n",
        "update_phone", "LOGIN ALREADY EXISTS", ("apiuser", "100b"), final=True),
    "update phone with a bad optional field": error(
        "ERROR: update_phone ACTIVE MUST BE Y OR N, THIS IS AN OPTIONAL FIELD: |apiuser|YES\n",
        "update_phone", "ACTIVE MUST BE Y OR N, THIS IS AN OPTIONAL FIELD", ("apiuser", "YES"), final=True),
    "update phone with a short outbound cid": error(
        "ERROR: update_phone OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS, THIS IS AN OPTIONAL FIELD: |apiuser|123\n",
        "update_phone", "OUTBOUND CID MUST BE FROM 6 TO 18 DIGITS, THIS IS AN OPTIONAL FIELD", ("apiuser", "123"),
        final=True),
    "update phone with a bad phone name": error(
        "ERROR: update_phone YOU MUST USE A VALID PHONE NAME: |apiuser|D\n",
        "update_phone", "YOU MUST USE A VALID PHONE NAME", ("apiuser", "D"), final=True),
    "no permission to update phones": error(
        "ERROR: update_phone USER DOES NOT HAVE PERMISSION TO UPDATE PHONES: |apilow|0\n",
        "update_phone", "USER DOES NOT HAVE PERMISSION TO UPDATE PHONES", ("apilow", "0"), fatal=True),
    "no permission to delete phones": notice(
        "NOTICE: update_phone USER DOES NOT HAVE PERMISSION TO DELETE PHONES: |apiuser|0\n",
        "update_phone", "USER DOES NOT HAVE PERMISSION TO DELETE PHONES", ("apiuser", "0"), fatal=True),
    "phone deleted": success(
        "SUCCESS: update_phone PHONE HAS BEEN DELETED - apiuser|100|10.0.0.1|\n",
        "update_phone", "PHONE HAS BEEN DELETED", ("apiuser", "100", "10.0.0.1")),
    "phone updated": success(
        "SUCCESS: update_phone PHONE HAS BEEN UPDATED - apiuser|100|10.0.0.1|\n",
        "update_phone", "PHONE HAS BEEN UPDATED", ("apiuser", "100", "10.0.0.1")),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_documented_answer_is_parsed_and_classified(case):
    answer = parse_answer(case.body)

    assert answer == Answer(case.kind, case.function, case.reason, case.fields, case.body.split("\n")[0])
    assert (answer.nothing_done, answer.fatal, answer.final) == (case.nothing_done, case.fatal, case.final)


def test_the_line_is_the_text_of_an_answer():
    assert str(parse_answer("ERROR: add_phone_alias PHONE DOES NOT EXIST: |apiuser|100c\n")) == (
        "ERROR: add_phone_alias PHONE DOES NOT EXIST: |apiuser|100c"
    )


def test_separators_do_not_decide_the_reason():
    # The same reason with the other shape's separator still means the same thing.
    answer = parse_answer("ERROR: add_phone_alias PHONE DOES NOT EXIST - apiuser|100c\n")

    assert (answer.kind, answer.reason, answer.fields, answer.final) == (
        "ERROR", "PHONE DOES NOT EXIST", ("apiuser", "100c"), True
    )


def test_an_unrecognised_notice_is_not_taken_as_a_refusal():
    answer = parse_answer("NOTICE: update_phone_alias SOMETHING NEW: |apiuser|\n")

    assert (answer.kind, answer.nothing_done, answer.fatal, answer.final) == ("NOTICE", False, False, False)


MALFORMED = {
    "empty body": ("", "empty answer"),
    "only a newline": ("\n", "not a VICIdial answer"),
    "no final newline (cut short)": (
        "SUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - apiuser|sales1|Sales|100a",
        "not a VICIdial answer",
    ),
    "two answers in one body": (
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - apiuser|a1|\n"
        "SUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - apiuser|a2|\n",
        "not a VICIdial answer",
    ),
    "invalid source line and something else": (
        "ERROR: Invalid Source - x\nSUCCESS: add_phone_alias PHONE ALIAS HAS BEEN ADDED - u|a|n|l\n",
        "not a VICIdial answer",
    ),
    "HTML error page": (
        "<html><head><title>500 Internal Server Error</title></head></html>\n",
        "not a VICIdial answer",
    ),
    "blank line before the answer": (
        "\nSUCCESS: update_phone_alias PHONE ALIAS HAS BEEN UPDATED - apiuser|sales1|\n",
        "not a VICIdial answer",
    ),
    "lower-case prefix": (
        "success: add_phone_alias PHONE ALIAS HAS BEEN ADDED - u|a|n|l\n", "not a VICIdial answer"
    ),
    "prefix without a reason": ("ERROR: add_phone_alias\n", "not a VICIdial answer"),
    "prefix without a space": ("ERROR:add_phone_alias PHONE DOES NOT EXIST: |u|l\n", "not a VICIdial answer"),
    "version without a build": ("VERSION: 2.14-202|\n", "not a VICIdial answer"),
    "plain text": ("OK\n", "not a VICIdial answer"),
}


@pytest.mark.parametrize("body, reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_anything_else_is_unknown(body, reason):
    answer = parse_answer(body)

    assert answer == Answer("UNKNOWN", reason=reason, line=body)
    assert (answer.nothing_done, answer.fatal, answer.final) == (False, False, False)
    assert str(answer) == reason


def test_an_answer_never_sent_is_certainly_nothing_done():
    answer = unknown("could not connect", sent=False)

    assert (answer.nothing_done, answer.fatal, answer.final) == (True, False, False)
