"""Keeps secrets (API password, database password) out of every output.

Secrets are registered once, when they are read from the environment or a
file; everything that leaves the process (stdout, stderr, logs, saved
plans, result files, error lines, tracebacks under --debug) passes through
`redact()`. VICIdial strips a password to `[-_0-9A-Za-z]` and echoes the
stripped form on a failed login, so that form is registered too, and so
are the URL-encoded forms a URL or a form body would carry.
"""
from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _variants(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    stripped = re.sub(r"[^-_0-9A-Za-z]", "", secret)
    if stripped:
        forms.add(stripped)
    return {f for f in forms if f}


SHORT = 8   # a shorter secret is only masked where it stands alone (not inside a word or a hash)


def _alternative(secret: str) -> str:
    escaped = re.escape(secret)
    if len(secret) >= SHORT:
        return escaped
    return rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"


def register(secret: str | None) -> None:
    """Mark a value as secret from now on (empty values are ignored).

    A long secret is masked wherever it appears; a short one (like a
    sandbox's `1234`) only where it is not part of a longer word, so it
    cannot mangle a checksum or an id that happens to contain it. Both
    cover VICIdial's echo `|user|pass|BAD|` and a URL's `user:pass@`.
    """
    global _pattern
    if not secret:
        return
    with _lock:
        _secrets.update(_variants(secret))
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(_alternative(s) for s in ordered))


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***`."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def forget_all() -> None:
    """For tests: drop every registered secret."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line (tracebacks included) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
