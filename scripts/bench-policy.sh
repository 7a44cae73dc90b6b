#!/usr/bin/env bash
# The sandbox policy's cost on the engine (issue 21): the `poll` template app served with
# no policy and with a policy that allows the benchmark's address (`--allow-listen` for its
# port, `--allow-connect 127.0.0.1:*`), wrk at 50 and 1,000 connections; and connects/s of a
# client making new connections one after another (tests/guests/policy-checks'
# `connects=`, to a native accept-and-close server) without and with an `--allow-connect`
# list covering it. Runs alternate none, policy, none, policy… so both see the same load;
# medians are printed with the ratio policy/none and the load average. It asserts nothing.
#
# Usage: scripts/bench-policy.sh [SECONDS_PER_RUN] [RUNS]   (defaults 5 and 3)
#   BENCH_CONNECTIONS="50 1000"   CONNECTS=20000 (new connections per client run)
#   BENCH_CLI=path/to/cargo-wasock   measure this build instead of building one
# Needs: cargo with the wasm32-wasip1 target, wrk, python3. Uses CARGO_TARGET_DIR when set.
set -euo pipefail

DURATION="${1:-5}"
RUNS="${2:-3}"
CONNECTIONS="${BENCH_CONNECTIONS:-50 1000}"
CONNECTS="${CONNECTS:-20000}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
need wrk python3
bench_workdir
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
load() { cut -d' ' -f1-3 /proc/loadavg; }

bench_cli
bench_poll_app
echo "building tests/guests/policy-checks (release)..." >&2
cargo build --quiet --release --target wasm32-wasip1 \
    --manifest-path "$REPO/tests/guests/policy-checks/Cargo.toml" --target-dir "$TARGET_DIR/bench-apps"
CLIENT="$TARGET_DIR/bench-apps/wasm32-wasip1/release/policy-checks.wasm"

# Serve the app with the extra flags "$@" until its port accepts; sets server_pid.
start() {
    local port="$1"; shift
    "$CLI" run --runtime embedded --aot --wasm "$WASM" --port "$port" "$@" >/dev/null 2>"$WORK/server.log" &
    server_pid=$!
    PIDS+=("$server_pid")
    wait_port "$port" "$server_pid" || { cat "$WORK/server.log" >&2; exit 1; }
}
stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; PIDS=(); }

declare -A rps_of p99_of cps_of
for run in $(seq 1 "$RUNS"); do
    for side in none policy; do
        port="$(free_port)"
        if [ "$side" = policy ]; then
            start "$port" --allow-listen "127.0.0.1:$port" --allow-listen "0.0.0.0:$port" --allow-connect "127.0.0.1:*"
        else
            start "$port"
        fi
        for c in $CONNECTIONS; do
            read -r rps p99 errors non2xx < <(wrk -t"$(wrk_threads "$c")" -c"$c" -d"${DURATION}s" --latency "http://127.0.0.1:$port/" 2>&1 | wrk_figures)
            rps_of["$side/$c"]+="$rps"$'\n'
            p99_of["$side/$c"]+="$p99"$'\n'
            echo "  run $run $side c=$c: $rps req/s, p99 $p99 ms, socket errors $errors, non-2xx $non2xx (load $(load))" >&2
        done
        stop
    done
done

# The connect benchmark's server: native, accepts and closes, a deep backlog.
python3 - "$WORK/sink.port" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(4096)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    c.close()
PY
PIDS+=("$!")
sink_pid=$!
for _ in $(seq 1 500); do [ -s "$WORK/sink.port" ] && break; sleep 0.01; done
sink="127.0.0.1:$(cat "$WORK/sink.port")"
# One untimed run compiles the client into the engine's cache.
"$CLI" --quiet run --runtime embedded --aot --wasm "$CLIENT" -- "connects=$sink*10" >/dev/null
for run in $(seq 1 "$RUNS"); do
    for side in none policy; do
        flags=()
        [ "$side" = policy ] && flags=(--allow-connect "$sink")
        line="$("$CLI" --quiet run --runtime embedded --wasm "$CLIENT" "${flags[@]}" -- "connects=$sink*$CONNECTS")"
        ms="$(sed -n 's/.*: ok [0-9]* in \([0-9.]*\) ms$/\1/p' <<<"$line")"
        [ -n "$ms" ] || { echo "error: the client said: $line" >&2; exit 1; }
        cps="$(awk -v n="$CONNECTS" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')"
        cps_of["$side"]+="$cps"$'\n'
        echo "  run $run $side: $CONNECTS connects in $ms ms = $cps/s (load $(load))" >&2
    done
done
kill "$sink_pid" 2>/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "-" }'; }
echo
printf "%-22s %12s %12s %8s\n" "figure" "no policy" "policy" "ratio"
for c in $CONNECTIONS; do
    a="$(printf '%s' "${rps_of[none/$c]}" | median)"; b="$(printf '%s' "${rps_of[policy/$c]}" | median)"
    printf "%-22s %12s %12s %8s\n" "req/s c=$c" "$a" "$b" "$(ratio "$a" "$b")"
    a="$(printf '%s' "${p99_of[none/$c]}" | median)"; b="$(printf '%s' "${p99_of[policy/$c]}" | median)"
    printf "%-22s %12s %12s %8s\n" "p99 ms c=$c" "$a" "$b" "$(ratio "$a" "$b")"
done
a="$(printf '%s' "${cps_of[none]}" | median)"; b="$(printf '%s' "${cps_of[policy]}" | median)"
printf "%-22s %12s %12s %8s\n" "new connects/s" "$a" "$b" "$(ratio "$a" "$b")"
echo
echo "(medians of $RUNS alternating runs; wrk runs of $DURATION s; $CONNECTS connects per client run; load at end: $(load))"
