"""Database URLs: decoded parts, and errors that never hold the password."""
from __future__ import annotations

import pytest

from aliassync.vicidial.db_url import DbUrl, DbUrlError, parse_db_url


def test_parts_are_url_decoded() -> None:
    parsed = parse_db_url("mysql://ro%40reader:p%40ss%2Fw%3Ard@db.example:3307/asterisk")

    assert parsed == DbUrl(host="db.example", port=3307, user="ro@reader", password="p@ss/w:rd",
                           database="asterisk")


def test_port_password_and_database_may_be_left_out() -> None:
    assert parse_db_url("mysql://root@127.0.0.1/") == DbUrl(host="127.0.0.1", port=3306, user="root",
                                                            password="", database=None)


def test_the_password_is_shown_nowhere() -> None:
    parsed = parse_db_url("mysql://reader:s3cret@db.example/asterisk")

    assert "s3cret" not in repr(parsed)
    assert parsed.public == "mysql://reader@db.example:3306/asterisk"


MALFORMED = ("database URL: the host or port is malformed "
             "(URL-encode special characters in the password, e.g. %40 for @)")


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://reader:s3cret/x@db.example/asterisk", MALFORMED),
    ("mysql://reader:s3cret@db.example:99999/asterisk", MALFORMED),
    ("postgres://reader:s3cret@db.example/asterisk", "database URL must start with mysql://"),
    ("mysql://reader:s3cret@db.example/asterisk?ssl=1",
     "database URL: query parameters and fragments are not supported"),
    ("mysql://reader:s3cret@/asterisk", "database URL has no host"),
    ("mysql://:s3cret@db.example/asterisk", "database URL has no user"),
    ("mysql://reader:s3cret@db.example/asterisk/more", "database URL: the path must be just the database name"),
])
def test_errors_name_the_problem_without_the_password(url: str, message: str) -> None:
    with pytest.raises(DbUrlError) as error:
        parse_db_url(url)

    assert str(error.value) == message
