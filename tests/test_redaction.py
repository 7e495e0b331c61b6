"""Redaction: secrets never leave, and short ones do not mangle other text."""

from aliassync import redaction



def test_a_long_secret_is_masked_everywhere_in_every_form():
    redaction.register("Pa ss/w0rd!long")
    assert redaction.redact("ERROR: Login incorrect, please try again: |u|Passw0rdlong|BAD|") == (
        "ERROR: Login incorrect, please try again: |u|***|BAD|")    # VICIdial's stripped echo
    assert redaction.redact("pass=Pa%20ss%2Fw0rd%21long&x") == "pass=***&x"
    assert redaction.redact("prefixPa ss/w0rd!longsuffix") == "prefix***suffix"


def test_a_short_secret_is_masked_only_where_it_stands_alone():
    redaction.register("1234")
    assert redaction.redact("|6666|1234|BAD|") == "|6666|***|BAD|"
    assert redaction.redact("mysql://u:1234@host") == "mysql://u:***@host"
    assert redaction.redact("sha256:9f81234ab0") == "sha256:9f81234ab0"


# --- which secret equals a data value: data is never masked, so the user is told -----------------

def test_the_labels_of_the_secrets_that_equal_a_data_value():
    redaction.register("1234", "database password")
    redaction.register("Api.Pw-9", "API password")          # VICIdial keeps only ApiPw-9 of it

    assert redaction.labels_in(["100a", "Team one"]) == []
    assert redaction.labels_in(["100a", "1234"]) == ["database password"]
    assert redaction.labels_in(["ApiPw-9"]) == ["API password"]                     # the stripped form
    assert redaction.labels_in(iter(["ApiPw-9", "x", "1234", "1234"])) == ["database password", "API password"]


def test_a_secret_registered_twice_keeps_both_labels_once():
    redaction.register("Same0ne", "API password")
    redaction.register("Same0ne", "database password")
    redaction.register("Same0ne", "API password")

    assert redaction.labels_in(["Same0ne"]) == ["API password", "database password"]


def test_a_secret_among_100000_aliases_of_five_logins_is_found_once():
    # its time at this size: python -m bench.outputs
    redaction.register("1234", "database password")
    values = [f"{n:06d}{m}" for n in range(100_000) for m in "abcde"] + [f"alias{n}" for n in range(100_000)]
    values.append("1234")
    assert redaction.labels_in(values) == ["database password"]


# --- the log formatter: other libraries' lines and tracebacks masked, aliassync's own left alone ----

def _record(name: str, message: str, exc_info=None):
    import logging

    return logging.LogRecord(name, logging.INFO, __file__, 1, message, (), exc_info)


def test_the_formatter_masks_other_libraries_lines_and_tracebacks_only():
    import sys

    formatter = redaction.RedactingFormatter("%(name)s: %(message)s")
    redaction.register("1234")

    # aliassync's own lines carry data, masked where a secret could be: a login 1234 stays 1234
    assert formatter.format(_record("aliassync.apply", "apply: create 1234: done")) == (
        "aliassync.apply: apply: create 1234: done")
    assert formatter.format(_record("aliassync", "load: 1234 aliases")) == "aliassync: load: 1234 aliases"
    # another library's line could echo anything
    assert formatter.format(_record("httpx", "HTTP Request: POST http://u:1234@host/x")) == (
        "httpx: HTTP Request: POST http://u:***@host/x")
    assert formatter.format(_record("aliassyncish", "a 1234")) == "aliassyncish: a ***"
    # a traceback, even on aliassync's own record
    try:
        raise RuntimeError("driver said: password 1234 refused")
    except RuntimeError:
        text = formatter.format(_record("aliassync", "internal error", sys.exc_info()))
    assert "RuntimeError: driver said: password *** refused" in text
    assert "1234" not in text
