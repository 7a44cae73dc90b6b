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

CONNS=("$@"); [ $# -gt 0 ] || CONNS=(1000 10000)
SECONDS_PROFILED="${PROFILE_SECONDS:-5}"
WRK_SECONDS="${WRK_SECONDS:-10}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir
need perf:linux-perf wrk
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# BENCH_CLI: an already built cargo-wasock to measure (e.g. a copy of an earlier build).
bench_cli
bench_poll_app

PORT="$(free_port)"
"$CLI" run --runtime embedded --wasm "$WASM" --port "$PORT" >/dev/null 2>"$WORK/engine.log" &
PID=$!
PIDS+=("$PID")
wait_port "$PORT" "$PID" || { cat "$WORK/engine.log" >&2; exit 1; }

for conns in "${CONNS[@]}"; do
    wrk -t"$(wrk_threads "$conns")" -c"$conns" -d"${WRK_SECONDS}s" "http://127.0.0.1:$PORT/" >"$WORK/wrk.txt" 2>&1 &
    wrk_pid=$!
    sleep $(( (WRK_SECONDS - SECONDS_PROFILED) / 2 ))
    perf record -q -g -o "$WORK/perf.data" -p "$PID" -- sleep "$SECONDS_PROFILED" >/dev/null 2>&1
    wait "$wrk_pid"
    read -r rps _ < <(wrk_figures <"$WORK/wrk.txt")
    perf report -i "$WORK/perf.data" --children --stdio --sort symbol -g none 2>/dev/null >"$WORK/report.txt"
    share() { awk -v pat="$1" '$0 ~ pat && /%/ { gsub(/%/, "", $1); if ($1 > best) best = $1 } END { printf "%5.1f%%", best + 0 }' "$WORK/report.txt"; }
    echo "c=$conns ($rps req/s under perf; load $(cut -d' ' -f1-3 /proc/loadavg)):"
    echo "  poll_oneoff (host function, with callees):  $(share 'poll::poll_oneoff ')"
    echo "  kernel poll(2):        $(share '\\] (__x64_sys_poll|do_sys_poll) ')"
    echo "  kernel epoll_wait(2):  $(share '\\] (__x64_sys_epoll_pwait|__x64_sys_epoll_wait|do_epoll_wait) ')"
    echo "  kernel epoll_ctl(2):   $(share '\\] (__x64_sys_epoll_ctl|do_epoll_ctl) ')"
    echo "  top self time:"
    perf report -i "$WORK/perf.data" --no-children --stdio --sort symbol -g none 2>/dev/null \
        | awk '/%/ && !/^#/ && n < 8 { sub(/ +- +- *$/, ""); print "    " $0; n++ }'
done
