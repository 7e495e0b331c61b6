"""Phones and stations as code, the whole onboarding job, through the command line on the sandbox.

A two-server cluster: stations make a phone per server and one alias over
them (VICIdial's load-balanced pattern); apply creates the phones first and
the aliases after them; a second plan is empty; a rotated password updates
that field alone and shows no secret; a third server plans only what it
needs; a server removed with phones prune updates the aliases, then deletes
the phones; what cannot be done safely is refused before any write.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from aliassync.cli import main

SEED = """\
servers:
  - {server_ip: 10.10.10.15, server_id: agent1}
  - {server_ip: 10.10.10.16, server_id: agent2}
  - {server_ip: 10.10.10.17, server_id: agent3}
phones:
  - {login: 300a, extension: "300", server_ip: 10.10.10.15}
templates: [SIP_generic]
"""

DEFAULTS = """\
version: 1
phone_defaults:
  protocol: SIP
  local_gmt: "-5.00"
  outbound_cid: "3125550100"
  phone_pass: {env: AGENT_PHONE_PASS}
  registration_password: {file: sip-secret}
"""


def cluster(servers: str, stations: str, settings: str = "") -> str:
    return DEFAULTS + settings + f"servers:\n{servers}stations:\n{stations}"


TWO = "  10.10.10.15: a\n  10.10.10.16: b\n"
STATIONS = '  "200": {alias_name: Desk 200, servers: all}\n  "201": {alias_name: Desk 201, servers: all}\n'


@pytest.fixture
def run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AGENT_PHONE_PASS", "Agent1234")
    (tmp_path / "sip-secret").write_text("SipSecret77\n", encoding="utf-8")
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    sandbox = str(tmp_path / "cluster.sqlite")
    assert main(["sandbox", "init", sandbox, "--phones", str(seed)]) == 0
    capsys.readouterr()
    files = tmp_path / "cluster.yaml"

    def command(*argv: str, body: str | None = None) -> tuple[int, str, str]:
        if body is not None:
            files.write_text(body, encoding="utf-8")
        code = main([argv[0], str(files), *argv[1:], "--sandbox", sandbox])
        out, err = capsys.readouterr()
        return code, out, err

    command.sandbox = sandbox
    command.tmp = tmp_path
    command.capsys = capsys
    return command


def table(sandbox: str, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(sandbox)) as db:
        return db.execute(sql).fetchall()


def writes(sandbox: str) -> list[tuple]:
    return table(sandbox, "SELECT event_section, event_type, record_id FROM vicidial_admin_log ORDER BY admin_log_id")


def test_stations_on_two_servers_create_phones_then_aliases_and_a_second_plan_is_empty(run):
    code, out, _ = run("plan", "--format", "json", body=cluster(TWO, STATIONS))
    assert code == 2
    document = json.loads(out)
    assert [(a["key"], a["depends_on"]) for a in document["actions"]] == [
        ("create:phone:200a", []), ("create:phone:200b", []), ("create:phone:201a", []), ("create:phone:201b", []),
        ("create:200", ["create:phone:200a", "create:phone:200b"]),
        ("create:201", ["create:phone:201a", "create:phone:201b"])]
    assert "Agent1234" not in out and "SipSecret77" not in out

    code, out, _ = run("apply", "--yes", "--concurrency", "4")
    assert code == 0 and out.endswith("Apply: 6 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert table(run.sandbox, "SELECT login, extension, server_ip, dialplan_number, voicemail_id, fullname, "
                              "pass, conf_secret FROM phones WHERE login LIKE '20%' ORDER BY login") == [
        ("200a", "200", "10.10.10.15", "200", "200", "ext 200", "Agent1234", "SipSecret77"),
        ("200b", "200", "10.10.10.16", "1200", "200", "ext 200", "Agent1234", "SipSecret77"),
        ("201a", "201", "10.10.10.15", "201", "201", "ext 201", "Agent1234", "SipSecret77"),
        ("201b", "201", "10.10.10.16", "1201", "201", "ext 201", "Agent1234", "SipSecret77")]
    assert table(run.sandbox, "SELECT alias_id, logins_list FROM phones_alias ORDER BY alias_id") == [
        ("200", "200a,200b"), ("201", "201a,201b")]
    # every alias was written after the phones it names: VICIdial refuses a member that is not a phone
    log = writes(run.sandbox)
    for station in ("200", "201"):
        phones_written = [i for i, w in enumerate(log) if w == ("PHONES", "ADD", station)]
        assert len(phones_written) == 2 and log.index(("PHONEALIASES", "ADD", station)) > max(phones_written)

    code, out, _ = run("plan")
    assert code == 0
    assert out.endswith("No changes. The live aliases and phones match the files. Left alone: 2 in sync, "
                        "0 unmanaged, 0 ignored. Phones left alone: 4 in sync, 1 unmanaged, 0 ignored.\n")


def test_a_rotated_password_updates_that_field_alone_and_is_shown_nowhere(run, monkeypatch):
    assert run("apply", "--yes", body=cluster(TWO, STATIONS))[0] == 0
    monkeypatch.setenv("AGENT_PHONE_PASS", "Rotated99")
    code, out, _ = run("plan")
    assert code == 2
    assert "  ~ update phone 200a\n      extension 200 on 10.10.10.15\n" \
           "      phone_pass: changes (from {env: AGENT_PHONE_PASS})\n" in out
    result = run.tmp / "result.json"
    code, out, err = run("apply", "--yes", "--result", str(result))
    assert code == 0 and out.endswith("Apply: 4 done, 0 failed, 0 skipped, 0 conflict.\n")
    for text in (out, err, result.read_text(encoding="utf-8")):
        assert "Rotated99" not in text and "Agent1234" not in text
    assert set(table(run.sandbox, "SELECT pass FROM phones WHERE login LIKE '20%'")) == {("Rotated99",)}
    assert run("plan")[0] == 0


def test_a_third_server_plans_only_its_phones_and_the_alias_updates_after_them(run):
    assert run("apply", "--yes", body=cluster(TWO, STATIONS))[0] == 0
    code, out, _ = run("plan", "--format", "json", body=cluster(TWO + "  10.10.10.17: c\n", STATIONS))
    assert code == 2
    assert [(a["key"], a["depends_on"]) for a in json.loads(out)["actions"]] == [
        ("create:phone:200c", []), ("create:phone:201c", []),
        ("update:200", ["create:phone:200c"]), ("update:201", ["create:phone:201c"])]
    assert run("apply", "--yes")[0] == 0
    assert table(run.sandbox, "SELECT dialplan_number FROM phones WHERE login = '200c'") == [("2200",)]
    assert table(run.sandbox, "SELECT logins_list FROM phones_alias WHERE alias_id = '200'") == [("200a,200b,200c",)]


def test_a_server_removed_with_phones_prune_updates_the_aliases_then_deletes_the_phones(run):
    prune = "settings:\n  phones: {prune: true, ignore: [\"300*\"]}\n"
    assert run("apply", "--yes", body=cluster(TWO, STATIONS, prune))[0] == 0
    code, out, _ = run("plan", "--format", "json", body=cluster("  10.10.10.15: a\n", STATIONS, prune))
    assert code == 2
    assert [(a["key"], a["depends_on"]) for a in json.loads(out)["actions"]] == [
        ("update:200", []), ("update:201", []),
        ("delete:phone:200b", ["update:200"]), ("delete:phone:201b", ["update:201"])]
    assert run("apply", "--yes")[0] == 0
    assert table(run.sandbox, "SELECT login FROM phones ORDER BY login") == [("200a",), ("201a",), ("300a",)]
    assert run("plan")[0] == 0


@pytest.mark.parametrize("body, where, message", [
    (cluster(TWO, STATIONS).replace('"-5.00"', '"-5"'), "4:14",
     'phone_defaults.local_gmt \'-5\' must be written exactly as VICIdial lists it, in quotes: "-5.00"'),
    (cluster(TWO, STATIONS).replace("{env: AGENT_PHONE_PASS}", "Agent1234"), "6:15",
     "phone_defaults.phone_pass must be a reference, {env: NAME} or {file: PATH}, never the password itself: "
     "secrets are references so that they never sit in git"),
    (cluster(TWO, STATIONS) + "aliases:\n  200A: {alias_name: Other, phone_logins: [300a]}\n", "12:3",
     "station 200: its phone 200a has the login of alias 200A at "),
], ids=["local_gmt -5", "literal password", "a station's phone login is an alias"])
def test_bad_files_are_refused_at_their_place_and_nothing_is_written(run, body, where, message):
    code, _, err = run("apply", "--yes", body=body)
    assert code == 1
    assert f"cluster.yaml:{where}: {message}" in err, err
    assert "Agent1234" not in err
    assert writes(run.sandbox) == []


def test_a_server_that_is_not_vicidials_and_a_login_held_by_an_alias_are_refused_before_any_write(run, tmp_path):
    code, _, err = run("apply", "--yes", body=cluster("  10.10.10.99: a\n", STATIONS))
    assert code == 1
    assert "error: phone 200a: server_ip 10.10.10.99 is not one of VICIdial's servers" in err
    assert writes(run.sandbox) == []
    with closing(sqlite3.connect(run.sandbox)) as db:
        db.execute("INSERT INTO phones_alias (alias_id, alias_name, logins_list) VALUES ('200a', 'Hand', '300a')")
        db.commit()
    code, _, err = run("apply", "--yes", body=cluster(TWO, STATIONS))
    assert code == 1
    assert "phone 200a: the dialer has an alias 200a" in err
    assert writes(run.sandbox) == []


def test_a_conf_template_the_dialer_lacks_is_refused_before_any_write_even_from_a_saved_plan(run):
    """add_phone answers TEMPLATE ID DOES NOT EXIST only when that phone's turn comes, after the phones and
    aliases before it were written: aliassync refuses it before the first write."""
    station = '  "200": {alias_name: Desk 200, servers: all, template_id: %s}\n'
    code, _, err = run("apply", "--yes", body=cluster(TWO, station % "NoSuchTpl"))
    assert code == 1
    assert ("error: phone 200a: template_id NoSuchTpl is not one of VICIdial's conf templates "
            "(vicidial_conf_templates); phone 200b: template_id NoSuchTpl") in err
    assert writes(run.sandbox) == []

    # a saved plan made while the template existed, applied after it was removed: refused, nothing written
    saved = str(run.tmp / "tpl.plan.json")
    assert run("plan", "--out", saved, body=cluster(TWO, station % "sip_GENERIC"))[0] == 2   # case-insensitive
    with closing(sqlite3.connect(run.sandbox)) as db:
        db.execute("DELETE FROM vicidial_conf_templates")
        db.commit()
    code = main(["apply", saved, "--sandbox", run.sandbox, "--yes"])
    assert code == 1
    assert "apply refused, nothing written: phone 200a: template_id sip_GENERIC is not one of VICIdial's conf" \
        in run.capsys.readouterr().err
    assert writes(run.sandbox) == []


def test_a_saved_plan_of_phones_applies_and_one_whose_password_cannot_be_read_is_refused_before_any_write(
        run, monkeypatch):
    """plan --out on the pull request, apply PLAN on merge: the phones' passwords are read at apply time,
    from the references the plan holds. A variable missing there must stop the run before its first
    write, not fail one phone after the aliases before it were written."""
    saved = str(run.tmp / "phones.plan.json")
    assert run("plan", "--out", saved, body=cluster(TWO, STATIONS))[0] == 2
    monkeypatch.delenv("AGENT_PHONE_PASS")
    code = main(["apply", saved, "--sandbox", run.sandbox, "--yes"])
    err = run.capsys.readouterr().err
    assert code == 1
    assert ("error: apply refused, nothing written: phone 200a: phone_pass {env: AGENT_PHONE_PASS}: "
            "environment variable AGENT_PHONE_PASS is not set; phone 200b: phone_pass") in err
    assert writes(run.sandbox) == []

    monkeypatch.setenv("AGENT_PHONE_PASS", "Agent1234")
    code = main(["apply", saved, "--sandbox", run.sandbox, "--yes"])
    out = run.capsys.readouterr().out
    assert code == 0 and out.endswith("Apply: 6 done, 0 failed, 0 skipped, 0 conflict.\n")
    assert table(run.sandbox, "SELECT COUNT(*) FROM phones WHERE pass = 'Agent1234'") == [(4,)]
    assert run("plan")[0] == 0
