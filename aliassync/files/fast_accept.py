"""A fast path past schema validation for what the desired-state schema certainly accepts.

jsonschema walks every entry through dozens of keyword checks, each a
generic dispatch: on a fleet of 10,000 aliases that was half of a whole
`plan`, and on a cluster of 2,000 stations most of it. Most entries are
plainly well formed. So this module compiles the schema once into plain
Python predicates, one closure per keyword, that answer "valid?" exactly
as jsonschema's Draft 2020-12 validator would for the keywords the schema
uses (`type`, `pattern` as `re.search`, `enum`, `const`, `if`/`then`/`else`,
`not`, `allOf`, `$ref`, `properties`, `additionalProperties`, `required`,
`propertyNames`, `items`, the size bounds). Where the answer could differ
(a float where an integer is asked, a key that is not text, an enum of
containers) a predicate says "unsure", and the value is left to jsonschema.

The loader hands jsonschema only what this module cannot accept: the
document less the entries proven valid (entries of `aliases`, `phones`,
`stations`, `servers`), or nothing at all when the whole document is
proven, and then jsonschema is not even imported. jsonschema reports every
problem exactly as it would have (same paths, same messages, same order),
because the schema has no rule spanning several entries of a section
(`sections()` checks that).

Accepting is the only thing this module does; it never rejects. A schema
holding a keyword it does not implement turns it off (`enabled` False),
so a changed schema can never let a wrong entry through;
tests/files/test_fast_accept.py checks it against jsonschema on entries
near every rule.
"""
from __future__ import annotations

import operator
import re
from typing import Any, Callable

# Keywords that only say something to people (or name the schema): no effect on validity.
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "x-message",
                         "default", "examples"})
# What a section may say besides its entries' rules for its entries to be checked one by one.
ENTRY_WISE = frozenset({"type", "propertyNames", "additionalProperties"}) | ANNOTATIONS

# Keywords about mappings, lists and numbers: a text value passes them whatever they say.
TEXT_IGNORES = frozenset({"properties", "additionalProperties", "required", "propertyNames", "minProperties",
                          "maxProperties", "items", "minItems", "maxItems", "minimum", "maximum"})

Check = Callable[[Any], bool]
# The size bounds: which values each applies to (others pass it), and how the size must compare.
SIZES: dict[str, tuple[type, Callable[[int, int], bool]]] = {
    "minLength": (str, operator.ge), "maxLength": (str, operator.le),
    "minItems": (list, operator.ge), "maxItems": (list, operator.le),
    "minProperties": (dict, operator.ge), "maxProperties": (dict, operator.le),
}


class Unsure(Exception):
    """A value whose validity these predicates cannot tell exactly as jsonschema would."""


class Unsupported(Exception):
    """A schema keyword (or form of one) this module does not implement."""


def _type_check(name: str) -> Check:
    # jsonschema's draft 2020-12 type checker: bool is neither integer nor number; an integer may
    # be a float without fraction (unsure here: rare, and jsonschema knows).
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "null":
        return lambda v: v is None
    if name == "number":
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)

    if name == "integer":
        def integer(v: Any) -> bool:
            if isinstance(v, float):
                raise Unsure
            return isinstance(v, int) and not isinstance(v, bool)
        return integer
    raise Unsupported(f"type {name!r}")


def _literal(value: Any) -> Any:
    if value is not None and not isinstance(value, (str, bool, int, float)):
        raise Unsupported(f"enum or const of {type(value).__name__}")
    return value


def _equal(value: Any, literal: Any) -> bool:
    """jsonschema's `equal` for a scalar literal: True is not 1, 1.0 is 1, text only equals text."""
    if isinstance(value, bool) or isinstance(literal, bool):
        return isinstance(value, bool) and isinstance(literal, bool) and value == literal
    if isinstance(value, (dict, list)):
        return False
    return value == literal


class _Compiler:
    def __init__(self, root: dict):
        self.root = root
        self.refs: dict[str, Check] = {}
        self.patterns: list[Callable[[str], Any]] = []    # what the compiled expressions call
        self.literals: list[frozenset[str]] = []

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#/"):
            raise Unsupported(f"$ref {pointer!r}")
        if pointer not in self.refs:
            node = self.resolve(pointer)
            holder: list[Check] = []
            self.refs[pointer] = lambda v: holder[0](v)   # compiled once, recursion-safe
            holder.append(self.compile(node))
            self.refs[pointer] = holder[0]
        return self.refs[pointer]

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        fused = self.fused(schema)
        checks: list[Check] = [] if fused is None else [fused[1]]
        for keyword, value in schema.items():
            if keyword in ANNOTATIONS or keyword in ("then", "else") or fused is not None and keyword in fused[0]:
                continue
            checks.append(self.keyword(keyword, value, schema))
        return _all(checks)

    def text(self, schema: Any, depth: int = 0) -> str | None:
        """A Python expression judging a `str` named `v` by `schema` (None: a keyword this cannot
        say for text). Text is what most checks are about, and one expression per value instead
        of a closure per keyword makes the fast path as fast as a check written by hand."""
        if schema is True or schema == {}:
            return "True"
        if schema is False:
            return "False"
        if not isinstance(schema, dict) or depth > 20:
            return None
        parts: list[str] = []
        for keyword, value in schema.items():
            if keyword in ANNOTATIONS or keyword in ("then", "else"):
                continue
            if keyword in TEXT_IGNORES:
                continue
            if keyword == "type":
                names = value if isinstance(value, list) else [value]
                parts.append("True" if "string" in names else "False")
            elif keyword == "pattern":
                self.patterns.append(re.compile(value).search)
                parts.append(f"_search[{len(self.patterns) - 1}](v) is not None")
            elif keyword == "minLength":
                parts.append(f"len(v) >= {int(value)}")
            elif keyword == "maxLength":
                parts.append(f"len(v) <= {int(value)}")
            elif keyword in ("enum", "const"):
                literals = [_literal(item) for item in (value if keyword == "enum" else [value])]
                self.literals.append(frozenset(item for item in literals if isinstance(item, str)))
                parts.append(f"v in _literals[{len(self.literals) - 1}]")
            else:
                inner = self.text_keyword(keyword, value, schema, depth)
                if inner is None:
                    return None
                parts.append(inner)
        return " and ".join(f"({part})" for part in parts) if parts else "True"

    def text_keyword(self, keyword: str, value: Any, schema: dict, depth: int) -> str | None:
        if keyword == "$ref":
            if not isinstance(value, str) or not value.startswith("#/"):
                raise Unsupported(f"$ref {value!r}")
            return self.text(self.resolve(value), depth + 1)
        if keyword == "not":
            inner = self.text(value, depth + 1)
            return None if inner is None else f"not ({inner})"
        if keyword == "allOf":
            inner = [self.text(part, depth + 1) for part in value]
            return None if None in inner else " and ".join(f"({part})" for part in inner) or "True"
        if keyword == "if":
            test, then = self.text(value, depth + 1), self.text(schema.get("then", True), depth + 1)
            otherwise = self.text(schema.get("else", True), depth + 1)
            if None in (test, then, otherwise):
                return None
            return f"({then}) if ({test}) else ({otherwise})"
        return None

    def resolve(self, pointer: str) -> Any:
        node: Any = self.root
        for part in pointer[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def text_check(self, schema: Any, *, known_text: bool) -> Check | None:
        """`schema` as one compiled expression: for values known to be text (`known_text`: keys), or
        for a schema that says `type: string` (anything else fails it)."""
        expression = self.text(schema)
        if expression is None:
            return None
        guard = "" if known_text else "isinstance(v, str) and "
        namespace = {"_search": self.patterns, "_literals": self.literals}
        return eval(f"lambda v: {guard}({expression})", namespace)   # noqa: S307 (built from the schema's own keywords)

    def fused(self, schema: dict) -> tuple[frozenset[str], Check] | None:
        """The two shapes most entries are made of, as one closure each (the same verdicts as their
        keywords one by one, in a fraction of the calls): text matching a pattern, and a mapping
        of known keys only (`type: object`, `properties`, `additionalProperties: false`)."""
        if schema.get("type") == "string":
            check = self.text_check(schema, known_text=False)
            if check is not None:
                return frozenset(schema), check
        if schema.get("type") == "array" and set(schema) - ANNOTATIONS <= {"type", "items", "minItems", "maxItems"}:
            expression = self.text(schema.get("items", True))
            if expression is not None and schema.get("items", True) is not True:
                low, high = int(schema.get("minItems", 0)), schema.get("maxItems")
                size = f"len(v) >= {low}" + (f" and len(v) <= {int(high)}" if high is not None else "")
                namespace = {"_search": self.patterns, "_literals": self.literals}
                # each item `v` (a name the generator's own): text, and as the items schema says
                check = eval(f"lambda v: isinstance(v, list) and {size} and all(isinstance(v, str) and ({expression}) "
                             "for v in v)", namespace)   # noqa: S307 (built from the schema's own keywords)
                return frozenset(schema), check
        if (schema.get("type") == "object" and schema.get("additionalProperties") is False
                and isinstance(schema.get("properties"), dict) and not schema.get("patternProperties")):
            props = {name: self.compile(sub) for name, sub in schema["properties"].items()}
            get = props.get

            def closed_mapping(v: Any) -> bool:
                if not isinstance(v, dict):
                    return False
                for name, item in v.items():
                    check = get(name)
                    if check is None or not check(item):
                        return False
                return True
            return frozenset({"type", "properties", "additionalProperties"}), closed_mapping
        return None

    def keyword(self, keyword: str, value: Any, schema: dict) -> Check:   # noqa: C901 (one branch a keyword)
        if keyword == "$ref":
            return self.ref(value)
        if keyword == "type":
            names = value if isinstance(value, list) else [value]
            kinds = [_type_check(name) for name in names]
            return kinds[0] if len(kinds) == 1 else (lambda v: any(kind(v) for kind in kinds))
        if keyword == "pattern":
            search = re.compile(value).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if keyword in SIZES:
            kind, holds = SIZES[keyword]
            return lambda v: not isinstance(v, kind) or holds(len(v), value)
        if keyword in ("enum", "const"):
            literals = tuple(_literal(item) for item in (value if keyword == "enum" else [value]))
            return lambda v: any(_equal(v, literal) for literal in literals)
        if keyword == "if":
            test = self.compile(value)
            then = self.compile(schema.get("then", True))
            if schema.get("else", True) == value:   # `if X then A else X` is `X and A`
                return lambda v: test(v) and then(v)
            otherwise = self.compile(schema.get("else", True))
            return lambda v: then(v) if test(v) else otherwise(v)
        if keyword == "not":
            inner = self.compile(value)
            return lambda v: not inner(v)
        if keyword == "allOf":
            return _all([self.compile(part) for part in value])
        if keyword == "properties":
            props = {name: self.compile(sub) for name, sub in value.items()}
            return lambda v: not isinstance(v, dict) or all(
                props[name](item) for name, item in v.items() if name in props)
        if keyword == "additionalProperties":
            known = frozenset(schema.get("properties", {}))
            if schema.get("patternProperties"):
                raise Unsupported("additionalProperties beside patternProperties")
            extra = self.compile(value)
            return lambda v: not isinstance(v, dict) or all(
                extra(item) for name, item in v.items() if name not in known)
        if keyword == "required":
            names = tuple(value)
            return lambda v: not isinstance(v, dict) or all(name in v for name in names)
        if keyword == "propertyNames":
            names = self.text_check(value, known_text=True) or self.compile(value)

            def property_names(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                for name in v:
                    if not isinstance(name, str):
                        raise Unsure
                    if not names(name):
                        return False
                return True
            return property_names
        if keyword == "items":
            if not isinstance(value, (dict, bool)):
                raise Unsupported("items as a list")
            item = self.compile(value)
            return lambda v: not isinstance(v, list) or all(item(element) for element in v)
        if keyword in ("minimum", "maximum"):
            bound = value
            number = _type_check("number")
            if keyword == "minimum":
                return lambda v: not number(v) or not v < bound
            return lambda v: not number(v) or not v > bound
        raise Unsupported(f"keyword {keyword!r}")


def _all(checks: list[Check]) -> Check:
    """One check for a schema's keywords together (each must hold)."""
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def every(v: Any) -> bool:
        for check in checks:
            if not check(v):
                return False
        return True
    return every


def _verdict(check: Check, value: Any) -> bool | None:
    """Valid (True), invalid (False) or unsure (None), exactly as jsonschema would judge."""
    try:
        return check(value)
    except Unsure:
        return None


def _proven(check: Check, value: Any) -> bool:
    return _verdict(check, value) is True


class FastAccept:
    """Decides, for one schema, which parts of a document it certainly accepts."""

    def __init__(self, schema: dict):
        try:
            compiler = _Compiler(schema)
            self._whole = compiler.compile(schema)
            self._sections = self.sections(schema, compiler)
        except Unsupported:
            self.enabled = False
            return
        self.enabled = True

    @staticmethod
    def sections(schema: dict, compiler: _Compiler) -> dict[str, tuple[Check, Check]]:
        """{top-level key: (its entry keys' check, its entries' check)} for the sections whose
        entries can be checked one by one (a mapping with rules on each key and value only)."""
        found = {}
        for name, sub in schema.get("properties", {}).items():
            if not (isinstance(sub, dict) and ENTRY_WISE.issuperset(sub) and sub.get("type") == "object"
                    and isinstance(sub.get("additionalProperties"), dict)):
                continue
            found[name] = (compiler.compile(sub.get("propertyNames", True)),
                           compiler.compile(sub["additionalProperties"]))
        return found

    def verdict(self, section: str, key: Any, entry: Any) -> bool | None:
        """Whether `{section: {key: entry}}` is valid in that section, as jsonschema would say;
        None when unsure (then only jsonschema can tell)."""
        names, values = self._sections[section]
        if not isinstance(key, str):
            return None
        name = _verdict(names, key)
        return name if name is not True else _verdict(values, entry)

    def entry(self, section: str, key: Any, entry: Any) -> bool:
        """Whether `{section: {key: entry}}` is certainly valid in that section."""
        return self.verdict(section, key, entry) is True

    def document_verdict(self, data: Any) -> bool | None:
        """The whole document's validity as jsonschema would say it; None when unsure."""
        return _verdict(self._whole, data)

    def unchecked(self, data: Any) -> Any | None:
        """What jsonschema must still check: None if nothing, else `data` less its proven entries."""
        if not self.enabled:
            return data
        if not isinstance(data, dict):
            return data
        rest = dict(data)
        left = False
        for section in self._sections:
            entries = data.get(section)
            if not isinstance(entries, dict):
                continue
            unproven = {key: entry for key, entry in entries.items() if not self.entry(section, key, entry)}
            left = left or bool(unproven)
            rest[section] = unproven
        if not left and _proven(self._whole, rest):
            return None
        return rest
