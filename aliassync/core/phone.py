"""Phones, the second resource kind: what a declared phone is, and the fields aliassync manages.

VICIdial keys a phone by (extension, server_ip); aliases and agents refer
to it by its login, and so do the files (`phones:` is keyed by login).
The field names are the API's (add_phone / update_phone); `COLUMNS` maps
each to the `phones` column it is stored in.

Passwords are never values here: a declared password is a `SecretRef`
(an environment variable or a file), resolved only where it is compared
inside the database or sent to the API.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from .model import Location

# The fields a phone may declare besides its key (extension, server_ip) and its passwords,
# in the order the API checks them on update (vicidial-api.md), and the column each lands in.
COLUMNS: Mapping[str, str] = {
    "local_gmt": "local_gmt",
    "email": "email",
    "phone_context": "phone_context",
    "phone_full_name": "fullname",
    "protocol": "protocol",
    "voicemail_id": "voicemail_id",
    "dialplan_number": "dialplan_number",
    "active": "active",
    "outbound_cid": "outbound_cid",
    "admin_user_group": "user_group",
    "is_webphone": "is_webphone",
    "webphone_auto_answer": "webphone_auto_answer",
    "use_external_server_ip": "use_external_server_ip",
    "on_hook_agent": "on_hook_agent",
    "template_id": "template_id",
}
# Passwords: declared only as references, compared only inside the database.
SECRET_COLUMNS: Mapping[str, str] = {"phone_pass": "pass", "registration_password": "conf_secret"}
KEY_FIELDS = ("extension", "server_ip")
# What add_phone needs (after defaults are applied); the rest it takes from the table's defaults.
REQUIRED_ON_ADD = ("extension", "server_ip", "dialplan_number", "voicemail_id", "phone_full_name", "protocol",
                   "local_gmt", "outbound_cid", "phone_pass", "registration_password")
PROTOCOLS = ("SIP", "IAX2", "Zap", "EXTERNAL")
# VICIdial's 33 time zones, written as the files must write them (vicidial-api.md).
LOCAL_GMT = ("12.75", "12.00", "11.00", "10.00", "9.50", "9.00", "8.00", "7.00", "6.50", "6.00", "5.75", "5.50",
             "5.00", "4.50", "4.00", "3.50", "3.00", "2.00", "1.00", "0.00", "-1.00", "-2.00", "-3.00", "-3.50",
             "-4.00", "-5.00", "-6.00", "-7.00", "-8.00", "-9.00", "-10.00", "-11.00", "-12.00")


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a password comes from: `{env: NAME}` or `{file: PATH}`; never the password itself."""

    source: Literal["env", "file"]
    name: str

    def __str__(self) -> str:
        return f"{{{self.source}: {self.name}}}"


@dataclass(frozen=True, slots=True)
class DesiredPhone:
    """One phone as declared (under `phones:`, or expanded from a station).

    `fields` holds the declared fields of COLUMNS as the API takes them
    (`active` as "Y"/"N", the webphone options as "Y"/"N"/"Y_API_LAUNCH"),
    with `phone_defaults` applied; a field not in it is left as it is on the
    dialer. `secrets` maps `phone_pass` / `registration_password` to their
    references. `present=False` is a tombstone (`ensure: absent`), which
    holds no key. `station` names the station that produced the phone.
    """

    login: str
    extension: str | None
    server_ip: str | None
    fields: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    present: bool = True
    station: str | None = None
    location: Location | None = field(default=None, compare=False)
