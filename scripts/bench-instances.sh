#!/usr/bin/env bash
# run --instances N (issue 22): req/s and p99 of tests/guests/instance-echo on the engine with
# N = 1 and N = 2 instances, beside the same code built natively (one thread), under wrk.
#   - a server-bound load: each answer hashes WORK_KIB KiB (default 512) of memory, so the
#     app's cores, not wrk's, are the bottleneck;
#   - a plain answer (WORK_KIB=0) at 1,000 connections;
#   - the RSS of `run` with N = 1 and N = 2 (what an added instance costs).
# Each figure is the median of RUNS (default 3) runs of SECONDS (default 5).
#
# usage: scripts/bench-instances.sh [SECONDS]   (env: RUNS, WORK_KIB, BENCH_CLI)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
SECONDS_EACH="${1:-5}"
RUNS="${RUNS:-3}"
WORK_KIB="${WORK_KIB:-512}"
need wrk:wrk
bench_cli
bench_workdir
manifest="$REPO/tests/guests/instance-echo/Cargo.toml"
apps="$TARGET_DIR/bench-apps"
echo "building instance-echo (release, wasm and native)..." >&2
WASM="$("$CLI" build --quiet --release --manifest-path "$manifest" --target-dir "$apps")"
cargo build --quiet --release --manifest-path "$manifest" --target-dir "$apps"
NATIVE="$apps/release/instance-echo"
# (The first engine start compiles into the user's cache; wrk starts once the port is up.)

# start KIND WORK: starts the server (engine1, engine2, native) on a free port; sets PORT, PID.
start() {
    PORT="$(free_port)"
    case "$1" in
        native) WORK_KIB="$2" PORT="$PORT" "$NATIVE" >/dev/null 2>&1 & ;;
        engine*) "$CLI" run --quiet --runtime embedded --wasm "$WASM" --instances "${1#engine}" \
                   --env "WORK_KIB=$2" --env "PORT=$PORT" >/dev/null 2>&1 & ;;
    esac
    PID=$!
    PIDS+=("$PID")
    wait_port "$PORT" "$PID"
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

# measure KIND WORK CONNS: prints "req/s p99_ms" medians of RUNS runs.
measure() {
    local rps=() p99=() figures
    for _ in $(seq "$RUNS"); do
        start "$1" "$2"
        figures="$(wrk -t"$(wrk_threads "$3")" -c"$3" -d"${SECONDS_EACH}s" --latency "http://127.0.0.1:$PORT/" 2>&1 | wrk_figures)"
        stop
        rps+=("$(echo "$figures" | awk '{print $1}')")
        p99+=("$(echo "$figures" | awk '{print $2}')")
    done
    echo "$(printf '%s\n' "${rps[@]}" | median) $(printf '%s\n' "${p99[@]}" | median)"
}

# rss KIND: the server's RSS in KiB after a short load.
rss() {
    start "$1" 0
    wrk -t2 -c50 -d2s "http://127.0.0.1:$PORT/" >/dev/null 2>&1 || true
    awk '/VmRSS/ {print $2}' "/proc/$PID/status"
    stop
}

printf '%-34s %12s %10s\n' "server (${SECONDS_EACH}s x $RUNS, medians)" "req/s" "p99 ms"
for conns in 50; do
    for kind in native engine1 engine2; do
        read -r r p <<<"$(measure "$kind" "$WORK_KIB" "$conns")"
        printf '%-34s %12s %10s\n' "$kind, ${WORK_KIB} KiB hashed, c=$conns" "$r" "$p"
    done
done
for kind in engine1 engine2; do
    read -r r p <<<"$(measure "$kind" 0 1000)"
    printf '%-34s %12s %10s\n' "$kind, plain answer, c=1000" "$r" "$p"
done
one="$(rss engine1)"; two="$(rss engine2)"
echo "RSS of run: N=1 ${one} KiB, N=2 ${two} KiB: $((two - one)) KiB per added instance"
