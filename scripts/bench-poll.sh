#!/usr/bin/env bash
# Benchmark of the `poll` template, natively: scaffolds it with `cargo wasock new`, builds it
# in release mode, starts it on a free port and runs wrk at 1, 50 and 1000 connections, printing requests/s and p99 latency.
# A measurement, not a test: it asserts nothing about speed.
#
# usage: scripts/bench-poll.sh [SECONDS_PER_RUN]   (default 5)
#        BENCH_CONNECTIONS="1 50 1000 10000" scripts/bench-poll.sh   (other connection counts)
# needs: cargo, wrk (apt install wrk)
set -euo pipefail

duration="${1:-5}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/wasock-bench-poll}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"

command -v wrk >/dev/null || { echo "error: wrk not found; help: apt-get install wrk" >&2; exit 1; }

# 1000 client sockets plus 1000 server sockets need more than the usual 1024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 2100 ]; then
  echo "warning: open-file limit is $(ulimit -n); the 1000-connection run may fail" >&2
fi

# Scaffold with the CLI itself (built without the engine, which this benchmark does not use),
# so the app is exactly what `cargo wasock new --template poll` gives a user.
app="$work/bench-poll"
rm -rf "$app"
mkdir -p "$work"
echo "scaffolding the poll template with cargo wasock new..."
cargo run --quiet --release --no-default-features -p cargo-wasock --manifest-path "$repo/Cargo.toml" \
  -- wasock --quiet new bench-poll --template poll --path "$app"

echo "building the poll template (release, native)..."
cargo build --quiet --release --manifest-path "$app/Cargo.toml"
binary="$CARGO_TARGET_DIR/release/bench-poll"

log="$work/server.log"
PORT=0 "$binary" >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

port=""
for _ in $(seq 1 100); do
  # `listening on http://127.0.0.1:PORT/`
  port="$(sed -n 's#^listening on http://.*:\([0-9]*\)/$#\1#p' "$log" | head -n1)"
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "error: the server printed no 'listening on' line; see $log" >&2; exit 1; }
url="http://127.0.0.1:$port/"

# The echo contract under load: POST name=WasmEdge, answer `echo: name=WasmEdge`.
check="$(curl -sS --max-time 5 -d "name=WasmEdge" "$url")"
[ "$check" = "echo: name=WasmEdge" ] || { echo "error: unexpected answer '$check'" >&2; exit 1; }

lua="$work/post.lua"
cat > "$lua" <<'LUA'
wrk.method = "POST"
wrk.body = "name=WasmEdge"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

echo "poll template, native release build, wrk ${duration}s per run, keep-alive POST $url"
printf '%-12s %14s %12s %10s\n' connections requests/s p99 errors
for connections in ${BENCH_CONNECTIONS:-1 50 1000}; do
  threads=$(( connections < 2 ? 1 : 2 ))
  out="$(wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 5s --latency -s "$lua" "$url" 2>&1)"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Socket errors:/ {print $0}' <<<"$out" | sed 's/.*Socket errors: //')"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  printf '%-12s %14s %12s %10s\n' "$connections" "${rps:-?}" "${p99:-?}" "${errors:-0}${non2xx:+, non-2xx $non2xx}"
done
