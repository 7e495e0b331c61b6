"""The mutation tool (python -m mutation): the mutants it makes, and its list of equivalent ones kept true."""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from mutation.__main__ import MODULES, stale_equivalents  # noqa: E402
from mutation.equivalent import EQUIVALENT  # noqa: E402
from mutation.operators import mutants, mutated  # noqa: E402

SOURCE = '''\
import logging
log = logging.getLogger(__name__)


def limit(deletes: int, most: int | None, allowed=False) -> str | None:
    """Docstrings are for people."""
    log.info("checking %d", deletes)
    if most is not None and deletes > most:
        return f"{deletes} is over {most}"
    if not allowed:
        record(deletes, kind="delete")
    return None
'''


def test_each_small_change_is_one_mutant_named_by_its_place_and_change():
    found = [(m.function, m.operator, m.change, m.code) for m in mutants("m.py", SOURCE)]
    # no mutant in the docstring, the log call, the f-string's text or the annotations
    assert found == [
        ("limit", "boolean", "and->or", "most is not None and deletes > most"),
        ("limit", "compare", "0:IsNot->Is", "most is not None"),
        ("limit", "compare", "0:Gt->GtE", "deletes > most"),
        ("limit", "return", "value->None", "return f'{deletes} is over {most}'"),
        ("limit", "drop not", "not x->x", "not allowed"),
        ("limit", "delete statement", "call", "record(deletes, kind='delete')"),
        ("limit", "drop keyword", "kind", "record(deletes, kind='delete')"),
        ("limit", "constant", "False->True", "False"),     # the default value, after the body
    ]


def test_a_mutant_changes_exactly_its_place():
    by_change = {m.change: m for m in mutants("m.py", SOURCE)}
    assert "deletes >= most" in mutated(SOURCE, by_change["0:Gt->GtE"])
    assert "if allowed:" in mutated(SOURCE, by_change["not x->x"])
    assert "record(deletes)" in mutated(SOURCE, by_change["kind"])
    for mutant in mutants("m.py", SOURCE):
        ast.parse(mutated(SOURCE, mutant))


def test_identical_changes_in_one_function_are_told_apart_by_rank():
    source = "def f(a, b):\n    return a == 1 or b == 1\n"
    names = [m.name for m in mutants("m.py", source) if m.operator == "constant"]
    assert names == ["m.py:f:constant:1->2:1#1", "m.py:f:constant:1->2:1#2"]


def test_every_listed_equivalent_mutant_still_exists_and_says_why():
    assert stale_equivalents(list(MODULES)) == []
    assert all(len(reason) > 40 for reason in EQUIVALENT.values())


def test_docs_list_exactly_the_equivalent_mutants_and_their_reasons():
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    table = text[text.index("| module | mutant | why it cannot change behaviour |"):].split("\n\n")[0]
    documented = {f"{module.strip(' `')}:{mutant.strip(' `')}": why.strip()
                  for module, mutant, why in (row.strip("|").split(" | ") for row in table.splitlines()[2:])}
    assert documented == EQUIVALENT


def test_every_module_mutated_has_its_tests():
    for module, tests in MODULES.items():
        assert (ROOT / module).is_file(), module
        assert tests and all((ROOT / test).is_file() for test in tests), module
