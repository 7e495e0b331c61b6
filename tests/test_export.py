"""Export: the live aliases as a file whose plan against the same state is empty."""
from aliassync import loader
from aliassync.export import export_text, unexportable
from aliassync.model import Current, LiveAlias, Phone
from aliassync.planner import plan

PHONES = [Phone(login, True) for login in ("100a", "100b", "0100")]


def test_export_round_trips_to_an_empty_plan(tmp_path):
    live = [LiveAlias("sales1", "Sales floor 1", "100b,100a"), LiveAlias("0100", "2024", "0100,100a"),
            LiveAlias("no", "Yes", "100a,100b"),
            LiveAlias("odd1", "Sales, floor", "100a,100b"), LiveAlias("odd2", "Twice", "100a,100A"),
            LiveAlias("odd3", "Empty item", "100a,,100b"), LiveAlias("odd*", "Glob", "100a,100b")]
    current = Current.build(live, PHONES)
    path = tmp_path / "exported.yaml"
    path.write_text(export_text(current, "sandbox test"), encoding="utf-8")
    desired = loader.load([str(path)])
    assert [a.alias_id for a in desired.aliases] == ["0100", "no", "sales1"]
    assert desired.settings.ignore == ("odd[*]", "odd1", "odd2", "odd3")   # odd[*] matches odd* alone
    result = plan(desired, current)
    assert result.actions == ()
    assert result.ignored == ("odd*", "odd1", "odd2", "odd3")


def test_why_an_alias_cannot_be_declared_as_stored():
    assert unexportable(LiveAlias("ok1", "Fine", "a,b")) is None
    assert unexportable(LiveAlias("ok1", "A+B", "a,b")) == (
        "alias_name 'A+B' is outside 2 to 50 characters of [- ._0-9A-Za-z]")
    assert unexportable(LiveAlias("ok1", "Fine", "a, b")) == (
        "logins_list 'a, b' holds items that are not phone logins: [' b']")
    assert unexportable(LiveAlias("ok1", "Fine", "a,A")) == "logins_list 'a,A' lists a login twice"
    assert unexportable(LiveAlias("x", "Fine", "a,b")) == "id 'x' is outside 2 to 20 characters of [-_0-9A-Za-z]"
