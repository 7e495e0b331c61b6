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
