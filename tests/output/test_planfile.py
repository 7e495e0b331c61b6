"""Saved plans: what a pipeline reviews on the pull request is exactly what apply carries out on merge.

Each test narrates what a team would lose if the saved plan broke: a
delete that stops waiting, an update taken for a conflict, a plan of
another version or another file applied, a lost save reported as saved.
"""
import json
import os

import pytest

from aliassync import __version__
from aliassync.core.model import Current, Desired, DesiredAlias, LiveAlias, Phone, PhoneSettings, Settings
from aliassync.core.phone import DesiredPhone, LivePhone, SecretRef
from aliassync.core.planner import plan
from aliassync.errors import PlanFileError
from aliassync.output import planfile, render

FIELDS = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk", "protocol": "SIP",
          "local_gmt": "-5.00", "outbound_cid": "3125550100"}
PASS = SecretRef("env", "AGENT_PHONE_PASS")


def mixed_plan():
    """Every kind of action, with dependencies and the rows the plan relied on: creates of phones and
    aliases, field-only phone updates, alias updates, prune deletes (gated), a phone delete after the
    alias update that drops it, an id case change (delete, then create)."""
    rows = {"300c": (LivePhone("300c", "300", "10.10.10.17", FIELDS, {"phone_pass": True}),),
            "300d": (LivePhone("300d", "300", "10.10.10.16", {**FIELDS, "phone_full_name": "Old"},
                               {"phone_pass": False}),)}
    live = Current.build([LiveAlias("team3", "Team", "100a,300c,300d"), LiveAlias("old1", "Old", "300d"),
                          LiveAlias("Sales9", "Sales", "300d")],
                         [Phone("300c", True), Phone("300d", True)], [])
    current = Current(live.aliases, live.phones, live.agent_logins, rows,
                      frozenset({"10.10.10.15", "10.10.10.16", "10.10.10.17"}))
    desired = Desired(
        (DesiredAlias("team3", "Team 3", ("300d", "100a", "zz9")), DesiredAlias("new1", "New", ("100a",)),
         DesiredAlias("sales9", "Sales", ("300d",))),
        Settings(prune=True, phones=PhoneSettings(prune=True)),
        phones=(DesiredPhone("100a", "100", "10.10.10.15", FIELDS, {"phone_pass": PASS, "registration_password": PASS}),
                DesiredPhone("300d", "300", "10.10.10.16", FIELDS, {"phone_pass": PASS})))
    return plan(desired, current), current, desired


def save_and_load(tmp_path, the_plan, current, **settings):
    document = render.plan_document(the_plan, target="sandbox x")
    source = tmp_path / "desired.yaml"
    source.write_text("version: 1\n", encoding="utf-8")
    path = str(tmp_path / "plan.json")
    checksum = planfile.save(path, the_plan, current, document, target="sandbox x", sources=[str(source)],
                             max_deletes=settings.get("max_deletes"),
                             max_delete_percent=settings.get("max_delete_percent"))
    return planfile.load(path), checksum, path


def comparable(action):
    before = action.before
    if isinstance(before, LivePhone):   # which passwords matched is the plan's, never saved
        before = (before.login, before.extension, before.server_ip, dict(before.fields))
    return (action.key, action.kind, action.name, action.reason, action.resource, action.depends_on, before,
            action.after, action.change)


def test_a_saved_plan_keeps_every_action_its_dependencies_and_the_rows_it_relied_on(tmp_path):
    # Lost dependencies would let the phone delete run before the alias stops listing it, and prune deletes
    # before the creates; lost `before` rows would make every update a conflict at apply.
    the_plan, current, _ = mixed_plan()
    kinds = {(a.resource, a.kind) for a in the_plan.actions}
    assert kinds == {("alias", "create"), ("alias", "update"), ("alias", "delete"), ("phone", "create"),
                     ("phone", "update"), ("phone", "delete")}
    assert any(a.depends_on for a in the_plan.actions if a.kind == "delete")
    saved, checksum, _ = save_and_load(tmp_path, the_plan, current, max_deletes=5, max_delete_percent=50)
    assert [comparable(a) for a in saved.plan.actions] == [comparable(a) for a in the_plan.actions]
    assert (saved.max_deletes, saved.max_delete_percent, saved.checksum) == (5, 50, checksum)
    assert saved.plan.managed_live == the_plan.managed_live
    assert saved.plan.phones.managed_live == the_plan.phones.managed_live == 2


def test_a_saved_plan_still_matches_the_state_it_was_made_on_and_refuses_a_moved_one(tmp_path):
    the_plan, current, _ = mixed_plan()
    saved, _, path = save_and_load(tmp_path, the_plan, current)
    planfile.check_current(saved, current, "sandbox x", path)        # nothing moved: no refusal
    moved = Current({**current.aliases, "team3": LiveAlias("team3", "Team", "300c")}, current.phones,
                    current.agent_logins, current.phone_rows, current.servers)
    with pytest.raises(PlanFileError) as caught:
        planfile.check_current(saved, moved, "sandbox x", path)
    assert str(caught.value) == (f"{path}: the live state changed since the plan was made: alias team3 name "
                                 "'Team' logins '100a,300c,300d' is now alias team3 name 'Team' logins '300c'; "
                                 "nothing "
                                 "written; run plan again")


def test_a_saved_plan_is_refused_when_a_phone_row_it_changes_moved(tmp_path):
    # Someone renamed phone 300d by hand after the review: the plan's update of it was made for another row.
    the_plan, current, _ = mixed_plan()
    saved, _, path = save_and_load(tmp_path, the_plan, current)
    rows = {**current.phone_rows, "300d": (LivePhone("300d", "300", "10.10.10.16",
                                                     {**FIELDS, "phone_full_name": "Hand"}),)}
    moved = Current(current.aliases, current.phones, current.agent_logins, rows, current.servers)
    with pytest.raises(PlanFileError) as caught:
        planfile.check_current(saved, moved, "sandbox x", path)
    assert str(caught.value).startswith(
        f"{path}: the live state changed since the plan was made: phone 300d at extension 300 on 10.10.10.16 "
        "with {'dialplan_number': '100', ")
    assert "'phone_full_name': 'Old'" in str(caught.value) and " is now phone 300d at extension 300 on " \
        "10.10.10.16 with {" in str(caught.value) and "'phone_full_name': 'Hand'" in str(caught.value)


def applied(the_plan, current):
    """`current` after every action of `the_plan` landed, as VICIdial would hold it."""
    aliases, rows = dict(current.aliases), {k: list(v) for k, v in current.phone_rows.items()}
    for action in the_plan.actions:
        key = action.name.lower()
        if action.resource == "alias":
            if action.kind == "delete":
                aliases.pop(key, None)
            else:
                want = action.after
                aliases[key] = LiveAlias(want.alias_id, want.alias_name, want.logins_list)
        elif action.kind == "delete":
            rows[key] = [r for r in rows.get(key, []) if r.key != action.before.key]
        else:
            want = action.after
            old = next((r for r in rows.get(key, []) if r.key == (want.extension.lower(), want.server_ip)), None)
            fields = {**(old.fields if old else {}), **want.fields}
            rows[key] = [r for r in rows.get(key, []) if r is not old] + [
                LivePhone(want.login, want.extension, want.server_ip, fields)]
    return Current(aliases, current.phones, current.agent_logins, {k: tuple(v) for k, v in rows.items() if v},
                   current.servers)


def test_a_saved_plan_applied_once_is_refused_the_second_time_as_already_applied(tmp_path):
    # The merge pipeline ran twice: the second run writes nothing and says why.
    the_plan, current, _ = mixed_plan()
    saved, _, path = save_and_load(tmp_path, the_plan, current)
    with pytest.raises(PlanFileError) as caught:
        planfile.check_current(saved, applied(the_plan, current), "sandbox x", path)
    assert str(caught.value) == (f"{path}: this plan has already been applied (the live state is what it asks); "
                                 "nothing written")
    # ... but half applied (the phone delete did not land) is a moved state, not an applied plan
    half = applied(the_plan, current)
    half = Current(half.aliases, half.phones, half.agent_logins, {**half.phone_rows, "300c": current.phone_rows["300c"]},
                   half.servers)
    with pytest.raises(PlanFileError) as caught:
        planfile.check_current(saved, half, "sandbox x", path)
    assert "the live state changed since the plan was made" in str(caught.value)


def test_the_checksum_is_the_documented_one_anyone_can_recompute(tmp_path):
    # docs/commands.md (saved plans): SHA-256 of the JSON object without `checksum`, sorted keys, no spaces, ASCII.
    import hashlib

    the_plan, current, _ = mixed_plan()
    _, checksum, path = save_and_load(tmp_path, the_plan, current)
    data = json.loads(open(path, encoding="utf-8").read())
    assert data.pop("checksum") == checksum
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert checksum == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    data["target"] = "sandbox é"    # non-ASCII escaped, as docs/commands.md says
    assert planfile._canonical(data) == json.dumps(data, sort_keys=True, separators=(",", ":")).encode("ascii")


def test_the_plan_file_is_indented_json_ending_in_a_newline_for_reviewers(tmp_path):
    the_plan, current, _ = mixed_plan()
    _, _, path = save_and_load(tmp_path, the_plan, current)
    text = open(path, encoding="utf-8").read()
    assert text.startswith('{\n  "aliassync_plan": 1,\n  "aliassync_version": ') and text.endswith("\n}\n")


def test_a_plan_is_saved_through_a_hidden_file_beside_it(tmp_path, monkeypatch):
    # Written whole in the same directory, then renamed over the target: never a half-written plan file, and
    # no file left in another directory (another filesystem would make the rename a copy).
    the_plan, current, _ = mixed_plan()
    moves = []
    original = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: moves.append((src, dst)) or original(src, dst))
    _, _, path = save_and_load(tmp_path, the_plan, current)
    ((source, target),) = moves
    assert os.path.dirname(source) == str(tmp_path) and os.path.basename(source).startswith(".aliassync-plan-")
    assert target == path


def test_a_saved_plan_of_another_version_is_refused(tmp_path):
    # Another version may read the file differently (a field renamed, a default changed): plan again.
    the_plan, current, _ = mixed_plan()
    _, _, path = save_and_load(tmp_path, the_plan, current)
    data = json.loads(open(path, encoding="utf-8").read())
    data.pop("checksum")
    data["aliassync_version"] = "0.0.9"
    data["checksum"] = planfile._sha256(planfile._canonical(data))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    with pytest.raises(PlanFileError) as caught:
        planfile.load(path)
    assert str(caught.value) == (f"{path}: made by aliassync 0.0.9, this is {__version__}; plan again with this "
                                 "version")


def test_a_wrong_checksum_is_refused_and_the_right_one_accepted(tmp_path):
    the_plan, current, _ = mixed_plan()
    _, checksum, path = save_and_load(tmp_path, the_plan, current)
    assert planfile.load(path, expected_checksum=checksum).checksum == checksum
    with pytest.raises(PlanFileError) as caught:
        planfile.load(path, expected_checksum="sha256:" + "0" * 64)
    assert str(caught.value) == (f"{path}: its checksum is {checksum}, not sha256:{'0' * 64} as --checksum asks: "
                                 "this is not the plan that was reviewed; nothing written")


@pytest.mark.parametrize("content, detail", [
    (b"{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"\xff\xfe{}", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
])
def test_an_unreadable_plan_file_is_one_clear_line(tmp_path, content, detail):
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(PlanFileError) as caught:
        planfile.load(str(path))
    assert str(caught.value) == f"{path}: not a readable aliassync plan file ({detail})"
    with pytest.raises(PlanFileError) as caught:
        planfile.load(str(tmp_path))
    assert str(caught.value) == f"{tmp_path}: not a readable aliassync plan file (Is a directory)"
    missing = tmp_path / "missing.json"
    with pytest.raises(PlanFileError) as caught:
        planfile.load(str(missing))
    assert str(caught.value) == f"{missing}: not a readable aliassync plan file (No such file or directory)"


def test_json_without_the_marker_is_not_a_plan_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text('{"version": 1}', encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        planfile.load(str(path))
    assert str(caught.value) == f"{path}: not an aliassync plan file (format 1)"


def test_only_a_json_object_with_the_marker_is_taken_for_a_saved_plan(tmp_path):
    # A desired-state file may be JSON (or YAML in flow style, starting with `{`): it must be planned, not
    # refused as a broken saved plan.
    the_plan, current, _ = mixed_plan()
    _, _, path = save_and_load(tmp_path, the_plan, current)
    flow = tmp_path / "flow.yaml"
    flow.write_text('{version: 1, aliases: {s1: {alias_name: S, phone_logins: [a]}}}\n', encoding="utf-8")
    as_json = tmp_path / "desired.json"
    as_json.write_text('{"version": 1, "aliases": {}}', encoding="utf-8")
    marker_in_a_list = tmp_path / "list.json"
    marker_in_a_list.write_text('[{"aliassync_plan": 1}]', encoding="utf-8")
    assert planfile.saved_plan_path([str(flow)]) is None
    assert planfile.saved_plan_path([str(as_json), str(flow)]) is None
    assert planfile.saved_plan_path([str(marker_in_a_list)]) is None
    assert planfile.saved_plan_path([str(tmp_path)]) is None          # a directory of desired files
    assert planfile.saved_plan_path([path]) == path


def test_a_saved_plan_is_applied_alone(tmp_path):
    # `apply plan.json extra.yaml` would apply a plan whose desired files were not what was reviewed.
    the_plan, current, _ = mixed_plan()
    _, _, path = save_and_load(tmp_path, the_plan, current)
    extra = tmp_path / "extra.yaml"
    extra.write_text("version: 1\n", encoding="utf-8")
    for paths in ([path, str(extra)], [str(extra), path]):
        with pytest.raises(PlanFileError) as caught:
            planfile.saved_plan_path(paths)
        assert str(caught.value) == (f"{path} is a saved plan; a saved plan is applied alone, without other files "
                                     f"(aliassync apply {path})")


def test_the_desired_hash_follows_the_files_contents_and_names(tmp_path):
    one = tmp_path / "a.yaml"
    one.write_text("version: 1\n", encoding="utf-8")
    first = planfile.desired_hash([str(one)])
    assert planfile.desired_hash([str(one)]) == first
    one.write_text("version: 1 \n", encoding="utf-8")      # one byte more
    assert planfile.desired_hash([str(one)]) != first
    other = tmp_path / "b.yaml"
    other.write_text("version: 1 \n", encoding="utf-8")
    assert planfile.desired_hash([str(other)]) != planfile.desired_hash([str(one)])   # same bytes, other name


def test_a_failed_save_is_an_error_and_leaves_no_file_behind(tmp_path, monkeypatch):
    # A pipeline told "saved" would upload a plan that is not there, or an old one.
    the_plan, current, _ = mixed_plan()
    document = render.plan_document(the_plan, target="sandbox x")
    source = tmp_path / "desired.yaml"
    source.write_text("version: 1\n", encoding="utf-8")
    target = tmp_path / "plan.json"

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        planfile.save(str(target), the_plan, current, document, target="sandbox x", sources=[str(source)],
                      max_deletes=None, max_delete_percent=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["desired.yaml"]


def test_a_plan_file_holds_no_password_only_references(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_PHONE_PASS", "Secret1234")
    the_plan, current, _ = mixed_plan()
    _, _, path = save_and_load(tmp_path, the_plan, current)
    text = open(path, encoding="utf-8").read()
    assert "Secret1234" not in text and "{env: AGENT_PHONE_PASS}" in text
