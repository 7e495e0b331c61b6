"""Export: the live aliases as a file whose plan against the same state is empty."""
from aliassync.files import loader
from aliassync.output.export import export_text, unexportable
from aliassync.core.model import Current, LiveAlias, Phone
from aliassync.core.planner import plan

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
    # odd* cannot be addressed through the API at all: never acted on, so it needs no ignore pattern
    assert desired.settings.ignore == ("odd1", "odd2", "odd3")
    result = plan(desired, current)
    assert result.actions == ()
    assert result.ignored == ("odd1", "odd2", "odd3")
    assert result.unaddressable == ("odd*",)


def test_why_an_alias_cannot_be_declared_as_stored():
    assert unexportable(LiveAlias("ok1", "Fine", "a,b")) is None
    assert unexportable(LiveAlias("ok1", "A+B", "a,b")) == (
        "alias_name 'A+B' is outside 2 to 50 characters of [- ._0-9A-Za-z]")
    assert unexportable(LiveAlias("ok1", "Fine", "a, b")) == (
        "logins_list 'a, b' holds items that are not phone logins: [' b']")
    assert unexportable(LiveAlias("ok1", "Fine", "a,A")) == "logins_list 'a,A' lists a login twice"
    assert unexportable(LiveAlias("x", "Fine", "a,b")) == (
        "the id is shorter than 2 characters, which VICIdial's API refuses; aliassync never acts on it "
        "(rename or delete it on the dialer by hand)")


def test_export_shows_a_login_equal_to_the_api_password_and_stays_valid(tmp_path, capsys):
    """VICIdial's default password is 1234, and so may a phone login be: the export shows it, not `***`."""
    from aliassync.cli import main
    from aliassync.sandbox.store import init_sandbox

    sandbox = str(tmp_path / "dialer.sqlite")
    init_sandbox(sandbox, [{"login": "1234"}, {"login": "100a"}],
                 aliases=[LiveAlias("team1", "Team one", "1234,100a")])      # its API user: 6666, password 1234
    password_file = tmp_path / "api-pass"
    password_file.write_text("1234\n", encoding="utf-8")
    exported = tmp_path / "exported.yaml"

    code = main(["export", "--sandbox", sandbox, "--api-pass-file", str(password_file), "--out", str(exported)])
    err = capsys.readouterr().err

    assert code == 0
    assert '  "team1":\n    alias_name: "Team one"\n    phone_logins: ["1234", "100a"]\n' in exported.read_text()
    assert [line for line in err.splitlines() if "warning" in line] == [
        "aliassync: warning: the API password equals a value in the data (an alias id or name, a phone login or "
        "field); "
        "data is never masked, so output may show it; choose another password"]
    assert main(["validate", str(exported)]) == 0
    assert main(["plan", str(exported), "--sandbox", sandbox]) == 0     # the export declares the live state
