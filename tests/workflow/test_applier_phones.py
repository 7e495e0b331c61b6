"""The applier with phone actions: the same conflict check, settlement and read-back as for aliases."""
from dataclasses import replace

from aliassync.core.model import Current, PhoneSettings, fold
from aliassync.core.phone import DesiredPhone, LivePhone, SecretRef, plan_phones
from aliassync.core.plan import Plan
from aliassync.core.target import WriteOutcome
from aliassync.workflow.applier import Applier, ApplyOptions

from fakes import FakeVicidial

FIELDS = {"dialplan_number": "100", "voicemail_id": "100", "phone_full_name": "Desk 100", "protocol": "SIP",
          "local_gmt": "-5.00", "outbound_cid": "3125550100", "active": "Y"}
SECRETS = {"phone_pass": SecretRef("env", "P"), "registration_password": SecretRef("env", "R")}


class FakeDialerWithPhones(FakeVicidial):
    """FakeVicidial plus a phones table keyed by (extension, server_ip), as VICIdial keys it."""

    def __init__(self, rows=()):
        super().__init__()
        self.rows = {row.key: row for row in rows}

    def read_phone_rows(self, logins):
        wanted = {fold(login) for login in logins}
        found = {}
        for row in self.rows.values():
            if fold(row.login) in wanted:
                found[fold(row.login)] = found.get(fold(row.login), ()) + (row,)
        return found

    def current(self):
        return Current({}, {}, {}, self.read_phone_rows([r.login for r in self.rows.values()]),
                       frozenset({"10.10.10.15", "10.10.10.16"}))

    def write(self, action):
        if action.resource != "phone":
            return super().write(action)
        if self.before_write:
            self.before_write(action)
        self.calls.append((action.kind, action.name))
        forced = self.script.get(action.key)
        if forced:
            return forced.pop(0)
        if action.kind == "delete":
            self.rows.pop(action.before.key)
        elif action.kind == "create":
            after = action.after
            row = LivePhone(after.login, after.extension, after.server_ip, {**after.fields, "active": "Y"})
            self.rows[row.key] = row
        else:
            key = (fold(action.after.extension), action.after.server_ip)
            row = self.rows[key]
            fields = {k: v for k, v in action.after.fields.items() if k != "phone_login"}
            self.rows[key] = replace(row, login=action.after.fields.get("phone_login", row.login),
                                     fields={**row.fields, **fields})
        return WriteOutcome("success", f"SUCCESS: {action.kind} phone {action.name}")


def apply(dialer, phones, **options):
    part = plan_phones(phones, PhoneSettings(prune=options.pop("prune", False)), dialer.current())
    assert part.problems == ()
    return Applier(dialer, dialer, ApplyOptions(**options), sleep=lambda s: None).apply(Plan(part.actions))


def test_an_inactive_phone_is_created_then_set_inactive_and_both_are_read_back():
    dialer = FakeDialerWithPhones()
    report = apply(dialer, [DesiredPhone("100a", "100", "10.10.10.15", {**FIELDS, "active": "N"}, SECRETS)])
    assert [(r.action.key, r.status) for r in report.results] == [("create:phone:100a", "done"),
                                                                 ("update:phone:100a", "done")]
    assert dialer.rows[("100", "10.10.10.15")].fields["active"] == "N"


def test_a_phone_changed_by_hand_since_the_plan_is_a_conflict_and_survives():
    row = LivePhone("100a", "100", "10.10.10.15", {**FIELDS, "phone_full_name": "Old"})
    dialer = FakeDialerWithPhones([row])
    part = plan_phones([DesiredPhone("100a", "100", "10.10.10.15", FIELDS, {})], PhoneSettings(), dialer.current())
    dialer.rows[row.key] = replace(row, fields={**row.fields, "phone_full_name": "Theirs"})   # the admin screen
    (result,) = Applier(dialer, dialer, ApplyOptions()).apply(Plan(part.actions)).results
    assert result.status == "conflict"
    assert result.message.startswith("changed since the plan: it saw phone 100a at extension 100 on 10.10.10.15")
    assert dialer.rows[row.key].fields["phone_full_name"] == "Theirs"
    assert dialer.calls == []


def test_a_lost_answer_of_a_phone_delete_is_settled_by_the_state():
    row = LivePhone("100a", "100", "10.10.10.15", FIELDS)
    dialer = FakeDialerWithPhones([row])

    def lost(action):
        dialer.rows.pop(action.before.key)                     # it landed ...
        return WriteOutcome("unknown", "connection dropped")   # ... the answer did not

    part = plan_phones([DesiredPhone("100a", None, None, present=False)], PhoneSettings(), dialer.current())
    dialer.write = lost
    (result,) = Applier(dialer, dialer, ApplyOptions(settle=0)).apply(Plan(part.actions)).results
    assert (result.status, result.attempts) == ("done", 1)
    assert result.message == "outcome unknown (connection dropped); read back: as asked"


def test_a_success_the_database_did_not_keep_fails_the_read_back():
    dialer = FakeDialerWithPhones([LivePhone("100a", "100", "10.10.10.15", {**FIELDS, "phone_full_name": "Old"})])
    original = dialer.write

    def cut(action):
        outcome = original(action)
        key = ("100", "10.10.10.15")
        dialer.rows[key] = replace(dialer.rows[key], fields={**dialer.rows[key].fields, "phone_full_name": "Desk"})
        return outcome

    dialer.write = cut
    (result,) = apply(dialer, [DesiredPhone("100a", "100", "10.10.10.15", FIELDS, {})]).results
    assert result.status == "failed"
    assert result.message.startswith("VICIdial answered SUCCESS but the database holds phone 100a at extension 100 "
                                     "on 10.10.10.15")
