"""Phone passwords by reference: `{env: NAME}` or `{file: PATH}`, never a value in the files.

The loader turns each reference into a `SecretRef` (a file's path taken
relative to the file that names it, then written relative to the working
directory when it lies under it, else absolute: so plans and saved plans
show `conf/secrets/sip`, as the repository names it, not a path of the
machine that planned, and a pipeline applying from its checkout's root
finds the file it planned with) and checks, once per reference, that it can be
read and holds what VICIdial keeps as written: 2 to 30 characters of
`[-_0-9A-Za-z]`. A problem is one line naming the reference, never the
value. The value itself is read only by `resolve()`, where it is compared
or sent, and is registered for redaction the moment it is read.
"""
from __future__ import annotations

import os
import re
import stat

from .. import redaction
from ..core.phone import SecretRef
from ..errors import AliassyncError

# What VICIdial keeps of a password as written (update_phone: 2 to 30, other characters stripped).
VALUE = re.compile(r"[-_0-9A-Za-z]{2,30}")
MAX_READ = 4096               # a password file is tiny; a bigger one is not one
LABELS = {"phone_pass": "phone password", "registration_password": "registration password"}
RULE = "2 to 30 characters of letters, digits, '-' and '_'"


class SecretError(AliassyncError):
    """A password reference cannot be read, or does not hold a password VICIdial keeps as written."""


def reference(value: dict, naming_file: str) -> SecretRef:
    """The `SecretRef` of a `{env: NAME}` / `{file: PATH}` mapping written in `naming_file`."""
    if "env" in value:
        return SecretRef("env", value["env"])
    path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(naming_file)), value["file"]))
    here = os.getcwd()
    if os.path.commonpath([here, path]) == here and path != here:
        path = os.path.relpath(path, here)
    return SecretRef("file", path)


def _path(ref: SecretRef, base_dir: str | None) -> str:
    return os.path.join(base_dir, ref.name) if base_dir else ref.name


def _read(ref: SecretRef, base_dir: str | None = None) -> str:
    """The password `ref` names, or SecretError saying what is wrong (never the value)."""
    if ref.source == "env":
        value = os.environ.get(ref.name)
        if value is None:
            raise SecretError(f"environment variable {ref.name} is not set")
        if value == "":
            raise SecretError(f"environment variable {ref.name} is empty")
        if not VALUE.fullmatch(value):
            raise SecretError(f"environment variable {ref.name} must hold {RULE}")
        return value
    path = _path(ref, base_dir)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):   # a pipe or a device would block or never end
            raise SecretError(f"file {path} is not a regular file")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_READ + 1)
    except OSError as exc:
        raise SecretError(f"cannot read file {path}: {exc.strerror}") from None
    if raw in (b"", b"\n", b"\r\n"):
        raise SecretError(f"file {path} is empty")
    # One line end after the password is how editors and `echo` write a file: not part of it.
    for end in (b"\r\n", b"\n"):
        if raw.endswith(end):
            raw = raw[: -len(end)]
            break
    try:
        value = raw.decode("ascii")
    except UnicodeDecodeError:
        value = ""
    if not VALUE.fullmatch(value):
        raise SecretError(f"file {path} must hold {RULE} (one line end after them is allowed)")
    return value


def problem(ref: SecretRef) -> str | None:
    """Why `ref` cannot be used (one line, never the value), or None if it can."""
    try:
        _read(ref)
    except SecretError as error:
        return str(error)
    return None


def resolve(ref: SecretRef, base_dir: str | None = None, field: str = "phone_pass") -> str:
    """The password `ref` names, registered for redaction first (labelled by `field`:
    "phone password" or "registration password"); SecretError if it cannot be read.

    `base_dir` is for a file reference as written (relative); the loader's are absolute.
    """
    value = _read(ref, base_dir)
    redaction.register(value, LABELS.get(field, redaction.SECRET))
    return value
