"""The small changes a mutation run makes to a module, one at a time.

Each is a change a slip of the keyboard or of the mind could make, and
that a test suite worth its name should notice:

- comparisons flipped (`==` and `!=`, `<` and `<=`, `in` and `not in`, ...);
- `and` and `or` swapped, a `not` dropped, an `if`'s test negated;
- constants changed (`True`/`False`, a number plus one, a compared string);
- arithmetic swapped (`+` and `-`, ...), `break` and `continue` swapped;
- statements deleted (a call made for its effect, a `raise`, `x += ...`);
- a returned value replaced by `None`; a keyword argument dropped.

Not mutated: docstrings, annotations, decorators, and calls to a logger
(`log.info(...)`): what they say is for people, and the tests of output
cover what users see.

A mutant is named by where it is (the function, by qualified name), what
it changes (the operator and the original code) and its rank among the
identical ones there: a name that survives edits elsewhere in the file,
so that equivalent mutants can be listed by name (mutation/equivalent.py).
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

COMPARE_SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
BINARY_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
    ast.Mod: ast.Mult,
}
LOGGERS = frozenset({"log", "logger", "logging"})
SHOWN = 60   # characters of original code in a mutant's name


@dataclass(frozen=True)
class Mutant:
    module: str          # path of the module, relative to the repository
    index: int           # its place among the module's mutants
    line: int
    function: str        # qualified name of the enclosing function or class, or "<module>"
    operator: str        # e.g. "compare", "delete statement"
    change: str          # e.g. "== -> !="
    code: str            # the original code changed (one line, cut short)
    rank: int            # 1 for the first identical (function, operator, change, code), 2 for the next...

    @property
    def name(self) -> str:
        return f"{self.module}:{self.function}:{self.operator}:{self.change}:{self.code}#{self.rank}"

    def __str__(self) -> str:
        return f"{self.module}:{self.line} in {self.function}: {self.operator} {self.change}  [{self.code}]"


def _snippet(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _is_docstring(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _is_log_call(node: ast.AST) -> bool:
    call = node.value if isinstance(node, ast.Expr) else node
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in LOGGERS


class _Finder(ast.NodeVisitor):
    """Lists the sites of a tree, each with the node's position in a fixed walk."""

    def __init__(self) -> None:
        self.sites: list[tuple[int, int, str, str, str, str]] = []   # (node no, line, scope, op, change, code)
        self.numbers: dict[int, int] = {}
        self.scope: list[str] = []
        self.count = 0

    def generic_visit(self, node: ast.AST) -> None:
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def visit(self, node: ast.AST) -> None:
        self.count += 1
        self.numbers[id(node)] = self.count
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.scope.append(node.name)
            body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
            for statement in body:
                self.visit(statement)
            if not isinstance(node, ast.ClassDef):
                for default in node.args.defaults + node.args.kw_defaults:
                    if default is not None:
                        self.visit(default)
            self.scope.pop()
            return
        if isinstance(node, ast.Expr) and (_is_docstring(node) or _is_log_call(node)):
            return
        if isinstance(node, ast.JoinedStr):
            return   # messages
        self._sites(node)
        super().visit(node)

    def _add(self, node: ast.AST, operator: str, change: str) -> None:
        scope = ".".join(self.scope) or "<module>"
        self.sites.append((self.count, getattr(node, "lineno", 0), scope, operator, change, _snippet(node)))

    def _sites(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    self._add(node, "compare", f"{position}:{type(op).__name__}->{COMPARE_SWAPS[type(op)].__name__}")
            for position, operand in enumerate([node.left, *node.comparators]):
                if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                    self._add(node, "compared string", f"{position}:{operand.value!r}")
        elif isinstance(node, ast.BoolOp):
            self._add(node, "boolean", "and->or" if isinstance(node.op, ast.And) else "or->and")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._add(node, "drop not", "not x->x")
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            self._add(node, "constant", f"{node.value}->{not node.value}")
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            self._add(node, "constant", f"{node.value}->{node.value + 1}")
        elif isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
            self._add(node, "arithmetic", f"{type(node.op).__name__}->{BINARY_SWAPS[type(node.op)].__name__}")
        elif isinstance(node, ast.AugAssign):
            self._add(node, "delete statement", "augmented assignment")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self._add(node, "delete statement", "call")
        elif isinstance(node, ast.Raise):
            self._add(node, "delete statement", "raise")
        elif isinstance(node, (ast.Break, ast.Continue)):
            self._add(node, "loop", "break<->continue")
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            self._add(node, "return", "value->None")
        elif isinstance(node, (ast.If, ast.While)) and not isinstance(node.test, (ast.Compare, ast.BoolOp)) and not (
                isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)):   # "drop not" does that
            self._add(node, "negate test", "x->not x")
        if isinstance(node, ast.Call) and not _is_log_call(node):
            for keyword in node.keywords:
                if keyword.arg is not None:
                    self._add(node, "drop keyword", keyword.arg)


def mutants(module: str, source: str) -> list[Mutant]:
    """Every mutant of `source` (the text of `module`), in a fixed order."""
    finder = _Finder()
    finder.visit(ast.parse(source))
    seen: dict[tuple, int] = {}
    found = []
    for index, (_, line, scope, operator, change, code) in enumerate(finder.sites):
        key = (scope, operator, change, code)
        seen[key] = seen.get(key, 0) + 1
        found.append(Mutant(module, index, line, scope, operator, change, code, seen[key]))
    return found


def mutated(source: str, mutant: Mutant) -> str:
    """`source` with `mutant` applied (as `ast.unparse` writes it: comments and layout are lost)."""
    tree = ast.parse(source)
    finder = _Finder()
    finder.visit(tree)
    number = finder.sites[mutant.index][0]
    target = next(node for node in ast.walk(tree) if finder.numbers.get(id(node)) == number)
    _apply(tree, target, mutant)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n"


def _apply(tree: ast.AST, node: ast.AST, mutant: Mutant) -> None:
    operator, change = mutant.operator, mutant.change
    if operator == "compare":
        position = int(change.split(":", 1)[0])
        node.ops[position] = COMPARE_SWAPS[type(node.ops[position])]()
    elif operator == "compared string":
        position = int(change.split(":", 1)[0])
        operand = [node.left, *node.comparators][position]
        operand.value = f"XX{operand.value}XX"
    elif operator == "boolean":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif operator == "constant":
        node.value = (not node.value) if type(node.value) is bool else node.value + 1
    elif operator == "arithmetic":
        node.op = BINARY_SWAPS[type(node.op)]()
    elif operator == "return":
        node.value = ast.Constant(None)
    elif operator == "drop keyword":
        node.keywords = [k for k in node.keywords if k.arg != change]
    elif operator in ("drop not", "negate test", "delete statement", "loop"):
        _replace(tree, node, _replacement(node, operator))
    else:
        raise ValueError(f"unknown operator {operator}")


def _replacement(node: ast.AST, operator: str) -> ast.AST:
    if operator == "drop not":
        return node.operand
    if operator == "negate test":
        changed = copy.copy(node)
        changed.test = ast.UnaryOp(ast.Not(), node.test)
        return changed
    if operator == "loop":
        return ast.Continue() if isinstance(node, ast.Break) else ast.Break()
    return ast.Pass()


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for position, item in enumerate(value):
                    if item is old:
                        value[position] = new
                        return
            elif value is old:
                setattr(parent, field, new)
                return
    raise ValueError("node not found")
