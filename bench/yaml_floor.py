"""The floor: parse files with PyYAML's C loader and nothing else.

    python -m bench.yaml_floor [--events] FILE...

prints the seconds spent parsing. Run as a process of its own, its wall
time is what any Python tool reading the same YAML pays at least:
starting Python, importing PyYAML, and `yaml.load(..., CSafeLoader)`.

`--events` only walks the C parser's events (`yaml.parse`), building no
value at all: the part of the C loader that is C, a lower floor still.
"""
from __future__ import annotations

import sys
import time

import yaml


def load(paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            yaml.load(handle, Loader=yaml.CSafeLoader)
    return time.perf_counter() - start


def events(paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            for _ in yaml.parse(handle, Loader=yaml.CSafeLoader):
                pass
    return time.perf_counter() - start


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--events"]:
        print(f"{events(arguments[1:]):.6f}")
    else:
        print(f"{load(arguments):.6f}")
