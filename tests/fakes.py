"""An in-memory target for applier and graph tests: fast, exact, scriptable.

It follows VICIdial's rules closely enough for the applier (ids matched
case-insensitively, members must be phones); the sandbox tests prove the
real answers.
"""
from __future__ import annotations

from aliassync.core.model import Current, LiveAlias, Phone, fold
from aliassync.core.phone import at_key
from aliassync.core.target import WriteOutcome


class FakeVicidial:
    user = "apiuser"
    delete_right_remedy = "grant SELECT on that column to the read-only account"

    def __init__(self, phones=("a", "b", "c", "d"), aliases=(), agents=(), may_delete=True):
        self.phones = [Phone(p, True) if isinstance(p, str) else p for p in phones]
        self.agents = agents                          # (user, phone_login) pairs; None: not readable
        self.may_delete = may_delete                  # vicidial_users.ast_delete_phones; None: not readable
        self.access_checked: list[dict] = []
        self.aliases = {fold(a.alias_id): a for a in aliases}
        self.calls: list[tuple[str, str]] = []
        self.script: dict[str, list[WriteOutcome]] = {}   # action key -> outcomes forced, in turn
        self.before_write = None                      # hook(action) run just before each write

    # StateReader
    def read(self) -> Current:
        return Current.build(self.aliases.values(), self.phones, self.agents)

    def read_aliases(self, alias_ids):
        return {fold(i): self.aliases[fold(i)] for i in alias_ids if fold(i) in self.aliases}

    def read_phone_rows(self, logins):
        return {}

    def read_phone_at(self, login, extension, server_ip):
        return at_key(self.read_phone_rows([login]).get(fold(login), ()), extension, server_ip)

    def delete_right(self, user):
        return self.may_delete

    def close(self):
        pass

    # Writer
    def version(self) -> str:
        return "2.14-202 build 250720-1841"

    def check_access(self, functions) -> None:
        self.access_checked.append(dict(functions))

    def write(self, action) -> WriteOutcome:
        if self.before_write:
            self.before_write(action)
        self.calls.append((action.kind, action.name))
        forced = self.script.get(action.key)
        if forced:
            return forced.pop(0)   # the call did not reach the database
        key = fold(action.name)
        if action.kind == "delete":
            self.aliases.pop(key, None)
        else:
            self.aliases[key] = LiveAlias(action.name if action.kind == "create" else self.aliases[key].alias_id,
                                          action.after.alias_name, action.after.logins_list)
        return WriteOutcome("success", f"SUCCESS: {action.kind} {action.name}")
