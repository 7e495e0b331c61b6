"""Coverage-guided fuzzing of the desired-state loader with atheris (optional; not part of the test suite).

    pip install atheris
    python tests/fuzz/fuzz_loader.py tests/fuzz/corpus -max_len=4096 -max_total_time=600

Every input is written to a file and loaded as `aliassync validate` would. A run may end in a
Desired or in LoadError with one line per problem; anything else (another exception, a problem
spanning lines or longer than the loader's own cap) is a crash, and atheris saves the input.
See docs/reliability.md for the corpus and the limits.
"""
from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from aliassync.files import loader
    from aliassync.errors import LoadError

LONGEST_LINE = loader.MAX_MESSAGE + 600    # the message plus its file:line:column
_PATH = os.path.join(tempfile.mkdtemp(prefix="aliassync-fuzz-"), "input.yaml")


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as handle:
        handle.write(data)
    try:
        loader.load([_PATH])
    except LoadError as error:
        for line in error.lines():
            if "\n" in line or "\r" in line or len(line) > LONGEST_LINE:
                raise AssertionError(f"not one short line: {line[:200]!r}") from None


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
