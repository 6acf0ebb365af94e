#!/usr/bin/env bash
# The example Python agent (examples/python-agent) against the whole scenario suite (with
# CRM and mail on two hosts, then on one) and 200 generated conversations. Run from the repository root after a release build:
#   bash .ci/example-agent.sh            # LEAKPROOF=path/to/leakproof to use another binary
set -euo pipefail

LEAKPROOF=${LEAKPROOF:-target/release/leakproof}
venv=target/example-agent-venv
log=target/example-agent.log

if [ ! -x "$LEAKPROOF" ]; then
  echo "no leakproof binary at $LEAKPROOF: build it first (cargo build --release)" >&2
  exit 2
fi

started=$SECONDS
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r examples/python-agent/requirements.txt
echo "venv ready in $((SECONDS - started)) s"

# A free port on loopback, from the OS.
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

"$venv/bin/python" examples/python-agent/agent.py --port "$port" >"$log" 2>&1 &
agent_pid=$!
trap 'kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true' EXIT

# Wait until it answers (any HTTP status will do: a DELETE of no session is a 404).
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/v1/sessions/ping", method="DELETE"), timeout=1)
except urllib.error.HTTPError:
    pass' "$url" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "the example agent exited:"; cat "$log"; exit 1
  fi
  sleep 0.1
done
echo "example agent up at $url"

started=$SECONDS
"$LEAKPROOF" run scenarios/ --agent-url "$url"
echo "scenario suite against the example agent: $((SECONDS - started)) s"

started=$SECONDS
"$LEAKPROOF" run scenarios/ --agent-url "$url" --single-host
echo "scenario suite against the example agent, CRM and mail on one host: $((SECONDS - started)) s"

started=$SECONDS
"$LEAKPROOF" fuzz --cases 200 --seed 1 --agent-url "$url" --out target/example-agent-fuzz
echo "fuzz (200 cases, seed 1) against the example agent: $((SECONDS - started)) s"
