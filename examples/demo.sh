#!/usr/bin/env bash
# The main job on the embedded sandbox: install, create a sandbox, plan,
# apply, plan again; then the same for phones and stations on a two-server
# cluster. Run from the project's root: bash examples/demo.sh
set -u
cd "$(dirname "$0")/.."
python3 -m venv .venv && .venv/bin/pip install -q . || exit 1
run() { echo "\$ $*"; "$@"; echo "(exit $?)"; echo; }
rm -f demo.sqlite
run .venv/bin/aliassync sandbox init demo.sqlite --phones examples/phones.yaml
run .venv/bin/aliassync plan examples/aliases.yaml --sandbox demo.sqlite
run .venv/bin/aliassync apply examples/aliases.yaml --sandbox demo.sqlite --yes
run .venv/bin/aliassync plan examples/aliases.yaml --sandbox demo.sqlite

# A cluster: phones and stations on two agent servers. The passwords are
# references in the file; here they come from two variables set to demo values.
export AGENT_PHONE_PASS=DemoPhone1234 AGENT_SIP_SECRET=DemoSip5678
rm -f cluster.sqlite
run .venv/bin/aliassync sandbox init cluster.sqlite --phones examples/cluster-phones.yaml
run .venv/bin/aliassync plan examples/cluster.yaml --sandbox cluster.sqlite
run .venv/bin/aliassync apply examples/cluster.yaml --sandbox cluster.sqlite --yes
run .venv/bin/aliassync plan examples/cluster.yaml --sandbox cluster.sqlite
