"""Stations: one extension on several agent servers, expanded as VICIdial's bulk phone insert builds it.

Each expansion rule of contract.md, then the rules what a station makes
must pass like anything declared, with exact messages at file:line:column.
"""
from pathlib import Path

import pytest

from aliassync import redaction
from aliassync.core.model import DesiredAlias
from aliassync.core.phone import DesiredPhone, SecretRef
from aliassync.files import loader, stations
from desired_files import problems, write


@pytest.fixture(autouse=True)
def passwords(monkeypatch):
    monkeypatch.setenv("AGENT_PHONE_PASS", "agentPass_1")
    yield
    redaction.forget_all()


TWO_SERVERS = "version: 1\nservers:\n  10.10.10.15: a\n  10.10.10.16: b\n"


def station_file(tmp_path: Path, stations_text: str, servers: str = TWO_SERVERS, name: str = "a.yaml") -> str:
    return write(tmp_path, name, servers + "stations:\n" + stations_text)


# ------------------------------------------------------------------ what a station stands for

def test_two_stations_on_two_servers(tmp_path):
    path = write(tmp_path, "cluster.yaml", """\
version: 1
phone_defaults:
  protocol: SIP
  local_gmt: "-5.00"
  outbound_cid: "3125550100"
  phone_pass: {env: AGENT_PHONE_PASS}
servers:
  10.10.10.15: a
  10.10.10.16: b
stations:
  "200":
    alias_name: Desk 200
    servers: all
  desk7:
    alias_name: Desk seven
    servers: [10.10.10.16, 10.10.10.15]
    extension: cc107
    phone_full_name: Desk seven
    active: false
""")
    desired = loader.load([path])
    defaults = {"local_gmt": "-5.00", "protocol": "SIP", "outbound_cid": "3125550100"}
    password = {"phone_pass": SecretRef("env", "AGENT_PHONE_PASS")}

    def phone(login, extension, server_ip, dialplan, voicemail, name, active, station):
        fields = {**defaults, "phone_full_name": name, "voicemail_id": voicemail, "dialplan_number": dialplan,
                  "active": active}
        return DesiredPhone(login, extension, server_ip, {k: fields[k] for k in
                            ("local_gmt", "phone_full_name", "protocol", "voicemail_id", "dialplan_number", "active",
                             "outbound_cid")}, password, station=station)

    assert desired.phones == (
        phone("200a", "200", "10.10.10.15", "200", "200", "ext 200", "Y", "200"),
        phone("200b", "200", "10.10.10.16", "1200", "200", "ext 200", "Y", "200"),
        phone("cc107a", "cc107", "10.10.10.15", "107", "107", "Desk seven", "N", "desk7"),
        phone("cc107b", "cc107", "10.10.10.16", "1107", "107", "Desk seven", "N", "desk7"),
    )
    # the alias lists the logins in the order of the letters, whatever the order of the list
    assert desired.aliases == (DesiredAlias("200", "Desk 200", ("200a", "200b")),
                               DesiredAlias("desk7", "Desk seven", ("cc107a", "cc107b")))
    assert [str(p.location) for p in desired.phones] == [f"{path}:11:3"] * 2 + [f"{path}:14:3"] * 2
    assert [str(a.location) for a in desired.aliases] == [f"{path}:11:3", f"{path}:14:3"]
    assert desired.servers == {"10.10.10.15": "a", "10.10.10.16": "b"}


def test_the_letters_place_goes_in_front_of_the_dialplan_number_from_b_on():
    assert [stations.letter_place(letter) for letter in ("a", "b", "c", "z", "aa", "ab", "az", "ba", "zz")] == \
        [0, 1, 2, 25, 26, 27, 51, 52, 701]
    assert [stations.dialplan_number("200", letter) for letter in ("a", "b", "c", "aa")] == \
        ["200", "1200", "2200", "26200"]
    # the bulk insert keeps only digits: cc100 dials 100, 1100
    assert [stations.dialplan_number("cc100", letter) for letter in ("a", "b")] == ["100", "1100"]


def test_adding_a_server_never_renames_a_phone(tmp_path):
    # Step 1: two servers. Step 2: a third, with letter c. The phones on a and b keep their logins and
    # fields; the new one is 200c, and the alias lists it last.
    before = loader.load([station_file(tmp_path, '  "200": {alias_name: Desk 200, servers: all}\n')])
    after = loader.load([station_file(tmp_path, '  "200": {alias_name: Desk 200, servers: all}\n',
                                      servers=TWO_SERVERS + "  10.10.10.17: c\n", name="b.yaml")])
    assert after.phones[:2] == before.phones
    assert (after.phones[2].login, after.phones[2].fields["dialplan_number"]) == ("200c", "2200")
    assert after.aliases[0].phone_logins == ("200a", "200b", "200c")
    # Step 3: server b goes; 200c is still 200c, dialing 2200.
    without_b = loader.load([station_file(tmp_path, '  "200": {alias_name: Desk 200, servers: all}\n',
                                          servers="version: 1\nservers:\n  10.10.10.15: a\n  10.10.10.17: c\n",
                                          name="c.yaml")])
    assert [(p.login, p.fields["dialplan_number"]) for p in without_b.phones] == [("200a", "200"), ("200c", "2200")]
    assert without_b.aliases[0].phone_logins == ("200a", "200c")


def test_what_a_station_sets_wins_then_what_it_makes_then_phone_defaults(tmp_path):
    path = station_file(tmp_path, '  "200": {alias_name: Desk 200, servers: [10.10.10.16], dialplan_number: "9200", '
                                  "protocol: IAX2}\n",
                        servers="version: 1\nphone_defaults: {protocol: SIP, voicemail_id: \"999\", "
                                "phone_full_name: Agent desk}\n" + TWO_SERVERS[len("version: 1\n"):])
    phone = loader.load([path]).phones[0]
    assert phone.fields == {"phone_full_name": "ext 200", "protocol": "IAX2", "voicemail_id": "200",
                            "dialplan_number": "9200", "active": "Y"}


def test_declared_phones_and_stations_live_side_by_side(tmp_path):
    path = write(tmp_path, "a.yaml", TWO_SERVERS + """\
phones:
  100a: {extension: "100", server_ip: 10.10.10.15}
aliases:
  sales1: {alias_name: Sales, phone_logins: [100a, 200b]}
stations:
  "200": {alias_name: Desk 200, servers: all}
""")
    desired = loader.load([path])
    assert [p.login for p in desired.phones] == ["100a", "200a", "200b"]
    assert [a.alias_id for a in desired.aliases] == ["sales1", "200"]


# ------------------------------------------------------------------ what a station makes follows the same rules

def test_a_two_digit_extension_makes_a_dialplan_number_too_short_on_server_a(tmp_path):
    # `20` on server a dials `20`: VICIdial refuses a dialplan_number under 3 characters on update.
    # On server b it dials `120`, which is fine: only the phone on a is named.
    path = station_file(tmp_path, '  "20": {alias_name: Desk 20, servers: all}\n')
    assert problems(path) == [
        f"{path}:6:3: station 20: its phone on 10.10.10.15 (letter a) would get dialplan_number '20' (the "
        "extension's digits); a dialplan_number is 3 to 20 characters of letters, digits, '*' and '#': "
        "set dialplan_number on the station"]
    fixed = station_file(tmp_path, '  "20": {alias_name: Desk 20, servers: all, dialplan_number: "020"}\n',
                         name="b.yaml")
    assert [p.fields["dialplan_number"] for p in loader.load([fixed]).phones] == ["020", "020"]


def test_an_extension_without_digits_needs_its_own_numbers(tmp_path):
    path = station_file(tmp_path, "  desk:\n    alias_name: Desk\n    servers: all\n    extension: front-desk\n")
    assert problems(path) == [
        f"{path}:9:16: station desk: its phone on 10.10.10.15 (letter a) would get dialplan_number '' (the "
        "extension's digits); a dialplan_number is 3 to 20 characters of letters, digits, '*' and '#': "
        "set dialplan_number on the station",
        f"{path}:9:16: station desk: its phone on 10.10.10.16 (letter b) would get dialplan_number '1' (the "
        "extension's digits, after the letter's place); a dialplan_number is 3 to 20 characters of letters, "
        "digits, '*' and '#': set dialplan_number on the station",
        f"{path}:9:16: station desk: its phones would get voicemail_id '' (the extension's digits); a voicemail_id "
        "is 2 to 10 letters and digits: set voicemail_id on the station",
    ]


def test_a_long_extension_makes_a_login_and_a_name_too_long(tmp_path):
    path = station_file(tmp_path, '  desk:\n    alias_name: Desk\n    servers: [10.10.10.16]\n'
                                  '    extension: "12345678901234567890123456789"\n')
    assert problems(path) == [
        f"{path}:9:16: station desk: its phone on 10.10.10.16 (letter b) would get login "
        "'12345678901234567890123456789b'; a phone login is 1 to 15 characters of letters, digits, '-' and '_': "
        "use a shorter extension",
        f"{path}:9:16: station desk: its phone on 10.10.10.16 (letter b) would get dialplan_number "
        "'112345678901234567890123456789' (the extension's digits, after the letter's place); a dialplan_number is "
        "3 to 20 characters of letters, digits, '*' and '#': set dialplan_number on the station",
        f"{path}:9:16: station desk: its phones would get voicemail_id '12345678901234567890123456789' (the "
        "extension's digits); a voicemail_id is 2 to 10 letters and digits: set voicemail_id on the station",
        f"{path}:9:16: station desk: its phones would get phone_full_name 'ext 12345678901234567890123456789'; a "
        "phone_full_name is 2 to 30 characters of letters, digits, space, '-', '.' and '_': "
        "set phone_full_name on the station",
    ]


def test_an_alias_over_too_many_servers_is_refused_like_a_declared_one(tmp_path):
    # 20 logins of 12 characters and 19 commas: 259 characters, where phones_alias.logins_list holds 255
    servers = "version: 1\nservers:\n" + "".join(f"  10.10.11.{n}: {chr(97 + n)}\n" for n in range(20))
    path = station_file(tmp_path, '  wide: {alias_name: Wide, servers: all, extension: ab12345678c}\n', servers=servers)
    assert problems(path) == [
        f"{path}:24:3: station wide: its alias would list 20 logins, 259 characters joined with commas; "
        "VICIdial stores at most 255"]


def test_a_station_takes_the_field_rules_of_a_phone(tmp_path):
    path = station_file(tmp_path, '  "200": {alias_name: "Desk, 200", servers: all, local_gmt: -5, '
                                  'phone_pass: hunter2, server_ip: 10.10.10.15}\n')
    assert problems(path) == [
        f"{path}:6:23: alias_name 'Desk, 200' must be 2 to 50 characters of letters, digits, space, '-', '.' and '_'",
        f"{path}:6:61: station 200: local_gmt '-5' must be written exactly as VICIdial lists it, in quotes: \"-5.00\"",
        f"{path}:6:77: station 200: phone_pass must be a reference, {{env: NAME}} or {{file: PATH}}, never the "
        "password itself: secrets are references so that they never sit in git",
        f"{path}:6:86: unknown key 'server_ip' in station 200 (expected one of: active, admin_user_group, "
        "alias_name, dialplan_number, email, extension, is_webphone, local_gmt, on_hook_agent, outbound_cid, "
        "phone_context, phone_full_name, phone_pass, protocol, registration_password, servers, template_id, "
        "use_external_server_ip, voicemail_id, webphone_auto_answer)",
    ]


@pytest.mark.parametrize("body, message", [
    ('  "2": {alias_name: Desk, servers: all}\n',
     "6:3: station id '2' must be 2 to 20 characters of letters, digits, '-' and '_' (it is the alias_id)"),
    ('  "200": {servers: all}\n', "6:3: station 200: 'alias_name' is a required property"),
    ('  "200": {alias_name: Desk}\n', "6:3: station 200: 'servers' is a required property"),
    ('  "200": {alias_name: Desk, servers: every}\n',
     "6:38: station 200: servers 'every' must be all or a list of server IPs named under servers:"),
    ('  "200": {alias_name: Desk, servers: []}\n', "6:38: station 200: servers: [] should be non-empty"),
    ('  "200": {alias_name: Desk, servers: [dialer1]}\n',
     "6:39: station 200: servers item 1 'dialer1' must be an IPv4 address, such as 10.10.10.15"),
])
def test_station_entry_rules(tmp_path, body, message):
    path = station_file(tmp_path, body)
    assert problems(path) == [f"{path}:{message}"]


# ------------------------------------------------------------------ servers a station names

def test_a_station_names_only_servers_with_a_letter(tmp_path):
    path = station_file(tmp_path, '  "200": {alias_name: Desk, servers: [10.10.10.15, 10.10.10.17, 10.10.10.15]}\n')
    assert problems(path) == [
        f"{path}:6:52: station 200: server 10.10.10.17 is not under servers:, so it has no letter",
        f"{path}:6:65: station 200: server 10.10.10.15 is listed twice",
    ]


def test_all_servers_needs_servers(tmp_path):
    path = station_file(tmp_path, '  "200": {alias_name: Desk, servers: all}\n', servers="version: 1\n")
    assert problems(path) == [
        f"{path}:3:38: station 200: servers is all, but no server is declared under servers:"]


# ------------------------------------------------------------------ across files and kinds

def test_a_station_declared_twice_or_as_an_alias_names_both_places(tmp_path):
    a = station_file(tmp_path, '  d100: {alias_name: Desk, servers: all}\n')
    b = write(tmp_path, "b.yaml", """\
version: 1
aliases:
  sales1: {alias_name: Sales, phone_logins: [100a]}
stations:
  D100: {alias_name: Desk, servers: all}
  SALES1: {alias_name: Sales, servers: all, extension: "300"}
""")
    assert problems(a, b) == [
        f"{b}:5:3: station D100 is declared twice (case-insensitively); first at {a}:6:3",
        f"{b}:6:3: station SALES1 has the id of alias sales1 at {b}:3:3 (case-insensitively); a station makes its "
        "own alias",
    ]


def test_a_login_a_station_makes_that_is_declared_elsewhere_names_both_places(tmp_path):
    # phones.yaml declares 200A by hand; stations.yaml's station 200 makes 200a: one login, twice.
    phones = write(tmp_path, "phones.yaml",
                   "version: 1\nphones:\n  200A: {extension: \"9200\", server_ip: 10.10.10.15}\n")
    stations_path = station_file(tmp_path, '  "200": {alias_name: Desk, servers: all}\n', name="stations.yaml")
    assert problems(phones, stations_path) == [
        f"{stations_path}:6:3: station 200: its phone 200a has the login of phone 200A at {phones}:3:3; phone logins "
        "are unique, case-insensitively"]


def test_two_stations_making_one_login_name_both_places(tmp_path):
    # Station 200 on server a makes 200a; station 20 with extension 200a... would make 200aa on a: no clash.
    # But station x1 with extension 200 makes 200a too, and on the same key as station 200's phone.
    path = station_file(tmp_path, '  "200": {alias_name: Desk, servers: all}\n'
                                  '  x1: {alias_name: Desk, servers: [10.10.10.15], extension: "200"}\n')
    assert problems(path) == [
        f"{path}:7:3: station x1: its phone 200a has the login of phone 200a of station 200 at {path}:6:3; phone "
        "logins are unique, case-insensitively"]


def test_a_station_phone_on_a_declared_phones_key_names_both_places(tmp_path):
    path = write(tmp_path, "a.yaml", TWO_SERVERS + """\
phones:
  front: {extension: "200", server_ip: 10.10.10.16}
stations:
  "200": {alias_name: Desk, servers: all}
""")
    assert problems(path) == [
        f"{path}:8:3: station 200: its phone 200b has extension 200 on server 10.10.10.16, as phone front at "
        f"{path}:6:3; VICIdial keys a phone by extension and server_ip (extensions case-insensitively)"]


def test_a_station_phone_login_that_is_an_alias_id_names_both_places(tmp_path):
    path = write(tmp_path, "a.yaml", TWO_SERVERS + """\
aliases:
  200b: {alias_name: Old, phone_logins: [100a]}
stations:
  "200": {alias_name: Desk, servers: all}
""")
    assert problems(path) == [
        f"{path}:8:3: station 200: its phone 200b has the login of alias 200b at {path}:6:3 (case-insensitively); "
        "agents typing it would get the alias, never this phone"]


def test_ignore_patterns_cover_what_a_station_makes(tmp_path):
    path = write(tmp_path, "a.yaml", TWO_SERVERS + """\
settings:
  ignore: ["tmp*"]
  phones: {ignore: ["*b"]}
stations:
  tmp1: {alias_name: Desk, servers: [10.10.10.16], extension: "300"}
""")
    assert problems(path) == [
        f"{path}:9:3: station tmp1: its phone 300b matches settings.phones.ignore pattern '*b'; an ignored phone is "
        "never touched",
        f"{path}:9:3: station tmp1: its alias matches ignore pattern 'tmp*'; an ignored alias is never touched",
    ]
