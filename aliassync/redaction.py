"""Keeps secrets (API password, database password, a password in the API URL) out of every output.

Secrets are kept out structurally: plans, exports, result files and
progress lines hold only data and public URLs, and are never masked, so a
phone login `1234` stays `1234` even when a password is `1234` too. Only
the channels that can carry a secret pass through `redact()`, where that
channel's text is made:

- VICIdial's answers that are not VICIdial lines (an HTML error page, a
  proxy's error): such a body could echo anything. (Its echo of a bad
  login has exactly its password field masked, in vicidial/api.py.)
- messages built from a database driver's or HTTP library's exception;
- log records of other libraries (httpx, httpcore, pymysql) and every
  traceback, through `RedactingFormatter`.

Each secret is registered once, with a label naming it ("database
password"), when it is read from the environment or a file. VICIdial
strips a password to `[-_0-9A-Za-z]` and echoes the stripped form on a
failed login, so that form is registered too, and so are the URL-encoded
forms a URL or a form body would carry. Since data is never masked,
`labels_in()` tells which secrets equal a data value, for a warning.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
SECRET = "secret"   # the label of a secret registered without one

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_labels: dict[str, tuple[str, ...]] = {}   # a form data could hold (as is, stripped) -> labels, in registration order


def stripped(secret: str) -> str:
    """The secret as VICIdial keeps (and echoes) a password: only `[-_0-9A-Za-z]`."""
    return re.sub(r"[^-_0-9A-Za-z]", "", secret)


def _variants(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret), stripped(secret)}
    return {f for f in forms if f}


SHORT = 8   # a shorter secret is only masked where it stands alone (not inside a word or a hash)


def _alternative(secret: str) -> str:
    escaped = re.escape(secret)
    if len(secret) >= SHORT:
        return escaped
    return rf"(?<![0-9A-Za-z]){escaped}(?![0-9A-Za-z])"


def register(secret: str | None, label: str = SECRET) -> None:
    """Mark a value as secret from now on (empty values are ignored); `label` names it in warnings.

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
        for form in {secret, stripped(secret)} - {""}:
            known = _labels.get(form, ())
            if label not in known:
                _labels[form] = known + (label,)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***`.

    Only for text that may carry a secret (see the module doc): data is never passed through it.
    """
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def labels_in(values: Iterable[str]) -> list[str]:
    """The labels of the registered secrets equal to one of `values` (as is, or as VICIdial strips it).

    Changes nothing. One pass over `values` against a set of the few
    secret forms, so 100,000 aliases of five logins cost well under a
    second. The labels come in the order they were registered, each once.
    """
    with _lock:
        labels = dict(_labels)   # a snapshot: registration may go on in another thread
    if not labels:
        return []
    found = set(labels).intersection(values)
    named = {label for form in found for label in labels[form]}
    ordered = dict.fromkeys(label for known in labels.values() for label in known)
    return [label for label in ordered if label in named]


def forget_all() -> None:
    """For tests: drop every registered secret."""
    global _pattern
    with _lock:
        _secrets.clear()
        _labels.clear()
        _pattern = None


def _from_aliassync(record: logging.LogRecord) -> bool:
    return record.name == "aliassync" or record.name.startswith("aliassync.")


class RedactingFormatter(logging.Formatter):
    """Masks secrets in the log records that may carry one: those of other libraries
    (httpx, httpcore, pymysql) and any record with a traceback or a stack.

    aliassync's own lines carry only values masked where they were made
    (VICIdial's answers, driver errors), so they are left as they are: a
    phone login that happens to equal a password stays readable.
    """

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if _from_aliassync(record) and not record.exc_info and not record.stack_info:
            return text
        return redact(text)
