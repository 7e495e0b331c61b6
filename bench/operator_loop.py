"""What an operator would do without aliassync: push every declared alias, every run.

    python -m bench.operator_loop API_URL DIRECTORY

(user and password in ALIASSYNC_API_USER / ALIASSYNC_API_PASS). The API
cannot list aliases, so a script that does not read the database cannot
tell what changed: for each declared alias it sends `update_phone_alias`
with the whole member list, and `add_phone_alias` when VICIdial answers
that the alias does not exist; an `ensure: absent` entry is an
`update_phone_alias` with `delete_alias=Y`. One call at a time, as a shell
loop around curl sends them. The files are read as plain text
(`yaml.BaseLoader`), so logins stay as written.

Prints what it did as one JSON object: calls by function, seconds.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import httpx
import yaml

ALIAS_MISSING = "PHONE ALIAS DOES NOT EXIST"


def declared(directory: Path) -> Iterator[tuple[str, dict]]:
    """(alias_id, entry) for every alias in the directory's YAML files, in file order."""
    for path in sorted(directory.glob("*.yaml")):
        with open(path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=yaml.BaseLoader)
        yield from (document.get("aliases") or {}).items()


class Api:
    def __init__(self, url: str, user: str, password: str):
        self._url = url
        self._login = {"user": user, "pass": password, "source": "operator"}
        self._http = httpx.Client(timeout=30.0)
        self.calls: Counter = Counter()

    def call(self, function: str, **fields: str) -> str:
        self.calls[function] += 1
        return self._http.post(self._url, data={"function": function, **self._login, **fields}).text

    def close(self) -> None:
        self._http.close()


def push(api: Api, alias_id: str, entry: dict) -> None:
    """One declared alias, pushed whether or not it changed."""
    if entry.get("ensure") == "absent":
        api.call("update_phone_alias", alias_id=alias_id, delete_alias="Y")
        return
    fields = {"alias_id": alias_id, "alias_name": entry["alias_name"],
              "phone_logins": ",".join(entry["phone_logins"])}
    if ALIAS_MISSING in api.call("update_phone_alias", **fields):
        api.call("add_phone_alias", **fields)


def main(argv: list[str]) -> int:
    url, directory = argv
    api = Api(url, os.environ["ALIASSYNC_API_USER"], os.environ["ALIASSYNC_API_PASS"])
    start = time.perf_counter()
    try:
        for alias_id, entry in declared(Path(directory)):
            push(api, alias_id, entry)
    finally:
        api.close()
    print(json.dumps({"calls": dict(api.calls), "seconds": time.perf_counter() - start}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
