#!/usr/bin/env bash
# HubSpot's official clients against `leakproof mocks serve`: the Python client
# (PyPI hubspot-api-client, plus the date-versioned hubspot-sdk) and the Node
# client (npm @hubspot/api-client), each against the mocks on two hosts (CRM
# and mail apart) and on one host (--single-host).
#
# Run from the repository root. The binary is $LEAKPROOF (default
# target/release/leakproof), built beforehand; the fixtures are $FIXTURES
# (default scenarios/fixtures/default.yaml). Installs into target/hubspot-venv
# (created or reused) and tests/node/node_modules (npm ci). On a failure it
# prints that server's request log. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

LEAKPROOF=${LEAKPROOF:-target/release/leakproof}
FIXTURES=${FIXTURES:-scenarios/fixtures/default.yaml}
# The clients, pinned. hubspot-api-client calls /crm/v3 and /crm/v4;
# hubspot-sdk (HubSpot's Stainless-generated SDK) calls the 2026-03 paths.
PYTHON_CLIENTS=('hubspot-api-client==12.0.0' 'hubspot-sdk==0.1.0a9')
venv=target/hubspot-venv
# How long one client run may take before it counts as failed.
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-300}

if [ ! -x "$LEAKPROOF" ]; then
  echo "error: $LEAKPROOF is not an executable (build it first, or set LEAKPROOF)" >&2
  exit 1
fi

echo "--- installing the Python clients into $venv: ${PYTHON_CLIENTS[*]}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_CLIENTS[@]}"

echo "--- installing the Node client (npm ci in tests/node)"
node --version
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start_mocks NAME [ARGS...]: starts `mocks serve` with ARGS, waits for its
# URLs, and sets crm_url, mail_url, token and serve_log (its request log).
start_mocks() {
  local name=$1
  shift
  local out="$work/$name.out"
  serve_log="$work/$name.log"
  "$LEAKPROOF" mocks serve --fixtures "$FIXTURES" "$@" >"$out" 2>"$serve_log" &
  local pid=$!
  pids+=("$pid")
  local _
  for _ in $(seq 1 200); do
    grep -q '^token: ' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! grep -q '^token: ' "$out"; then
    echo "error: leakproof mocks serve $* did not start:" >&2
    cat "$out" "$serve_log" >&2
    exit 1
  fi
  cat "$out"
  crm_url=$(sed -n 's/^crm: //p' "$out")
  mail_url=$(sed -n 's/^mail: //p' "$out")
  token=$(sed -n 's/^token: //p' "$out")
}

passed=0
failed=0
failures=()

# run_client LABEL COMMAND...: runs one client test; on failure prints the
# request log of the server it ran against.
run_client() {
  local label=$1
  shift
  echo "--- $label"
  local lines_before
  lines_before=$(wc -l <"$serve_log")
  if timeout "$CLIENT_TIMEOUT" "$@"; then
    passed=$((passed + 1))
  else
    local status=$?
    failed=$((failed + 1))
    failures+=("$label")
    echo "FAILED (exit $status): $label"
    echo "the requests the mocks logged during it:"
    tail -n "+$((lines_before + 1))" "$serve_log"
  fi
}

for mode in two-hosts single-host; do
  if [ "$mode" = single-host ]; then
    start_mocks "$mode" --single-host
    if [ "$crm_url" != "$mail_url" ]; then
      echo "error: with --single-host, crm: ($crm_url) and mail: ($mail_url) differ" >&2
      exit 1
    fi
  else
    start_mocks "$mode"
  fi
  run_client "Python clients, $mode" "$venv/bin/python" tests/python/hubspot_client.py "$crm_url" "$token" "$mail_url"
  run_client "Node client, $mode" node tests/node/hubspot_client.mjs "$crm_url" "$mail_url" "$token"
done

if [ "$failed" -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "hubspot-clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
