"""Writing desired-state files in a test and collecting the loader's problems with them."""
from __future__ import annotations

from pathlib import Path

import pytest

from aliassync.errors import LoadError
from aliassync.files import loader


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(*paths: str) -> list[str]:
    """Every problem the loader reports for these files, as the one-line messages a user sees."""
    with pytest.raises(LoadError) as caught:
        loader.load(list(paths))
    return caught.value.lines()


def files(tmp_path: Path, body: str, name: str = "aliases.yaml") -> str:
    """A desired-state file of `body` after `version: 1`."""
    return write(tmp_path, name, "version: 1\n" + body)
