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

# Ctrl-C, as a user would stop it (this background job starts with SIGINT ignored, which
# `run` must override); give it 20 s, then fail.
kill -INT "$server_pid"
for _ in $(seq 1 200); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "error: cargo wasock run did not stop on SIGINT" >&2
  exit 1
fi
status=0; wait "$server_pid" || status=$?
server_pid=""
echo "cargo wasock run stopped on SIGINT (exit status $status)"
[ "$status" -ne 0 ] || { echo "error: an interrupted run reported success" >&2; exit 1; }
