"""Reads YAML safely into plain values, and finds where a value stood.

Built on PyYAML's event stream (its C parser when present) rather than its
constructor, so that:
- a duplicate mapping key is an error (PyYAML keeps the last one silently);
- nesting depth and alias expansion ("billion laughs") are bounded while
  reading, before anything large is built;
- nothing recurses, so a deeply nested file cannot crash the process.

Reading keeps no positions (a file of 100,000 aliases stays small in
memory); `locate()` reads the text again and returns the positions of just
the paths an error needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from ..core.model import Location

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000
MAX_VALUES = 2_000_000       # keys, values and list items in one file, aliases expanded

Path = tuple[Any, ...]


@dataclass(frozen=True)
class YamlProblem(Exception):
    """The text is not YAML aliassync accepts; `location` says where."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def _location(name: str, mark) -> Location:
    return Location(name, mark.line + 1, mark.column + 1)


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _kind(value: Any, limit: int = 40) -> str:
    """How a message names a non-text value: `null`, `int 12`."""
    if value is None:
        return "null"
    shown = repr(value)
    return f"{type(value).__name__} {shown[:limit]}" + ("..." if len(shown) > limit else "")


def _excerpt(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut to `limit` characters."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _position(text: str, name: str, index: int) -> Location:
    """The location of character `index` of `text`."""
    line_start = text.rfind("\n", 0, index) + 1
    return Location(name, text.count("\n", 0, index) + 1, index - line_start + 1)


_STR = "tag:yaml.org,2002:str"
# Plain scalars resolved to these are kept as `Plain`: reading one as a value never fails
# (what cannot be a value stays text), so it can wait until someone asks.
_LAZY_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "timestamp"))


class _Scalars:
    """Turns scalar events into Python values as PyYAML's safe loader would."""

    def __init__(self) -> None:
        self._resolver = Resolver()
        self._constructor = SafeConstructor()
        table = self._resolver.yaml_implicit_resolvers      # first character -> [(tag, regexp)]
        self._shortcuts = None not in table                 # no resolver looks at every scalar
        self._resolvable = frozenset(table)
        self._lazy_only = frozenset(first for first, resolvers in table.items()
                                    if all(tag in _LAZY_TAGS for tag, _ in resolvers))

    def value(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolver.resolve(ScalarNode, event.value, event.implicit)
        return self._construct(event, tag)

    def kept(self, event: yaml.ScalarEvent) -> Any:
        """`keep_text(event, value(event))`, without building the values a `Plain` works out when asked."""
        if event.tag is not None or event.style:
            return self.value(event)
        text = event.value
        if self._shortcuts:
            if text[:1] not in self._resolvable:
                return text          # no implicit resolver looks at it: YAML reads it as text
            if text[:1] in self._lazy_only:
                return Plain(text)   # a number, boolean or date, or else text, which Plain also reads as
        tag = self._resolver.resolve(ScalarNode, text, event.implicit)
        if tag in _LAZY_TAGS:
            return Plain(text)
        return self.keep_text(event, self._construct(event, tag))

    def _construct(self, event: yaml.ScalarEvent, tag: str) -> Any:
        if tag == _STR:
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self._constructor.construct_object(node)
        except (ValueError, ArithmeticError, LookupError, AttributeError, TypeError) as exc:
            # PyYAML's constructors on text not made for them (a 5000-digit number, the date
            # 2001-13-45, `!!bool maybe`, `!!timestamp 2001-3-145`, `!!int` of nothing): plain
            # text stays text
            if event.tag is None:
                return event.value
            detail = f": {exc}" if isinstance(exc, ValueError) else ""
            raise ConstructorError(None, None, f"cannot read {_excerpt(event.value)} as {tag.rsplit(':', 1)[-1]}"
                                               f"{detail}", event.start_mark) from None
        finally:
            self._constructor.constructed_objects.clear()   # it would keep every node of the file

    def plain(self, text: str) -> Any:
        """What YAML makes of `text` written as a plain scalar."""
        return self.value(yaml.ScalarEvent(None, None, (True, False), str(text)))

    @staticmethod
    def keep_text(event: yaml.ScalarEvent, value: Any) -> Any:
        """A plain scalar read as anything but text or null becomes `Plain`."""
        if value is None or isinstance(value, str) or event.style or event.tag is not None:
            return value
        return Plain(event.value)


class _Frame:
    __slots__ = ("container", "is_map", "key", "key_mark", "size", "anchor", "mark", "places")

    def __init__(self, container, is_map: bool, anchor, mark, places: dict | None = None):
        self.container = container
        self.is_map = is_map
        self.key: Any = _NO_KEY
        self.key_mark = None
        self.size = 1
        self.anchor = anchor
        self.mark = mark
        self.places = places     # where this mapping's keys stand, when the caller asked (see read())


_PLAIN_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NO_KEY = object()
_DUPLICATE = object()    # the key being read repeats an earlier one: its value is dropped


class Plain(str):
    """A plain scalar that YAML 1.1 would read as a number, boolean or date.

    It stays the text as written (a login `0100` stays `0100`, an alias id
    `no` stays `no`); `.value` is what YAML would have made of it, for the
    few keys whose values really are numbers or booleans. It is worked out
    again when asked for, so that a Plain costs no more memory than its text.
    """

    __slots__ = ()

    @property
    def value(self) -> Any:
        return _Scalars().plain(self)


def read(text: str, name: str, problems: list[YamlProblem] | None = None,
         key_places: dict[str, dict[str, Location]] | None = None) -> Any:
    """The single YAML document in `text` as plain values.

    A duplicate key does not stop the reading: it is added to `problems`
    (the first value is kept) so that every other problem is found too.
    Without `problems`, it raises like any other problem.

    Plain scalars that YAML would read as numbers, booleans or dates come
    back as `Plain`: their text, with YAML's reading in `.value`.

    `key_places` names top-level keys (`{"phones": {}}`) whose mapping's
    keys should have their positions noted as they are read (key text ->
    Location, into the dict given): the few entries that keep a place
    without reading the file again.
    """
    scalars = _Scalars()
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    root: list[Any] = []
    documents = 0
    expanded = 0
    values = 0

    def count(size: int, mark) -> None:
        nonlocal values
        values += size
        if values > MAX_VALUES:
            raise YamlProblem(_location(name, mark), f"more than {MAX_VALUES} values in one file")

    def place(value: Any, size: int, mark) -> None:
        if not stack:
            root.append(value)
            return
        frame = stack[-1]
        frame.size += size
        if not frame.is_map:
            frame.container.append(value)
        elif frame.key is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise YamlProblem(_location(name, mark), "a mapping key must be a plain value")
            if not isinstance(value, str):
                raise YamlProblem(_location(name, mark), f"a mapping key must be text, not {_kind(value)}; "
                                                         "put it in quotes")
            if value in frame.container:
                duplicate = YamlProblem(_location(name, mark), f"duplicate key {value!r}")
                if problems is None:
                    raise duplicate
                problems.append(duplicate)
                frame.key, frame.key_mark = _DUPLICATE, mark
            else:
                frame.key, frame.key_mark = value, mark
                if frame.places is not None:
                    frame.places[str(value)] = _location(name, mark)
        else:
            if frame.key is not _DUPLICATE:
                frame.container[frame.key] = value
            frame.key = _NO_KEY

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.ScalarEvent):
                if event.value == "<<" and not event.style:
                    raise YamlProblem(_location(name, event.start_mark), "merge keys (<<) are not supported")
                count(1, event.start_mark)
                value = scalars.kept(event)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                place(value, 1, event.start_mark)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(_location(name, event.start_mark),
                                      f"nesting deeper than {MAX_DEPTH} levels")
                count(1, event.start_mark)
                if event.tag not in _PLAIN_COLLECTION_TAGS:
                    raise YamlProblem(_location(name, event.start_mark), f"tag {event.tag} is not supported")
                is_map = isinstance(event, yaml.MappingStartEvent)
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    raise YamlProblem(_location(name, event.start_mark), "a mapping key must be a plain value")
                places = None
                if key_places and is_map and len(stack) == 1 and stack[0].is_map:
                    places = key_places.get(stack[0].key)   # a top-level key whose entries keep their place
                stack.append(_Frame({} if is_map else [], is_map, event.anchor, event.start_mark, places))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.size)
                place(frame.container, frame.size, frame.mark)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise YamlProblem(_location(name, event.start_mark),
                                      f"unknown alias *{event.anchor}")
                value, size = anchors[event.anchor]
                count(size, event.start_mark)
                expanded += size
                if expanded > MAX_ALIAS_EXPANSION:
                    raise YamlProblem(_location(name, event.start_mark),
                                      f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values")
                place(value, size, event.start_mark)
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlProblem(_location(name, event.start_mark),
                                      "only one YAML document per file is allowed")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        location = _location(name, mark) if mark else Location(name, 1, 1)
        raise YamlProblem(location, f"invalid YAML: {_one_line(problem)}") from None
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlProblem(_position(text, name, exc.position),
                          f"invalid YAML: character #x{code:04x}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Location(name, 1, 1), f"invalid YAML: {_one_line(str(exc))}") from None
    return root[0] if root else None


@dataclass(frozen=True)
class Place:
    """Where a value stood, and where its key stood if it was in a mapping."""

    value: Location
    key: Location | None = None


def locate(text: str, name: str, paths: Iterable[Path]) -> dict[Path, Place]:
    """Positions of the given paths in `text` (already known to be valid YAML).

    A path that cannot be found (inside an alias, or missing) gets the
    position of its nearest ancestor that can.
    """
    wanted = set(paths)
    prefixes = {p[:i] for p in wanted for i in range(len(p) + 1)}
    found: dict[Path, Place] = {}
    scalars = _Scalars()
    # each frame: [path, is_map, next_index_or_key, key_mark]
    stack: list[list[Any]] = []

    def child_path(mark) -> tuple[Path | None, Any]:
        if not stack:
            return (), None
        frame = stack[-1]
        path, is_map = frame[0], frame[1]
        if path is None:
            return None, None
        if is_map:
            return path + (frame[2],), frame[3]
        index = frame[2]
        frame[2] += 1
        return path + (index,), None

    def record(path: Path | None, mark, key_mark) -> None:
        if path is not None and path in prefixes:
            found[path] = Place(_location(name, mark), _location(name, key_mark) if key_mark else None)

    def after_value() -> None:
        if stack and stack[-1][1]:
            stack[-1][2] = _NO_KEY

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.ScalarEvent):
            if stack and stack[-1][1] and stack[-1][2] is _NO_KEY:
                stack[-1][2] = scalars.keep_text(event, scalars.value(event))
                stack[-1][3] = event.start_mark
                continue
            path, key_mark = child_path(event.start_mark)
            record(path, event.start_mark, key_mark)
            after_value()
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            path, key_mark = child_path(event.start_mark)
            record(path, event.start_mark, key_mark)
            if path is not None and path not in prefixes:
                path = None
            stack.append([path, isinstance(event, yaml.MappingStartEvent),
                          _NO_KEY if isinstance(event, yaml.MappingStartEvent) else 0, None])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            after_value()
        elif isinstance(event, yaml.AliasEvent):
            path, key_mark = child_path(event.start_mark)
            record(path, event.start_mark, key_mark)
            after_value()

    result: dict[Path, Place] = {}
    for path in wanted:
        for cut in range(len(path), -1, -1):
            if path[:cut] in found:
                result[path] = found[path[:cut]]
                break
        else:
            result[path] = Place(Location(name, 1, 1))
    return result
