"""The sandbox's admin.php: the read-only screens hosted mode reads, served over real HTTP on 127.0.0.1.

Values are printed unescaped between the fixed markers, the records of
groups the reader may not view are left out, a bad login is a 401 that
echoes the password and counts towards the API's lockout, and a user the
screens refuse gets "You do not have permission to be here".
"""
from __future__ import annotations

import sqlite3
from contextlib import closing

import httpx
import pytest

from aliassync.core.model import LiveAlias
from aliassync.sandbox.admin_screens import ADMIN_PATH
from aliassync.sandbox.server import API_PATH, running_sandbox
from aliassync.sandbox.store import init_sandbox

from sandbox_tables import sql

PHONES = [{"login": "100a", "extension": "100", "fullname": 'Desk "7" & <b>co</b>', "pass": "Agent1234"},
          {"login": "100b", "extension": "101", "active": "N", "user_group": "SALES"}]
ALIASES = [LiveAlias("sales1", "Sales & <b>floor</b>", " 100a, ,100b,,")]
FOOTER = "VERSION: 2.14-942a BUILD: 250808-1120"


@pytest.fixture
def screens(tmp_path):
    path = str(tmp_path / "dialer.sqlite")
    init_sandbox(path, PHONES, aliases=ALIASES)
    with running_sandbox(path) as base:
        with httpx.Client(base_url=base, auth=("6666", "1234")) as client:
            yield path, client


def page(client: httpx.Client, query: str) -> str:
    response = client.get(f"{ADMIN_PATH}?{query}")
    assert response.status_code == 200
    return response.text


def test_the_alias_list_prints_values_unescaped_between_the_markers(screens):
    _, client = screens
    text = page(client, "ADD=12000000000")
    assert ('<td><font size=1><a href="admin.php?ADD=32111111111&alias_id=sales1">sales1</a></td><td><font size=1>'
            "Sales & <b>floor</b></td><td><font size=1> 100a, ,100b,,</td><td><font size=1>---ALL---</td>"
            '<td><font size=1><a href="admin.php?ADD=32111111111&alias_id=sales1">MODIFY</a></td></tr>\n') in text
    assert text.rstrip().endswith("</body></html>") and FOOTER in text


def test_the_phone_lists_and_the_phone_page(screens):
    _, client = screens
    phones = page(client, "ADD=10000000000&status=display_all")
    assert ('<a href="admin.php?ADD=31111111111&extension=100&server_ip=10.0.0.1">100</a></td><td><font size=1>'
            '10.0.0.1</td><td><font size=1>SIP</td>') in phones
    assert "extension=101&server_ip=10.0.0.1" in phones
    # only active phones are in the call menu screen's list, as LOGIN - SERVER_IP - EXTENSION - DIALPLAN
    active = page(client, "ADD=3511&menu_id=none")
    assert "var phone_list = '<option value=\"100a\">100a - 10.0.0.1 - 100 - 100</option>';\n" in active
    one = page(client, "ADD=31111111111&extension=100&server_ip=10.0.0.1")
    assert 'name=fullname size=20 maxlength=100 value="Desk "7" & <b>co</b>"></td></tr>\n' in one
    assert 'name=pass size=20 maxlength=100 value="Agent1234"></td></tr>\n' in one   # in clear, as the real one
    assert '<select size=1 name=active><option value="Y">Y</option><option value="N">N</option>' \
           '<option SELECTED value="Y">Y</option></select>' in one


def test_a_restricted_group_sees_part_of_the_lists_and_no_all_groups_choice(screens):
    path, client = screens
    probe = "ADD=32111111111&alias_id=none"
    assert '<option value="---ALL---">' in page(client, probe)
    sql(path, "UPDATE vicidial_user_groups SET admin_viewable_groups = ' ADMIN -' WHERE user_group = 'ADMIN'")
    assert '<option value="---ALL---">' not in page(client, probe)
    phones = page(client, "ADD=10000000000&status=display_all")
    assert "extension=100&" in phones and "extension=101&" not in phones      # 100b is in group SALES
    assert 'name=login size=20 maxlength=100 value=""' in page(client, "ADD=31111111111&extension=101&server_ip=10.0.0.1")


def test_a_bad_login_is_a_401_that_echoes_the_password_and_counts_towards_the_lockout(screens):
    path, client = screens
    response = client.get(f"{ADMIN_PATH}?ADD=12000000000", auth=("6666", "Wrong-99"))
    assert response.status_code == 401
    assert response.text == "Login incorrect, please try again: |6666|Wrong-99|BAD|\n"
    assert sql(path, "SELECT failed_login_count FROM vicidial_users WHERE user = '6666'") == [(1,)]
    # the API shares the counter: a good login through either clears it
    assert client.post(API_PATH, data={"function": "version"}).status_code == 200
    assert page(client, "ADD=12000000000")
    assert sql(path, "SELECT failed_login_count FROM vicidial_users WHERE user = '6666'") == [(0,)]


@pytest.mark.parametrize("change", ["user_level = 7", "api_only_user = '1'", "active = 'N'"])
def test_users_the_screens_refuse_get_no_permission(screens, change):
    path, client = screens
    sql(path, f"UPDATE vicidial_users SET {change} WHERE user = '6666'")
    response = client.get(f"{ADMIN_PATH}?ADD=12000000000")
    if change == "active = 'N'":   # an inactive user's login fails like a bad password
        assert response.status_code == 401
    else:
        assert (response.status_code, "You do not have permission to be here" in response.text) == (200, True)
        assert "sales1" not in response.text


def test_the_users_page_needs_modify_users(screens):
    path, client = screens
    assert '<option SELECTED value="1">1</option>' in page(client, "ADD=3&user=6666")
    sql(path, "UPDATE vicidial_users SET modify_users = '0' WHERE user = '6666'")
    assert "You do not have permission to be here" in page(client, "ADD=3&user=6666")


def test_a_sandbox_made_before_the_new_user_columns_still_serves_the_screens(tmp_path):
    path = str(tmp_path / "old.sqlite")
    init_sandbox(path, PHONES, aliases=ALIASES)
    with closing(sqlite3.connect(path)) as db:   # as an older aliassync made it: no api_only_user, no modify_users
        db.execute("ALTER TABLE vicidial_users DROP COLUMN api_only_user")
        db.execute("ALTER TABLE vicidial_users DROP COLUMN modify_users")
        db.commit()
    with running_sandbox(path) as base, httpx.Client(base_url=base, auth=("6666", "1234")) as client:
        assert "alias_id=sales1" in page(client, "ADD=12000000000")
        assert "You do not have permission to be here" in page(client, "ADD=3&user=6666")


def test_other_paths_are_still_not_found(screens):
    _, client = screens
    assert client.get("/vicidial/welcome.php").status_code == 404
