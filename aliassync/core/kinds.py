"""The resource kinds, by the name an Action carries in `resource`.

Each kind module gives the applier the same three checks (`same`,
`matches`, `shown`, with `asked`); adding a kind adds a module here.
"""
from __future__ import annotations

from types import ModuleType

from . import alias, phone

KINDS: dict[str, ModuleType] = {"alias": alias, "phone": phone}
