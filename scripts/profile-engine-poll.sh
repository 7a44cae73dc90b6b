#!/usr/bin/env bash
# Where the embedded engine's time goes while the `poll` app serves wrk: `perf record -g`
# of the engine process for PROFILE_SECONDS in the middle of a wrk run at each connection
# count, then the share of samples (children included) under `poll_oneoff` (the host
# function), under the kernel's poll(2)/epoll_wait(2) and epoll_ctl(2) entry points, and the
# top symbols by self time. Needs perf (apt-get install linux-perf) and wrk.
#
# Usage: scripts/profile-engine-poll.sh [CONNECTIONS...]   (default 1000 10000)
#   PROFILE_SECONDS=5 WRK_SECONDS=10
# A measurement, not a test.
set -euo pipefail

CONNS=("${@:-1000 10000}")
read -r -a CONNS <<<"${CONNS[*]}"
SECONDS_PROFILED="${PROFILE_SECONDS:-5}"
WRK_SECONDS="${WRK_SECONDS:-10}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
WORK="$(mktemp -d)"
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v perf >/dev/null || { echo "error: perf is not installed; help: apt-get install linux-perf" >&2; exit 1; }
command -v wrk >/dev/null || { echo "error: wrk is not installed; help: apt-get install wrk" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# BENCH_CLI: an already built cargo-wasock to measure (e.g. a copy of an earlier build).
bench_cli
(cd "$WORK" && "$CLI" new benchapp --template poll >/dev/null 2>&1)
APP_TARGET="$TARGET_DIR/bench-apps"
(cd "$WORK/benchapp" && cargo build --quiet --release --target wasm32-wasip1 --target-dir "$APP_TARGET")
WASM="$APP_TARGET/wasm32-wasip1/release/benchapp.wasm"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$CLI" run --runtime embedded --wasm "$WASM" --port "$PORT" >/dev/null 2>"$WORK/engine.log" &
PID=$!
for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

for conns in "${CONNS[@]}"; do
    threads=2
    wrk -t"$threads" -c"$conns" -d"${WRK_SECONDS}s" "http://127.0.0.1:$PORT/" >"$WORK/wrk.txt" 2>&1 &
    wrk_pid=$!
    sleep $(( (WRK_SECONDS - SECONDS_PROFILED) / 2 ))
    perf record -q -g -o "$WORK/perf.data" -p "$PID" -- sleep "$SECONDS_PROFILED" >/dev/null 2>&1
    wait "$wrk_pid"
    rps="$(awk '/Requests\/sec:/ { print $2 }' "$WORK/wrk.txt")"
    perf report -i "$WORK/perf.data" --children --stdio --sort symbol -g none 2>/dev/null >"$WORK/report.txt"
    share() { awk -v pat="$1" '$0 ~ pat && /%/ { gsub(/%/, "", $1); if ($1 > best) best = $1 } END { printf "%5.1f%%", best + 0 }' "$WORK/report.txt"; }
    echo "c=$conns ($rps req/s under perf; load $(cut -d' ' -f1-3 /proc/loadavg)):"
    echo "  poll_oneoff (host function, self):  $(share 'poll::poll_oneoff ')"
    echo "  kernel poll(2):        $(share '\\] (__x64_sys_poll|do_sys_poll) ')"
    echo "  kernel epoll_wait(2):  $(share '\\] (__x64_sys_epoll_pwait|__x64_sys_epoll_wait|do_epoll_wait) ')"
    echo "  kernel epoll_ctl(2):   $(share '\\] (__x64_sys_epoll_ctl|do_epoll_ctl) ')"
    echo "  top self time:"
    perf report -i "$WORK/perf.data" --no-children --stdio --sort symbol -g none 2>/dev/null \
        | awk '/%/ && !/^#/ && n < 8 { sub(/ +- +- *$/, ""); print "    " $0; n++ }'
done
