#!/usr/bin/env bash
# Runs the README quick start as a user would (new -> run --port -> curl) with the
# installed `cargo wasock`, checks the echo contract, then stops the server with Ctrl-C.
set -euo pipefail
port="${PORT:-18080}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cd "$work"
cargo wasock new hello --template poll
cd hello
cargo wasock run --port "$port" > "$work/app.log" 2>&1 &
server_pid=$!

# Build + start can take a while on a cold machine; give up after 10 minutes.
for _ in $(seq 1 600); do
  if body="$(curl -sS --max-time 5 -d "name=WasmEdge" "http://127.0.0.1:$port/" 2>/dev/null)"; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/app.log"; echo "error: the server exited early" >&2; exit 1; }
  sleep 1
done
cat "$work/app.log"
echo "response: ${body:-<none>}"
[ "${body:-}" = "echo: name=WasmEdge" ] || { echo "error: unexpected response" >&2; exit 1; }

kill -INT "$server_pid"
status=0; wait "$server_pid" || status=$?
echo "cargo wasock run exited with $status after SIGINT"
server_pid=""
