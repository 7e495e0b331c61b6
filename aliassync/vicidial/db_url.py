"""Parses `mysql://user:pass@host:port/database` URLs without ever echoing the password.

The password may hold any character when URL-encoded (`%40` for `@`,
`%2F` for `/`). A malformed URL can put the password where a host or a
port is expected, so no error message quotes any part of the URL text;
each names only what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError

DEFAULT_PORT = 3306


class DbUrlError(ConfigError):
    """A database URL that cannot be used; the message never holds the password."""


@dataclass(frozen=True)
class DbUrl:
    """The parts of a database URL, decoded; `repr()` leaves the password out."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str | None

    @property
    def public(self) -> str:
        """The URL as it may be shown to a user: everything but the password."""
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database or ''}"


def parse_db_url(url: str) -> DbUrl:
    """Split a `mysql://` URL into its decoded parts; the database may be left out."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DbUrlError("database URL: the host or port is malformed "
                         "(URL-encode special characters in the password, e.g. %40 for @)") from None
    if parts.scheme != "mysql":
        raise DbUrlError("database URL must start with mysql://")
    if parts.query or parts.fragment:
        raise DbUrlError("database URL: query parameters and fragments are not supported")
    if not parts.hostname:
        raise DbUrlError("database URL has no host")
    if not parts.username:
        raise DbUrlError("database URL has no user")
    database = unquote(parts.path.lstrip("/"))
    if "/" in database:
        raise DbUrlError("database URL: the path must be just the database name")
    return DbUrl(host=parts.hostname, port=port or DEFAULT_PORT, user=unquote(parts.username),
                 password=unquote(parts.password or ""), database=database or None)
