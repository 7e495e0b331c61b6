"""Builds the Target a run talks to: the embedded sandbox or a real VICIdial.

The sandbox is used only when asked for (`--sandbox PATH`), and then no
ALIASSYNC_* setting of the environment is looked at: those name a real
VICIdial, whose password must never reach an emulator. A real target
needs its settings from the environment or the matching options; a
missing one is an error naming it, never a fall back to the sandbox.
Secrets read here are registered, each with a label naming it, before
anything is read or sent. The live state is read from exactly one place:
VICIdial's database (ALIASSYNC_DB_URL) or, on a hosted dialer, its admin
screens (ALIASSYNC_ADMIN_URL).
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Mapping

import httpx

from .. import redaction
from ..files import secrets
from ..errors import ConfigError
from ..vicidial.state_reader import SqlStateReader
from ..core.target import Target
from ..vicidial.api import ApiClient, ApiWriter, public_url, split_credentials

if TYPE_CHECKING:
    from ..vicidial.admin_reader import AdminScreenReader

SANDBOX_URL = "http://sandbox/vicidial/non_agent_api.php"
SANDBOX_USER = "6666"
SANDBOX_PASS = "1234"


@dataclass(frozen=True)
class TargetOptions:
    sandbox: str | None = None
    api_url: str | None = None
    api_user: str | None = None
    api_pass_file: str | None = None
    db_url_file: str | None = None
    admin_url: str | None = None
    source: str = "aliassync"


def _read_secret_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"the {what} file {path} is empty")
    return value


def _setting(option: str | None, env: Mapping[str, str], name: str, flag: str) -> str:
    value = option if option is not None else env.get(name)
    if not value:
        raise ConfigError(f"{name} is not set (or pass {flag}); "
                          "to try aliassync without a VICIdial, use --sandbox PATH")
    return value


def _secret(file_option: str | None, env: Mapping[str, str], name: str, flag: str, what: str) -> str:
    value = _read_secret_file(file_option, what) if file_option else env.get(name)
    if not value:
        raise ConfigError(f"{name} is not set (or pass {flag}); "
                          "to try aliassync without a VICIdial, use --sandbox PATH")
    redaction.register(value, what)
    return value


def check_sandbox_path(path: str) -> None:
    """Refuse a sandbox path that is not a file, saying what it is instead."""
    if os.path.isdir(path):
        raise ConfigError(f"sandbox {path} is a directory, not a sandbox file")
    if not os.path.isfile(path):
        raise ConfigError(f"sandbox {path} does not exist; create it with "
                          f"'aliassync sandbox init {path} --phones FILE'")


def _sandbox(options: TargetOptions, env: Mapping[str, str]) -> Target:
    from ..sandbox.emulator import make_app
    from ..sandbox.faults import FaultSpec, with_faults
    from ..sandbox.store import open_store

    path = options.sandbox
    check_sandbox_path(path)
    # Only the command line may change the sandbox's well-known login: the environment names a real VICIdial.
    user = options.api_user or SANDBOX_USER
    password = SANDBOX_PASS
    if options.api_pass_file:
        password = _read_secret_file(options.api_pass_file, "API password")
        redaction.register(password, "API password")

    def connect():
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    faults = FaultSpec.from_env(env)    # ALIASSYNC_SANDBOX_FAULTS: a flaky API, for tests and benchmarks

    def client() -> ApiClient:
        app = make_app(open_store(path))
        if faults is not None and faults.active:
            app = with_faults(app, faults)
        return ApiClient(SANDBOX_URL, user, password, options.source, transport=httpx.WSGITransport(app=app),
                         password_is_public=not options.api_pass_file)

    reader = SqlStateReader(connect, "?", f"sandbox {path}", errors=(sqlite3.Error,))
    return Target(f"sandbox {path}", reader, lambda: ApiWriter(client(), resolve_secret=secrets.resolve),
                  _version_probe(client))


def _version_probe(make_client: Callable[[], ApiClient]) -> Callable[[], str]:
    """Ask the API for VICIdial's version (no login) with a client of its own."""
    def version() -> str:
        client = make_client()
        try:
            return client.version()
        finally:
            client.close()
    return version


def _mysql_reader(url: str) -> SqlStateReader:
    import pymysql

    from ..vicidial.db_url import parse_db_url

    parts = parse_db_url(url)
    redaction.register(parts.password, "database password")

    def connect():
        return pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                               database=parts.database or "asterisk", charset="utf8mb4", autocommit=True,
                               connect_timeout=10, read_timeout=60)

    return SqlStateReader(connect, "%s", f"database {parts.public}", errors=(pymysql.MySQLError,))


def _admin_reader(url: str, options: TargetOptions, env: Mapping[str, str]) -> "AdminScreenReader":
    """Hosted mode: the state read through admin.php's screens, logged in as the API user."""
    from ..vicidial.admin_reader import AdminScreenReader

    bare_url, _ = split_credentials(url)   # a `user:pass@` is registered as a secret; the API user logs in
    try:
        usable = httpx.URL(bare_url).scheme in ("http", "https") and not httpx.URL(bare_url).query
    except httpx.InvalidURL:
        usable = False
    if not usable:
        raise ConfigError(f"admin URL must be an http:// or https:// URL of admin.php without a query: "
                          f"{public_url(url)}")
    user = _setting(options.api_user, env, "ALIASSYNC_API_USER", "--api-user")
    password = _secret(options.api_pass_file, env, "ALIASSYNC_API_PASS", "--api-pass-file", "API password")
    return AdminScreenReader(bare_url, user, password)


def _state_reader(options: TargetOptions, env: Mapping[str, str]) -> "SqlStateReader | AdminScreenReader":
    """The reader of exactly one state source: VICIdial's database, or its admin screens (hosted mode)."""
    admin_url = options.admin_url if options.admin_url is not None else env.get("ALIASSYNC_ADMIN_URL")
    db_given = bool(options.db_url_file or env.get("ALIASSYNC_DB_URL"))
    if admin_url and db_given:
        raise ConfigError("both ALIASSYNC_DB_URL and ALIASSYNC_ADMIN_URL are set (or --db-url-file and --admin-url "
                          "given); set exactly one: the live state is read from VICIdial's database or from its "
                          "admin screens, never both")
    if admin_url:
        return _admin_reader(admin_url, options, env)
    if not db_given:
        raise ConfigError("neither ALIASSYNC_DB_URL nor ALIASSYNC_ADMIN_URL is set (or pass --db-url-file or "
                          "--admin-url); set exactly one: where aliassync reads the live state, VICIdial's "
                          "database or, on a hosted dialer, its admin screens; to try it without a VICIdial, "
                          "use --sandbox PATH")
    db_url = (_read_secret_file(options.db_url_file, "database URL") if options.db_url_file
              else env.get("ALIASSYNC_DB_URL"))
    redaction.register(db_url, "database URL")
    return _mysql_reader(db_url)


def _real(options: TargetOptions, env: Mapping[str, str], needs_api: bool, writes: bool) -> Target:
    reader = _state_reader(options, env)
    api_url = options.api_url if options.api_url is not None else env.get("ALIASSYNC_API_URL")
    if api_url:
        split_credentials(api_url)   # registers a `user:pass@` password before anything is read
    if needs_api or writes:
        api_url = _setting(api_url, env, "ALIASSYNC_API_URL", "--api-url")
    make_writer = None
    if writes:   # every setting a write needs is checked before anything is read
        user = _setting(options.api_user, env, "ALIASSYNC_API_USER", "--api-user")
        password = _secret(options.api_pass_file, env, "ALIASSYNC_API_PASS", "--api-pass-file", "API password")

        def make_writer() -> ApiWriter:
            return ApiWriter(ApiClient(api_url, user, password, options.source), resolve_secret=secrets.resolve)

    version = _version_probe(lambda: ApiClient(api_url, "", "", options.source)) if api_url else lambda: None
    shown_api = public_url(api_url) if api_url else "(not set)"
    return Target(f"{reader.description}, API {shown_api}", reader, make_writer, version)


def resolve(options: TargetOptions, env: Mapping[str, str] | None = None, *, needs_api: bool = True,
            writes: bool = True) -> Target:
    """The target named by the options and environment.

    `writes=False` gives a target with no way to make a writer at all: the
    read-only commands (drift, export, validate) cannot write by construction.
    """
    env = os.environ if env is None else env
    if not options.sandbox:
        return _real(options, env, needs_api, writes)
    target = _sandbox(options, env)
    return target if writes else replace(target, make_writer=None)
