"""Stations: VICIdial's load-balanced pattern, one extension on several agent servers.

A station `S` stands for what VICIdial's bulk phone insert builds: on each
of its servers a phone with the station's extension (default: `S`) and the
login extension + that server's letter, and the alias `S` listing those
logins in the order of the letters. A server's letter is fixed under
`servers:`, so adding or removing a server never renames a phone.

Unless the station sets them, each phone gets the bulk insert's values:
`dialplan_number` the extension's digits with the letter's place (a=0,
b=1, ...) in front from `b` on (`200`, `1200`, `2200`), `voicemail_id` the
extension's digits, `phone_full_name` `ext <extension>`.

Pure functions of values: the loader checks what they make by the same
rules as declared phones and aliases.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

ALL = "all"
_NOT_DIGIT = re.compile(r"[^0-9]")
# The fields a station makes for its phones unless it sets them (bulk insert's values).
DERIVED = ("dialplan_number", "voicemail_id", "phone_full_name")


def letter_place(letter: str) -> int:
    """The place of a server letter in `a`..`z`, `aa`, `ab`, ...: a=0, z=25, aa=26, ab=27."""
    place = 0
    for char in letter:
        place = place * 26 + (ord(char) - ord("a") + 1)
    return place - 1


def by_letter(servers: Mapping[str, str]) -> list[str]:
    """The server IPs of `servers` (ip -> letter) in the order of their letters."""
    return sorted(servers, key=lambda ip: letter_place(servers[ip]))


def digits(extension: str) -> str:
    return _NOT_DIGIT.sub("", extension)


def dialplan_number(extension: str, letter: str) -> str:
    """The extension's digits, with the letter's place in front from `b` on: 200, 1200, 2200."""
    place = letter_place(letter)
    return digits(extension) if place == 0 else f"{place}{digits(extension)}"


def derived(extension: str, letter: str) -> dict[str, str]:
    """What the bulk insert gives a phone of `extension` on the server of `letter`."""
    return {"dialplan_number": dialplan_number(extension, letter),
            "voicemail_id": digits(extension),
            "phone_full_name": f"ext {extension}"}


@dataclass(frozen=True)
class StationPhone:
    """One phone a station makes: its login, key, and the fields it takes (station's over derived)."""

    login: str
    extension: str
    server_ip: str
    letter: str
    made: Mapping[str, str]     # the derived fields the station does not set


def expand(extension: str, server_ips: list[str], servers: Mapping[str, str],
           station_sets: frozenset[str] | set[str]) -> list[StationPhone]:
    """The station's phones, in the order of the letters of `server_ips` (each under `servers`)."""
    ordered = sorted(server_ips, key=lambda ip: letter_place(servers[ip]))
    phones = []
    for ip in ordered:
        letter = servers[ip]
        made = {name: value for name, value in derived(extension, letter).items() if name not in station_sets}
        phones.append(StationPhone(extension + letter, extension, ip, letter, made))
    return phones
