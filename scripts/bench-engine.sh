#!/usr/bin/env bash
# Benchmark the `poll` template app on the embedded engine, on WasmEdge AOT (when
# installed) and natively, one after another, with wrk at 1, 50 and 1000 connections.
# Prints requests/s, p99 latency and peak RSS, with ratios to native.
#
# Usage: scripts/bench-engine.sh [SECONDS_PER_RUN]   (default 5)
# Needs: cargo, the wasm32-wasip1 target, wrk. Uses CARGO_TARGET_DIR when set.
# This is a measurement, not a test: it asserts nothing about speed.
set -euo pipefail

DURATION="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "error: wrk is not installed; help: apt-get install wrk" >&2; exit 1; }

echo "building cargo-wasock (release)..." >&2
cargo build --quiet --release -p cargo-wasock --manifest-path "$REPO/Cargo.toml"
CLI="$TARGET_DIR/release/cargo-wasock"

echo "generating and building the poll app..." >&2
(cd "$WORK" && "$CLI" new benchapp --template poll >/dev/null 2>&1)
APP="$WORK/benchapp"
APP_TARGET="$TARGET_DIR/bench-apps"
(cd "$APP" && cargo build --quiet --release --target wasm32-wasip1 --target-dir "$APP_TARGET")
(cd "$APP" && cargo build --quiet --release --target-dir "$APP_TARGET")
WASM="$APP_TARGET/wasm32-wasip1/release/benchapp.wasm"
NATIVE="$APP_TARGET/release/benchapp"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    local port="$1" pid="$2"
    for _ in $(seq 1 1200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { echo "error: the app exited before listening" >&2; return 1; }
        sleep 0.1
    done
    echo "error: port $port never opened" >&2
    return 1
}

# "<req/s> <p99 in ms>" from one wrk run.
measure() {
    local port="$1" conns="$2" threads=2
    [ "$conns" -lt 2 ] && threads=1
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "http://127.0.0.1:$port/" 2>/dev/null | awk '
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            value = $2
            if (value ~ /us$/) { sub(/us$/, "", value); p99 = value / 1000 }
            else if (value ~ /ms$/) { sub(/ms$/, "", value); p99 = value }
            else if (value ~ /s$/) { sub(/s$/, "", value); p99 = value * 1000 }
        }
        END { printf "%s %.3f\n", (rps == "" ? 0 : rps), p99 }'
}

# The highest resident set of `pid` and its children, in MiB.
peak_rss_mib() {
    local pid="$1" total=0 kb
    for p in "$pid" $(pgrep -P "$pid" 2>/dev/null || true); do
        kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${kb:-0}" -gt "$total" ] && total="$kb"
    done
    echo $((total / 1024))
}

declare -A RPS P99 RSS
RUNTIMES=()

run_one() {
    local name="$1" port="$2"; shift 2
    "$@" >/dev/null 2>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    if ! wait_port "$port" "$pid"; then
        cat "$WORK/$name.log" >&2
        return 1
    fi
    RUNTIMES+=("$name")
    for conns in 1 50 1000; do
        read -r rps p99 < <(measure "$port" "$conns")
        RPS["$name/$conns"]="$rps"
        P99["$name/$conns"]="$p99"
        echo "  $name c=$conns: $rps req/s, p99 $p99 ms" >&2
    done
    RSS["$name"]="$(peak_rss_mib "$pid")"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

echo "embedded engine..." >&2
PORT_E="$(free_port)"
run_one embedded "$PORT_E" "$CLI" run --runtime embedded --aot --wasm "$WASM" --port "$PORT_E"

if command -v wasmedge >/dev/null; then
    echo "WasmEdge AOT..." >&2
    wasmedge compile "$WASM" "$WORK/benchapp.aot.wasm" >/dev/null
    PORT_W="$(free_port)"
    run_one wasmedge-aot "$PORT_W" wasmedge --run-mode=aot --env "PORT=$PORT_W" "$WORK/benchapp.aot.wasm"
else
    echo "WasmEdge AOT: skipped (wasmedge is not installed)" >&2
fi

echo "native..." >&2
PORT_N="$(free_port)"
run_one native "$PORT_N" env "PORT=$PORT_N" "$NATIVE"

echo
printf "%-14s %6s %12s %10s %10s %12s\n" runtime conns "req/s" "p99 (ms)" "vs native" "peak RSS"
for name in "${RUNTIMES[@]}"; do
    for conns in 1 50 1000; do
        rps="${RPS[$name/$conns]}"
        native="${RPS[native/$conns]:-0}"
        ratio="$(awk -v a="$rps" -v b="$native" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
        printf "%-14s %6s %12s %10s %10s %9s MiB\n" "$name" "$conns" "$rps" "${P99[$name/$conns]}" "$ratio" "${RSS[$name]}"
    done
done
echo
echo "($DURATION s per wrk run; peak RSS is VmHWM of the serving process: cargo-wasock for the embedded engine)"
