#!/usr/bin/env bash
# The main job on the embedded sandbox: install, create a sandbox, plan,
# apply, plan again. Run from the project's root: bash examples/demo.sh
set -u
cd "$(dirname "$0")/.."
python3 -m venv .venv && .venv/bin/pip install -q . || exit 1
run() { echo "\$ $*"; "$@"; echo "(exit $?)"; echo; }
rm -f demo.sqlite
run .venv/bin/aliassync sandbox init demo.sqlite --phones examples/phones.yaml
run .venv/bin/aliassync plan examples/aliases.yaml --sandbox demo.sqlite
run .venv/bin/aliassync apply examples/aliases.yaml --sandbox demo.sqlite --yes
run .venv/bin/aliassync plan examples/aliases.yaml --sandbox demo.sqlite
