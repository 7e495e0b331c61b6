"""Reads VICIdial's live state through its admin screens (`admin.php`), read-only: hosted mode.

For dialers that give an admin web login and API access but no database
account (vicidial-api.md, "Reading through the admin screens"). The same
StateReader as the database's (state_reader.py), over HTTP basic auth with
the API user's login:

- `read()` costs 4 requests whatever the size of the dialer: the check
  that the user sees every record (the "Admin User Group" choices of an
  alias form offer `---ALL---`), the alias list, the phone list, and the
  logins of the active phones (the call-menu screen's header script),
  joined with the phone list on (extension, server_ip); plus one phone
  page for each phone missing from the active list (its login and
  `active` are on no bulk page);
- `read_phones()` (when the files manage phones) adds the server list and
  one page per phone: the managed fields are on no bulk page. The phone
  page shows the passwords in clear; each is compared here with the
  declared one, in memory, and dropped at once: never logged, kept or
  returned (not even as a hash). Which phones share a password (for
  export) is worked out in the same pass and kept as group numbers only;
- the conflict checks before and after writes read just the records
  concerned: one alias page each, one phone page each (`read_phone_at`,
  by the key the action names); reading phones by login alone
  (`read_phone_rows`) takes the two bulk phone pages, then the pages of
  the phones concerned and of the inactive ones.

The pages print values unescaped (a name holding `&`, `<b>` or a quote
comes out as those bytes), so they are cut on fixed markers, never
decoded by an HTML parser. A page that does not cut cleanly, a restricted
reader, an unknown admin version, a refusal: one TargetError, nothing
planned on half a picture. What the screens cannot show is said, not
guessed: agents' default phone logins (there is no list of users), so
`Current.agent_logins` is None and the deletes it would guard are refused
unless the run accepts the risk; conf templates (None: VICIdial's own
check applies); whether an alias's members share a password (every
phone's `pass_group` is 0).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from secrets import token_bytes
from typing import Callable, Iterable, Mapping

import httpx

from .. import __version__, redaction
from ..bulk import collector_paused
from ..core.model import Current, LiveAlias, Phone, fold
from ..core.phone import COLUMNS, SECRET_COLUMNS, LivePhone, by_login
from ..errors import TargetError
from ..retry import READS, Backoff, retrying
from .api import DEFAULT_TIMEOUT, public_url

log = logging.getLogger("aliassync.state")

ALIASES = {"ADD": "12000000000"}
PHONES = {"ADD": "10000000000", "status": "display_all"}
SERVERS = {"ADD": "100000000000"}
# A call menu that does not exist: its screen only views, and its header script lists the active phones.
# (The sibling screens 2511, 2611, 4511 and 5511 build the same list but add, copy, modify or delete a menu.)
ACTIVE_PHONES = {"ADD": "3511", "menu_id": "aliassync-none"}
# An alias that does not exist: an empty form whose "Admin User Group" choices show whether the user sees all.
PROBE_ALIAS = "aliassync-probe"
NO_PERMISSION = "You do not have permission to be here"
UNRESTRICTED = '<option value="---ALL---">'
KNOWN_VERSIONS = ("2.14-",)   # the admin versions whose screens this reader cuts (2.14-930a and 2.14-942a seen)
CELL = "</td><td><font size=1>"
ROW_OPEN = "<td><font size=1>"
BOX_END = '"></td></tr>\n'
OPTION_END = "</option></select></td></tr>\n"
_FOOTER = re.compile(r"VERSION: ([-.0-9A-Za-z]+) BUILD: ([-.0-9A-Za-z]+)")
# What a per-record URL keeps of each key (admin.php strips the rest).
_URL_SAFE = {"alias_id": re.compile(r"[-_0-9A-Za-z]+"), "extension": re.compile(r"[-_0-9A-Za-z]+"),
             "server_ip": re.compile(r"[.0-9]+")}
WORKERS = 4   # phone pages in flight at once (one pooled client; 7 ms a page on a real dialer)
# The phone page's fields the reader needs, besides the managed COLUMNS and the passwords.
_PHONE_KEYS = ("extension", "server_ip", "login")


@dataclass(frozen=True)
class _PhonePage:
    """What one phone page says, passwords excepted (those never leave `_phone_page`)."""

    login: str
    extension: str
    server_ip: str
    fields: Mapping[str, str]
    secrets_match: Mapping[str, bool]
    groups: Mapping[str, tuple[bytes, bool]]   # per password: a keyed digest (this run's key only), fits


class _Transient(Exception):
    """A failure of the network or the web server that another try may not meet."""


class AdminScreenReader:
    """A StateReader over VICIdial's admin.php at `url`, logged in as `user` (HTTP basic auth).

    `requests` counts the pages asked for, so tests and benchmarks can
    prove what a run costs.
    """

    # what makes the delete right readable, for the applier's refusal when it is not
    delete_right_remedy = "give the user modify_users, so that the admin screens show its own user page"

    def __init__(self, url: str, user: str, password: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, retry: Backoff = READS,
                 sleep: Callable[[float], None] = time.sleep, workers: int = WORKERS,
                 password_is_public: bool = False):
        if not password_is_public:
            redaction.register(password, "API password")
        self.url = url
        self.public_url = public_url(url)
        self.description = f"admin screens {self.public_url}"
        self.user = user
        self._retry = retry
        self._sleep = sleep
        self._workers = workers
        self._http = httpx.Client(auth=httpx.BasicAuth(user, password), transport=transport, timeout=timeout,
                                  headers={"User-Agent": f"aliassync/{__version__}"},
                                  limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers))
        self._lock = threading.Lock()
        self._login_failed: str | None = None
        self._checked = False
        self._keys: list[tuple[str, str]] | None = None     # the phone list of this run's read()
        self._active: dict[tuple[str, str], str] | None = None
        self._groups: dict[tuple[str, str, str], dict[str, tuple[int, bool]]] | None = None
        self.requests = 0
        self.version: str | None = None

    # ------------------------------------------------------------ one page

    def _page(self, params: Mapping[str, str], what: str) -> str:
        """The text of one page, its footer checked; transient failures are tried again, with backoff."""
        with self._lock:
            if self._login_failed:   # one failed login per run: never send the same credentials again
                raise TargetError(self._login_failed)
        try:
            body = retrying(lambda: self._get(params), lambda failure: isinstance(failure, _Transient), self._retry,
                            sleep=self._sleep, on_retry=self._log_retry)
        except _Transient as failure:
            raise TargetError(f"cannot read the live state from {self.description}: {failure}") from None
        if NO_PERMISSION in body:
            raise TargetError(f"cannot read the live state from {self.description}: user {self.user} may not "
                              f"read {what} (admin.php answered \"{NO_PERMISSION}\"); the admin screens need an "
                              "active user of level 8 or more that is not API-only")
        found = _FOOTER.search(body)
        if found is None:
            raise TargetError(f"cannot read the live state from {self.description}: {what} does not parse "
                              "(no VERSION/BUILD footer: not admin.php, or a page this reader does not know); "
                              "nothing was planned")
        version = f"{found[1]} build {found[2]}"
        if not found[1].startswith(KNOWN_VERSIONS):
            raise TargetError(f"cannot read the live state from {self.description}: admin.php {version} is not "
                              f"a version whose screens this reader knows ({', '.join(KNOWN_VERSIONS)}x); "
                              "nothing was planned")
        self.version = version
        return body

    def _get(self, params: Mapping[str, str]) -> str:
        with self._lock:
            self.requests += 1
        try:
            response = self._http.get(self.url, params=params)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(f"{type(exc).__name__} from {self.public_url}: "
                             f"{redaction.redact(str(exc)) or 'no answer'}") from None
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot read the live state from {self.description}: "
                              f"{redaction.redact(str(exc)) or type(exc).__name__}") from None
        log.debug("state: admin.php ADD=%s -> HTTP %d, %d bytes", params.get("ADD"), response.status_code,
                  len(response.content))
        if response.status_code == 401:   # the body echoes the submitted password: never shown, never kept
            message = (f"VICIdial refused the admin screens' login for user {self.user} at {self.public_url} "
                       "(HTTP 401); check ALIASSYNC_API_USER and ALIASSYNC_API_PASS; nothing was read or written")
            with self._lock:
                self._login_failed = message
            raise TargetError(message)
        if response.status_code >= 500 or response.status_code == 429 or not response.content:
            raise _Transient(f"HTTP {response.status_code} from {self.public_url}")
        if response.status_code != 200:
            raise TargetError(f"cannot read the live state from {self.description}: HTTP {response.status_code}")
        return response.text

    def _log_retry(self, failure: Exception, retry: int, delay: float) -> None:
        log.warning("state: %s; trying again in %.1fs (retry %d of at most %d)", failure, delay, retry,
                    self._retry.retries)

    def _unparseable(self, what: str, why: str) -> TargetError:
        return TargetError(f"cannot read the live state from {self.description}: {what} does not parse ({why}); "
                           "nothing was planned")

    # ------------------------------------------------------------ the pages read

    def _check_unrestricted(self) -> None:
        """Refuse a user whose group cannot see every record: its lists would silently leave some out."""
        if self._checked:
            return
        page = self._page({"ADD": "32111111111", "alias_id": PROBE_ALIAS}, "the alias form")
        start = page.find(" name=user_group>")
        end = page.find("</select>", start)
        if start < 0 or end < 0:
            raise self._unparseable("the alias form", "no Admin User Group select")
        if UNRESTRICTED not in page[start:end]:
            raise TargetError(f"cannot read the live state from {self.description}: user {self.user} does not see "
                              "every record (its user group's admin_viewable_groups is restricted: the Admin User "
                              "Group choices do not offer ---ALL---); its lists would leave records out, so nothing "
                              "was planned; read with a user whose group may view all groups")
        self._checked = True

    def _aliases(self) -> list[LiveAlias]:
        page = self._page(ALIASES, "the alias list")
        return [LiveAlias(alias_id, cells[0], cells[1])
                for alias_id, cells in _list_rows(page, "?ADD=32111111111&alias_id=", 3, _same_text, "the alias list",
                                                  self._unparseable)]

    def _phone_keys(self) -> list[tuple[str, str]]:
        page = self._page(PHONES, "the phone list")
        keys = []
        for extension, cells in _list_rows(page, "?ADD=31111111111&extension=", 7, _phone_link, "the phone list",
                                           self._unparseable):
            keys.append((extension, cells[0]))
        return keys

    def _active_logins(self, keys: Iterable[tuple[str, str]], page: str | None = None,
                       gone_ok: bool = False) -> dict[tuple[str, str], str]:
        """(extension, server_ip) -> login of every active phone, from the call-menu screen's script
        (`page`, when it was read before the phone list). With `gone_ok`, a phone the phone list no
        longer holds is left out (a read-back: it is gone now) instead of refusing the pages."""
        if page is None:
            page = self._page(ACTIVE_PHONES, "the call menu screen")
        what = "the active phones' list (var phone_list)"
        start = page.find("var phone_list = '")
        if start < 0:
            raise self._unparseable(what, "no var phone_list")
        start += len("var phone_list = '")
        end = page.find("';\n", start)
        if end < 0:
            raise self._unparseable(what, "it does not end")
        known = set(keys)
        found: dict[tuple[str, str], str] = {}
        items = page[start:end].split("</option>")
        if items[-1] != "":
            raise self._unparseable(what, "text after the last option")
        for item in items[:-1]:
            if not item.startswith('<option value="'):
                raise self._unparseable(what, "an entry is not an option")
            value, sep, text = item[len('<option value="'):].partition('">')
            if not sep or not text.startswith(value + " - "):
                raise self._unparseable(what, "an option does not start with its login")
            rest = text[len(value) + 3:]
            server_ip, sep, rest = rest.partition(" - ")
            candidates = [rest[:m.start()] for m in re.finditer(" - ", rest) if (rest[:m.start()], server_ip) in known]
            if sep and not candidates and gone_ok:
                continue
            if not sep or len(candidates) != 1:
                raise self._unparseable(what, f"the option of login {value} names no single phone of the phone list")
            key = (candidates[0], server_ip)
            if key in found:
                raise self._unparseable(what, f"phone {key[0]} on {server_ip} is listed twice")
            found[key] = value
        return found

    def _servers(self) -> frozenset[str]:
        page = self._page(SERVERS, "the server list")
        return frozenset(cells[1] for _, cells in _list_rows(page, "?ADD=311111111111&server_id=", 4, _same_text,
                                                              "the server list", self._unparseable))

    def _phone_page(self, extension: str, server_ip: str,
                    declared_for: Callable[[str], Mapping[str, str] | None] | None = None,
                    key: bytes | None = None, gone_ok: bool = False) -> _PhonePage | None:
        """One phone's page; its passwords compared with what `declared_for(login)` declares and
        digested with `key` (this run's), then dropped. A phone gone since the phone list was read is
        None with `gone_ok` (a read-back: it is gone now), else a refusal (a plan's pages disagree)."""
        what = f"the page of phone {extension} on {server_ip}"
        for name, value in (("extension", extension), ("server_ip", server_ip)):
            if not _URL_SAFE[name].fullmatch(value):
                raise TargetError(f"cannot read the live state from {self.description}: phone {extension} on "
                                  f"{server_ip} cannot be opened through the admin screens (admin.php strips "
                                  f"characters of its {name} from the URL); nothing was planned")
        page = self._page({"ADD": "31111111111", "extension": extension, "server_ip": server_ip}, what)
        values = {name: _form_value(page, name, what, self._unparseable)
                  for name in (*_PHONE_KEYS, *COLUMNS.values(), *SECRET_COLUMNS.values())}
        del page   # it holds the passwords in clear
        if fold(values["extension"]) != fold(extension) or values["server_ip"] != server_ip:
            if gone_ok:
                return None
            raise TargetError(f"cannot read the live state from {self.description}: phone {extension} on {server_ip} "
                              "is in the phone list but its page is empty (deleted or hidden while being read; the "
                              "screens are not one snapshot); run again")
        declared = declared_for(values["login"]) if declared_for is not None else None
        secrets_match: dict[str, bool] = {}
        groups: dict[str, tuple[bytes, bool]] = {}
        for field, column in SECRET_COLUMNS.items():
            stored = values.pop(column)
            if declared is not None and field in declared:
                secrets_match[field] = hmac.compare_digest(stored.encode("utf-8"), declared[field].encode("utf-8"))
            if key is not None:
                groups[field] = (hmac.new(key, stored.encode("utf-8"), hashlib.sha256).digest(),
                                 bool(re.fullmatch(r"[-_0-9A-Za-z]{2,30}", stored)))
            del stored
        return _PhonePage(values["login"], values["extension"], values["server_ip"],
                          {field: values[column] for field, column in COLUMNS.items()}, secrets_match, groups)

    def _pages(self, keys: list[tuple[str, str]],
               declared_for: Callable[[str], Mapping[str, str] | None] | None = None,
               key: bytes | None = None, gone_ok: bool = False) -> list[_PhonePage]:
        """The pages of these phones, a few in flight at once; the first failure stops the run."""
        def fetch(item: tuple[str, str]) -> _PhonePage | None:
            return self._phone_page(*item, declared_for=declared_for, key=key, gone_ok=gone_ok)

        if len(keys) <= 1 or self._workers <= 1:
            pages = [fetch(item) for item in keys]
        else:
            with ThreadPoolExecutor(self._workers, thread_name_prefix="admin-page") as pool:
                pages = list(pool.map(fetch, keys))
        return [page for page in pages if page is not None]

    # ------------------------------------------------------------ StateReader

    @collector_paused()
    def read(self) -> Current:
        self._check_unrestricted()
        aliases = self._aliases()
        keys = self._phone_keys()
        active = self._active_logins(keys)
        inactive = [key for key in keys if key not in active]
        phones = [Phone(login, True) for key, login in active.items()]
        phones += [Phone(page.login, page.fields["active"] == "Y") for page in self._pages(inactive)]
        self._keys, self._active = keys, active
        log.info("state: %d aliases, %d phones read from %s", len(aliases), len(phones), self.description)
        log.info("state: %d requests to admin.php (4 list pages and %d pages of phones missing from the active "
                 "list)", self.requests, len(inactive))
        log.info("state: agents' default phone logins cannot be listed through the admin screens: deletes of "
                 "aliases and phones they could name are refused unless the run allows them (--allow-in-use-deletes)")
        return Current.build(aliases, phones, None)

    def read_aliases(self, alias_ids: Iterable[str]) -> dict[str, LiveAlias]:
        """Just these aliases: one alias page each."""
        self._check_unrestricted()
        found: dict[str, LiveAlias] = {}
        for alias_id in dict.fromkeys(alias_ids):
            if not _URL_SAFE["alias_id"].fullmatch(alias_id):
                raise TargetError(f"cannot read the live state from {self.description}: alias {alias_id} cannot be "
                                  "opened through the admin screens (admin.php strips characters of its id from the URL)")
            what = f"the page of alias {alias_id}"
            page = self._page({"ADD": "32111111111", "alias_id": alias_id}, what)
            stored = _hidden_value(page, "alias_id", what, self._unparseable)
            if not stored:
                continue
            if fold(stored) != fold(alias_id):
                raise self._unparseable(what, f"it shows alias {stored}")
            found[fold(stored)] = LiveAlias(stored, _form_value(page, "alias_name", what, self._unparseable),
                                            _form_value(page, "logins_list", what, self._unparseable))
        log.debug("state: %d aliases read back, %d requests to admin.php so far", len(found), self.requests)
        return found

    @collector_paused()
    def read_phones(self, secrets: Mapping[str, Mapping[str, str]]
                    ) -> tuple[dict[str, tuple[LivePhone, ...]], frozenset[str]]:
        """Every phone in full and the server IPs: the server list and one page per phone (the bulk
        pages hold no managed field but a few); each declared password is compared in memory."""
        self._check_unrestricted()
        declared = {fold(login): fields for login, fields in secrets.items() if fields}
        unknown = sorted({f for fields in declared.values() for f in fields} - set(SECRET_COLUMNS))
        if unknown:
            raise ValueError(f"{unknown[0]} is not a password field ({', '.join(SECRET_COLUMNS)})")
        before = self.requests
        keys = self._keys if self._keys is not None else self._phone_keys()
        servers = self._servers()
        key = token_bytes(32)   # this run's digest key: digests mean nothing outside this call
        pages = self._pages(keys, lambda login: declared.get(fold(login)), key)
        phones = [LivePhone(p.login, p.extension, p.server_ip, p.fields, p.secrets_match) for p in pages]
        self._groups = _numbered(pages)
        del key
        grouped = by_login(phones)
        log.info("state: %d phones (%d logins) and %d servers read from %s; %d declared passwords compared in "
                 "memory, none kept", len(phones), len(grouped), len(servers), self.description,
                 sum(len(p.secrets_match) for p in phones))
        log.info("state: %d requests to admin.php for the phones (the server list and %d phone pages); %d in all",
                 self.requests - before, len(keys), self.requests)
        return grouped, servers

    def read_templates(self) -> frozenset[str] | None:
        """No admin screen this reader uses lists the conf templates: VICIdial's own check applies."""
        return None

    def read_password_groups(self) -> dict[tuple[str, str, str], dict[str, tuple[int, bool]]]:
        """Which phones share a password, as group numbers worked out while the phone pages were read."""
        if self._groups is None:
            self.read_phones({})
        return dict(self._groups or {})

    def read_phone_rows(self, logins: Iterable[str]) -> dict[str, tuple[LivePhone, ...]]:
        """Just these phones: the two bulk phone pages (to find them by login), then their pages and
        the pages of the inactive phones (whose logins no bulk page shows)."""
        wanted = set(fold(login) for login in logins)
        if not wanted:
            return {}
        self._check_unrestricted()
        # the active list first: a phone added meanwhile is then in the phone list (and its page read), and
        # one deleted meanwhile is only missing from the phone list (left out); writes may run meanwhile
        active_page = self._page(ACTIVE_PHONES, "the call menu screen")
        keys = self._phone_keys()
        active = self._active_logins(keys, active_page, gone_ok=True)
        candidates = [key for key in keys if key not in active or fold(active[key]) in wanted]
        phones = [LivePhone(p.login, p.extension, p.server_ip, p.fields)
                  for p in self._pages(candidates, gone_ok=True) if fold(p.login) in wanted]
        log.debug("state: %d phones read back, %d requests to admin.php so far", len(phones), self.requests)
        return by_login(phones)

    def read_phone_at(self, login: str, extension: str, server_ip: str) -> LivePhone | None:
        """The phone of `login` at (extension, server_ip), or None: its one page, for the check before
        and after a write (what `core.phone.row_for` picks from `read_phone_rows`, for one request)."""
        self._check_unrestricted()
        page = self._phone_page(extension, server_ip, gone_ok=True)
        if page is None or fold(page.login) != fold(login):
            return None
        return LivePhone(page.login, page.extension, page.server_ip, page.fields)

    def delete_right(self, user: str) -> bool | None:
        """`ast_delete_phones` from the user's page (needs modify_users); None when it cannot be read."""
        what = f"the page of user {user}"
        try:
            page = self._page({"ADD": "3", "user": user}, what)
        except TargetError as exc:
            if self._login_failed:
                raise
            log.info("state: cannot read the delete right of %s through the admin screens (%s)", user, exc)
            return None
        try:
            value = _form_value(page, "ast_delete_phones", what, self._unparseable)
        finally:
            del page   # it holds the user's passwords in clear
        return value == "1"

    def close(self) -> None:
        if self.requests:
            log.info("state: %d requests to admin.php in this run", self.requests)
        self._http.close()


# ------------------------------------------------------------ cutting the pages


def _same_text(link: str) -> str | None:
    """A link's target and text when they are one value (`X">X`): the value, else None."""
    if len(link) % 2 or len(link) < 2:
        return None
    half = (len(link) - 2) // 2
    value = link[:half]
    return value if link == f'{value}">{value}' else None


def _phone_link(link: str, server_ip: str) -> str | None:
    """`E&server_ip=S">E`: the extension E, else None."""
    tail = f"&server_ip={server_ip}\">"
    size = len(link) - len(tail)
    if size < 0 or size % 2:
        return None
    value = link[:size // 2]
    return value if link == f"{value}{tail}{value}" else None


def _list_rows(page: str, anchor: str, cells: int, identify, what: str, unparseable):
    """(id, value cells) of each row of a list page.

    A row is `<td><font size=1><a href="...ANCHOR X">X</a>` then `cells`
    value cells, each after CELL, then a MODIFY cell with the same link. A
    row that does not split into exactly these refuses the whole page.
    """
    starts = []
    position = page.find(anchor)
    while position >= 0:
        opening = page.rfind(ROW_OPEN + '<a href="', 0, position)
        if opening >= 0 and "\"" not in page[opening + len(ROW_OPEN) + 9:position] \
                and not page[:opening].endswith("</td>"):
            starts.append(opening)
        position = page.find(anchor, position + len(anchor))
    starts = sorted(set(starts))
    rows = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(page)
        parts = page[start + len(ROW_OPEN):end].split(CELL)
        if len(parts) != cells + 2:
            raise unparseable(what, f"row {number + 1} does not split into its {cells + 2} cells")
        link, values, modify = parts[0], parts[1:cells + 1], parts[cells + 1]
        at = link.find(anchor)
        if at < 0 or not link.endswith("</a>"):
            raise unparseable(what, f"row {number + 1} has no link to its record")
        inner = link[at + len(anchor):-len("</a>")]
        found = identify(inner) if identify is _same_text else identify(inner, values[0])
        if found is None:
            raise unparseable(what, f"the link of row {number + 1} does not name its record")
        if anchor not in modify or "</a></td></tr>" not in modify:
            raise unparseable(what, f"row {number + 1} does not end with its MODIFY link")
        rows.append((found, values))
    return rows


def _form_value(page: str, name: str, what: str, unparseable) -> str:
    """The value of a text box (`name=NAME ... value="V"`) or the selected option of a select."""
    box, select = f" name={name} ", f" name={name}>"
    found = [(i, kind) for kind, marker in (("box", box), ("select", select))
             for i in _all(page, marker)]
    if len(found) != 1:
        raise unparseable(what, f"{len(found)} fields named {name}")
    at, kind = found[0]
    if kind == "box":
        start = page.find('value="', at)
        if start < 0 or ">" in page[at:start]:
            raise unparseable(what, f"field {name} has no value")
        start += len('value="')
        end = page.find(BOX_END, start)
        if end < 0 or not page.startswith(("<tr", "</table>"), end + len(BOX_END)):
            raise unparseable(what, f"the value of {name} does not end cleanly")
        return page[start:end]
    marker = "<option SELECTED value=\""
    start = page.find(marker, at)
    close = page.find("</select>", at)
    if start < 0 or close < start:
        raise unparseable(what, f"select {name} has no selected option")
    start += len(marker)
    end = page.find(OPTION_END, start)
    value = _same_text(page[start:end]) if end >= 0 else None
    if value is None:
        raise unparseable(what, f"the selected option of {name} does not end cleanly")
    return value


def _hidden_value(page: str, name: str, what: str, unparseable) -> str:
    marker = f'<input type=hidden name={name} value="'
    hits = _all(page, marker)
    if len(hits) != 1:
        raise unparseable(what, f"{len(hits)} hidden fields named {name}")
    start = hits[0] + len(marker)
    end = page.find('">\n', start)
    if end < 0:
        raise unparseable(what, f"the hidden field {name} does not end")
    return page[start:end]


def _all(text: str, marker: str) -> list[int]:
    found, position = [], text.find(marker)
    while position >= 0:
        found.append(position)
        position = text.find(marker, position + 1)
    return found


def _numbered(pages: list[_PhonePage]) -> dict[tuple[str, str, str], dict[str, tuple[int, bool]]]:
    """Per phone and password, a group number (equal numbers: equal passwords) and whether it fits."""
    numbers: dict[str, dict[bytes, int]] = {field: {} for field in SECRET_COLUMNS}
    groups: dict[tuple[str, str, str], dict[str, tuple[int, bool]]] = {}
    for page in pages:
        entry = {}
        for field, (digest, fits) in page.groups.items():
            entry[field] = (numbers[field].setdefault(digest, len(numbers[field]) + 1), fits)
        groups[(page.login, page.extension, page.server_ip)] = entry
    return groups


