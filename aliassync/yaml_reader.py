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
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from .model import Location

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000

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


class _Scalars:
    """Turns scalar events into Python values as PyYAML's safe loader would."""

    def __init__(self) -> None:
        self._resolver = Resolver()
        self._constructor = SafeConstructor()

    def value(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolver.resolve(ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:str":
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return self._constructor.construct_object(node)

    @staticmethod
    def keep_text(event: yaml.ScalarEvent, value: Any) -> Any:
        """A plain scalar read as anything but text or null becomes `Plain`."""
        if value is None or isinstance(value, str) or event.style or event.tag is not None:
            return value
        return Plain(event.value, value)


class _Frame:
    __slots__ = ("container", "is_map", "key", "key_mark", "size", "anchor", "mark")

    def __init__(self, container, is_map: bool, anchor, mark):
        self.container = container
        self.is_map = is_map
        self.key: Any = _NO_KEY
        self.key_mark = None
        self.size = 1
        self.anchor = anchor
        self.mark = mark


_NO_KEY = object()
_DUPLICATE = object()    # the key being read repeats an earlier one: its value is dropped


class Plain(str):
    """A plain scalar that YAML 1.1 would read as a number, boolean or date.

    It stays the text as written (a login `0100` stays `0100`, an alias id
    `no` stays `no`); `.value` is what YAML would have made of it, for the
    few keys whose values really are numbers or booleans.
    """

    value: Any

    def __new__(cls, text: str, value: Any) -> "Plain":
        obj = super().__new__(cls, text)
        obj.value = value
        return obj


def read(text: str, name: str, problems: list[YamlProblem] | None = None) -> Any:
    """The single YAML document in `text` as plain values.

    A duplicate key does not stop the reading: it is added to `problems`
    (the first value is kept) so that every other problem is found too.
    Without `problems`, it raises like any other problem.

    Plain scalars that YAML would read as numbers, booleans or dates come
    back as `Plain`: their text, with YAML's reading in `.value`.
    """
    scalars = _Scalars()
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    root: list[Any] = []
    documents = 0
    expanded = 0

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
            if value in frame.container:
                duplicate = YamlProblem(_location(name, mark), f"duplicate key {value!r}")
                if problems is None:
                    raise duplicate
                problems.append(duplicate)
                frame.key, frame.key_mark = _DUPLICATE, mark
            else:
                frame.key, frame.key_mark = value, mark
        else:
            if frame.key is not _DUPLICATE:
                frame.container[frame.key] = value
            frame.key = _NO_KEY

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.ScalarEvent):
                if event.value == "<<" and not event.style:
                    raise YamlProblem(_location(name, event.start_mark), "merge keys (<<) are not supported")
                value = scalars.keep_text(event, scalars.value(event))
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                place(value, 1, event.start_mark)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise YamlProblem(_location(name, event.start_mark),
                                      f"nesting deeper than {MAX_DEPTH} levels")
                is_map = isinstance(event, yaml.MappingStartEvent)
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    raise YamlProblem(_location(name, event.start_mark), "a mapping key must be a plain value")
                stack.append(_Frame({} if is_map else [], is_map, event.anchor, event.start_mark))
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
        raise YamlProblem(location, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Location(name, 1, 1), f"invalid YAML: {exc}") from None
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
