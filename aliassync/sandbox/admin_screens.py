"""VICIdial's `/vicidial/admin.php`, the read-only screens hosted mode reads, as a WSGI app over a sandbox store.

It serves the pages and markers vicidial-api.md describes ("Reading
through the admin screens"), as admin.php 2.14-942a (build 250808-1120)
prints them:

- HTTP basic auth with a VICIdial user: bad credentials answer HTTP 401
  with the submitted password echoed in the body, and count towards the
  API's failed-login lockout (the same counter); a user below level 8,
  inactive, or an API-only user gets HTTP 200 and "You do not have
  permission to be here";
- the alias list (ADD=12000000000), the phone list
  (ADD=10000000000&status=display_all), the logins of active phones in the
  call-menu screen's header script (ADD=3511), the server list
  (ADD=100000000000), one phone (ADD=31111111111, passwords in clear, as
  the real screen shows them), one alias (ADD=32111111111, with the "Admin
  User Group" select that offers `---ALL---` only to an unrestricted user)
  and one user (ADD=3, needs modify_users);
- values are printed NOT escaped, between fixed markers, exactly as the
  real screens print them (a value holding `&`, `<b>` or a quote comes out
  as those bytes); NULL and '' print the same;
- the records of groups the user's `admin_viewable_groups` does not list
  are left out of every list, and a hidden record opens as an empty form;
- every page ends with the version footer.

What is not emulated: translations, two-factor logins, every other
screen, and every screen that writes (any other ADD answers a short page
naming the screen as not emulated; it never writes).
"""
from __future__ import annotations

import base64
import binascii
import re
import time
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import parse_qsl

from .emulator import WsgiApp, authenticate
from .store import Store

ADMIN_PATH = "/vicidial/admin.php"
VERSION = "2.14-942a"
BUILD = "250808-1120"
FOOTER = f"<br><br><font size=0>VERSION: {VERSION} BUILD: {BUILD}</font>\n</body></html>\n"
NO_PERMISSION = "You do not have permission to be here"
HEADERS = (("Content-type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache, must-revalidate"))
CELL = "</td><td><font size=1>"          # between the cells of a list row
ROW_END = "</td></tr>\n"
# The characters admin.php keeps in a per-record URL's fields.
_URL_KEPT = {"alias_id": "-_0-9A-Za-z", "extension": "-_0-9A-Za-z", "server_ip": ".0-9", "user": "-_0-9A-Za-z",
             "menu_id": "-_0-9A-Za-z", "server_id": "-_0-9A-Za-z"}
# The phone page's fields: (column, select options or None for a text box), in the screen's order.
PHONE_FORM: Sequence[tuple[str, tuple[str, ...] | None]] = (
    ("extension", None), ("dialplan_number", None), ("voicemail_id", None), ("outbound_cid", None),
    ("server_ip", ()), ("login", None), ("pass", None), ("status", None), ("active", ("Y", "N")),
    ("phone_type", None), ("fullname", None), ("email", None), ("user_group", ()),
    ("protocol", ("SIP", "PJSIP", "Zap", "IAX2", "EXTERNAL")), ("local_gmt", ()), ("phone_context", None),
    ("conf_secret", None), ("template_id", ()), ("is_webphone", ("Y", "N", "Y_API_LAUNCH")),
    ("webphone_auto_answer", ("Y", "N")), ("use_external_server_ip", ("Y", "N")), ("on_hook_agent", ("Y", "N")),
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _kept(name: str, value: str) -> str:
    allowed = _URL_KEPT.get(name)
    return value if allowed is None else re.sub(f"[^{allowed}]", "", value)


def _page(title: str, body: str) -> str:
    return (f"<html><head><title>ADMINISTRATION: {title}</title></head>\n<body bgcolor=white>\n"
            f"{body}{FOOTER}")


class _Viewer:
    """The logged-in user: its rights and which groups' records it sees."""

    def __init__(self, store: Store, user: str):
        row = store.fetch_one("vicidial_users", ("user_group", "ast_admin_access", "modify_phones"), {"user": user})
        self.user = user
        self.ast_admin_access = _text(row["ast_admin_access"]) == "1"
        self.modify_phones = _text(row["modify_phones"]) == "1"
        self.modify_users = _flag(store, user, "modify_users")
        group = store.fetch_one("vicidial_user_groups", ("admin_viewable_groups",),
                                {"user_group": _text(row["user_group"])})
        viewable = _text((group or {}).get("admin_viewable_groups"))
        # As VICIdial builds its LOGadmin_viewable_groupsSQL: no restriction for ---ALL--- or a short value.
        self.unrestricted = "--ALL--" in viewable.upper() or len(viewable) <= 3
        self.groups = {"---all---", *(g.casefold() for g in viewable.replace(" -", "").split(" ") if g)}

    def sees(self, group: Any) -> bool:
        return self.unrestricted or _text(group).casefold() in self.groups


def _flag(store: Store, user: str, column: str) -> bool:
    """A right column of `vicidial_users` that sandboxes made before it existed do not have (then 0)."""
    try:
        row = store.fetch_one("vicidial_users", (column,), {"user": user})
    except Exception:   # a sandbox file older than the column: the right is not granted
        return False
    return row is not None and _text(row[column]) == "1"


def _may_read(store: Store, user: str) -> bool:
    """admin.php's gate: user_level >= 8, active, and not an API-only user."""
    row = store.fetch_one("vicidial_users", ("user_level", "active"), {"user": user})
    if row is None or int(row["user_level"] or 0) < 8 or _text(row["active"]) != "Y":
        return False
    return not _flag(store, user, "api_only_user")


# --------------------------------------------------------------------------
# The pages


def alias_list(store: Store, viewer: _Viewer) -> str:
    rows = []
    for row in store.fetch_all("phones_alias", ("alias_id", "alias_name", "logins_list", "user_group"), ("alias_id",)):
        if not viewer.sees(row["user_group"]):
            continue
        alias_id = _text(row["alias_id"])
        link = f'<a href="admin.php?ADD=32111111111&alias_id={alias_id}">'
        rows.append(f'<tr class="records_list_x"><td><font size=1>{link}{alias_id}</a>{CELL}'
                    f'{_text(row["alias_name"])}{CELL}{_text(row["logins_list"])}{CELL}{_text(row["user_group"])}'
                    f'{CELL}{link}MODIFY</a>{ROW_END}')
    return _page("Phone Aliases", "<table width=750 cellspacing=0 cellpadding=1>\n"
                 "<tr bgcolor=black><td><font size=1 color=white><b>ALIAS ID</b></td>"
                 "<td><font size=1 color=white><b>ALIAS NAME</b></td>"
                 "<td><font size=1 color=white><b>PHONE LOGINS LIST</b></td>"
                 "<td><font size=1 color=white><b>GROUP</b></td>"
                 "<td><font size=1 color=white><b>MODIFY</b></td></tr>\n" + "".join(rows) + "</table>\n")


def phone_list(store: Store, viewer: _Viewer) -> str:
    rows = []
    columns = ("extension", "server_ip", "protocol", "is_webphone", "dialplan_number", "voicemail_id", "status",
               "fullname", "user_group")
    for row in store.fetch_all("phones", columns, ("extension", "server_ip")):
        if not viewer.sees(row["user_group"]):
            continue
        extension, server_ip = _text(row["extension"]), _text(row["server_ip"])
        protocol = _text(row["protocol"]) + (" <i>(w)</i>" if _text(row["is_webphone"]).startswith("Y") else "")
        link = f'<a href="admin.php?ADD=31111111111&extension={extension}&server_ip={server_ip}">'
        cells = (server_ip, protocol, _text(row["dialplan_number"]), _text(row["voicemail_id"]),
                 _text(row["status"]), _text(row["fullname"]), _text(row["user_group"]))
        rows.append(f'<tr class="records_list_x"><td><font size=1>{link}{extension}</a>{CELL}'
                    + CELL.join(cells) + f"{CELL}{link}MODIFY</a>{ROW_END}")
    return _page("Phones", "<table width=750 cellspacing=0 cellpadding=1>\n" + "".join(rows) + "</table>\n")


def call_menu(store: Store, viewer: _Viewer, menu_id: str) -> str:
    """The call-menu screen of a menu that does not exist: only its header script is of use."""
    active = [row for row in store.fetch_all("phones", ("login", "server_ip", "extension", "dialplan_number",
                                                        "active", "user_group"), ("login",))
              if _text(row["active"]) == "Y" and viewer.sees(row["user_group"])]
    options = "".join(f'<option value="{_text(r["login"])}">{_text(r["login"])} - {_text(r["server_ip"])} - '
                      f'{_text(r["extension"])} - {_text(r["dialplan_number"])}</option>' for r in active)
    script = ("<script language=\"JavaScript\">\n"
              "function call_menu_option(option,route,value,value_context,chooser_height)\n\t{\n"
              "\tvar did_list = '';\n"
              f"\tvar phone_list = '{options}';\n"
              "\tvar selected_value = '';\n\t}\n</script>\n")
    return _page("Call Menus", script + f"<br>MODIFY A CALL MENU: {menu_id}<br>\n")


def server_list(store: Store, viewer: _Viewer) -> str:
    rows = []
    for row in store.fetch_all("servers", ("server_id", "server_description", "server_ip", "active",
                                           "active_agent_login_server"), ("server_id",)):
        server_id = _text(row["server_id"])
        link = f'<a href="admin.php?ADD=311111111111&server_id={server_id}">'
        cells = (_text(row["server_description"]), _text(row["server_ip"]), _text(row["active"]),
                 _text(row["active_agent_login_server"]))
        rows.append(f'<tr class="records_list_x"><td><font size=1>{link}{server_id}</a>{CELL}'
                    + CELL.join(cells) + f"{CELL}{link}MODIFY</a>{ROW_END}")
    return _page("Servers", "<table width=750 cellspacing=0 cellpadding=1>\n" + "".join(rows) + "</table>\n")


def _text_box(name: str, value: str, size: int = 20) -> str:
    return (f"<tr bgcolor=#B6D3FC><td align=right>{name}: </td><td align=left>"
            f'<input type=text name={name} size={size} maxlength=100 value="{value}">{ROW_END}')


def _select(name: str, options: Iterable[str], value: str) -> str:
    listed = "".join(f'<option value="{option}">{option}</option>' for option in options)
    return (f"<tr bgcolor=#B6D3FC><td align=right>{name}: </td><td align=left><select size=1 name={name}>"
            f'{listed}<option SELECTED value="{value}">{value}</option></select>{ROW_END}')


def _group_select(store: Store, viewer: _Viewer, value: str) -> str:
    groups = [_text(r["user_group"]) for r in store.fetch_all("vicidial_user_groups", ("user_group",), ("user_group",))]
    groups = [g for g in groups if viewer.sees(g)]
    if viewer.unrestricted:
        groups = ["---ALL---", *groups]
    listed = "".join(f'<option value="{g}">{"All Admin User Groups" if g == "---ALL---" else g}</option>'
                     for g in groups)
    return (f"<tr bgcolor=#B6D3FC><td align=right>Admin User Group: </td><td align=left>"
            f'<select size=1 name=user_group>{listed}<option SELECTED value="{value}">{value}</option>'
            f"</select>{ROW_END}")


def phone_page(store: Store, viewer: _Viewer, extension: str, server_ip: str) -> str:
    if not (viewer.ast_admin_access or viewer.modify_phones):
        return _page("Phones", f"{NO_PERMISSION}\n")
    row = store.fetch_one("phones", [column for column, _ in PHONE_FORM], {"extension": extension,
                                                                            "server_ip": server_ip})
    if row is None or not viewer.sees(row["user_group"]):
        row = {}
    fields = []
    for column, options in PHONE_FORM:
        value = _text(row.get(column))
        if column == "user_group":
            fields.append(_group_select(store, viewer, value))
        elif options is None:
            fields.append(_text_box(column, value))
        else:
            fields.append(_select(column, options, value))
    return _page("Phones", "<form action=/vicidial/admin.php method=POST>\n"
                 "<input type=hidden name=ADD value=41111111111>\n<table width=750 cellspacing=3>\n"
                 + "".join(fields) + "</table></form>\n")


def alias_page(store: Store, viewer: _Viewer, alias_id: str) -> str:
    row = store.fetch_one("phones_alias", ("alias_id", "alias_name", "logins_list", "user_group"),
                          {"alias_id": alias_id})
    if row is None or not viewer.sees(row["user_group"]):
        row = {}
    return _page("Phone Aliases", "<form action=/vicidial/admin.php method=POST>\n"
                 "<input type=hidden name=ADD value=42111111111>\n"
                 f'<input type=hidden name=alias_id value="{_text(row.get("alias_id"))}">\n'
                 "<table width=750 cellspacing=3>\n"
                 + _text_box("alias_name", _text(row.get("alias_name")), 30)
                 + _text_box("logins_list", _text(row.get("logins_list")), 50)
                 + _group_select(store, viewer, _text(row.get("user_group")))
                 + "</table></form>\n")


def user_page(store: Store, viewer: _Viewer, user: str) -> str:
    if not viewer.modify_users:
        return _page("Users", f"{NO_PERMISSION}\n")
    row = store.fetch_one("vicidial_users", ("user", "pass", "phone_login", "phone_pass", "user_group",
                                             "ast_delete_phones"), {"user": user})
    if row is None or not viewer.sees(row["user_group"]):
        row = {}
    return _page("Users", "<form action=/vicidial/admin.php method=POST>\n"
                 "<input type=hidden name=ADD value=4A>\n"
                 f'<input type=hidden name=user value="{_text(row.get("user"))}">\n'
                 "<table width=750 cellspacing=3>\n"
                 + _text_box("pass", _text(row.get("pass")))
                 + _text_box("phone_login", _text(row.get("phone_login")))
                 + _text_box("phone_pass", _text(row.get("phone_pass")))
                 + _select("ast_delete_phones", ("0", "1"), _text(row.get("ast_delete_phones")))
                 + "</table></form>\n")


def respond(store: Store, params: Mapping[str, str], viewer: _Viewer) -> str:
    """The page admin.php shows the logged-in `viewer` for these request parameters."""
    screen = params.get("ADD", "")
    if screen == "12000000000":
        return alias_list(store, viewer)
    if screen == "10000000000":
        return phone_list(store, viewer)
    if screen == "3511":
        return call_menu(store, viewer, _kept("menu_id", params.get("menu_id", "")))
    if screen == "100000000000":
        return server_list(store, viewer)
    if screen == "31111111111":
        return phone_page(store, viewer, _kept("extension", params.get("extension", "")),
                          _kept("server_ip", params.get("server_ip", "")))
    if screen == "32111111111":
        return alias_page(store, viewer, _kept("alias_id", params.get("alias_id", "")))
    if screen == "3":
        return user_page(store, viewer, _kept("user", params.get("user", "")))
    return _page("Administration", f"screen ADD={screen} is not emulated by the sandbox\n")


def _credentials(environ: Mapping[str, Any]) -> tuple[str, str] | None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _answer(start_response: Callable[..., Any], status: str, body: str,
            extra: Sequence[tuple[str, str]] = ()) -> list[bytes]:
    data = body.encode("utf-8")
    start_response(status, [*HEADERS, *extra, ("Content-Length", str(len(data)))])
    return [data]


def make_admin_app(store: Store, clock: Callable[[], float] = time.time) -> WsgiApp:
    """The emulated admin.php as a WSGI app; it answers on any path (the server mounts it)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        challenge = (("WWW-Authenticate", 'Basic realm="VICI-PROJECTS"'),)
        credentials = _credentials(environ)
        if credentials is None:
            return _answer(start_response, "401 Unauthorized", "Login incorrect, please try again: |||BAD|\n",
                           challenge)
        user, password = credentials
        verdict = authenticate(store, user, password, clock())
        if verdict == "LOCK":
            return _answer(start_response, "401 Unauthorized",
                           f"Too many login attempts, try again in 15 minutes: |{user}|LOCK|\n", challenge)
        if verdict == "BAD":   # as admin.php does, the body echoes what was submitted
            return _answer(start_response, "401 Unauthorized",
                           f"Login incorrect, please try again: |{user}|{password}|BAD|\n", challenge)
        if not _may_read(store, user):
            return _answer(start_response, "200 OK", f"<html><body>\n{NO_PERMISSION}\n</body></html>\n")
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        return _answer(start_response, "200 OK", respond(store, params, _Viewer(store, user)))

    return app
