#!/usr/bin/env bash
# Benchmark the `poll` template app on the embedded engine, on WasmEdge AOT (when found:
# $WASMEDGE_DIR/bin, PATH, ~/.wasmedge/bin or ../shared/wasmedge; lib.sh's find_wasmedge) and
# natively, one after another, with wrk at 1, 50, 1000 and 10000
# connections. Each point is run RUNS times; the table shows the median req/s and the
# median p99 with ratios to native, the sum of wrk's socket errors and non-2xx answers over
# the runs (0 means every request was answered), peak RSS, and the idle cost: resident
# memory per 1,000 idle keep-alive connections. Every figure line carries the load average
# at the time, because the machines this runs on are shared.
#
# Usage: scripts/bench-engine.sh [SECONDS_PER_RUN]   (default 5)
#   RUNS=3                       wrk runs per point (median reported)
#   BENCH_CONNECTIONS="1 50 1000 10000"
#   IDLE_CONNECTIONS=10000       idle keep-alive connections for the RSS figure (0: skip)
#   BENCH_RUNTIMES="embedded wasmedge-aot native"
#   BENCH_CLI=path/to/cargo-wasock   measure this build instead of building one
# Needs: cargo, the wasm32-wasip1 target, wrk, python3. Uses CARGO_TARGET_DIR when set.
# This is a measurement, not a test: it asserts nothing about speed.
set -euo pipefail

DURATION="${1:-5}"
RUNS="${RUNS:-3}"
CONNECTIONS="${BENCH_CONNECTIONS:-1 50 1000 10000}"
IDLE="${IDLE_CONNECTIONS:-10000}"
WANTED="${BENCH_RUNTIMES:-embedded wasmedge-aot native}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir
find_wasmedge

need wrk python3

# 10000 client sockets (wrk, the idle client) and 10000 server sockets (the app) each need
# more than the usual 1024 descriptors; the limit is inherited by every process started here.
MAX_CONNS=0
for conns in $CONNECTIONS "$IDLE"; do [ "$conns" -gt "$MAX_CONNS" ] && MAX_CONNS="$conns"; done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((MAX_CONNS + 100)) ]; then
    echo "warning: open-file limit is $(ulimit -n) (hard limit $(ulimit -Hn)); runs above $(( $(ulimit -n) - 100 )) connections will fail; help: raise the hard limit (ulimit -Hn, limits.conf)" >&2
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }

# BENCH_CLI: an already built cargo-wasock to measure (e.g. a copy of an earlier build).
bench_cli

bench_poll_app native

# "<req/s> <p99 in ms> <socket errors> <non-2xx answers>" from one wrk run.
measure() {
    local port="$1" conns="$2"
    wrk -t"$(wrk_threads "$conns")" -c"$conns" -d"${DURATION}s" --latency "http://127.0.0.1:$port/" 2>&1 | wrk_figures
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

# Resident memory per 1,000 idle keep-alive connections, in KiB: VmRSS of `pid` with
# `count` connections open (each has had one request answered, then stays idle), minus
# VmRSS before they were opened; plus the peak (VmHWM) growth over the same span.
idle_cost() {
    local pid="$1" port="$2" count="$3"
    python3 - "$pid" "$port" "$count" <<'EOF'
import socket, sys, time
pid, port, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def status(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

time.sleep(0.5)
base_rss, base_hwm = status("VmRSS"), status("VmHWM")
request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
conns, answered = [], 0
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(request)
    conns.append(s)
    if len(conns) % 500 == 0 or len(conns) == count:
        for c in conns[answered:]:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    raise SystemExit("error: the app closed an idle connection")
                data += chunk
        answered = len(conns)
time.sleep(1.0)
rss, hwm = status("VmRSS"), status("VmHWM")
per_k = (rss - base_rss) * 1000 / count
print(f"{per_k:.0f} {(hwm - base_hwm) * 1000 / count:.0f} {base_rss} {rss}")
for c in conns:
    c.close()
EOF
}

declare -A RPS P99 ERRS NON2XX LOAD RSS IDLE_KIB
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
    for conns in $CONNECTIONS; do
        local all_rps="" all_p99="" errors=0 non2xx=0
        for run in $(seq 1 "$RUNS"); do
            read -r rps p99 errs n2xx < <(measure "$port" "$conns")
            echo "  $name c=$conns run $run/$RUNS: $rps req/s, p99 $p99 ms, socket errors $errs, non-2xx $n2xx (load $(load))" >&2
            all_rps+="$rps"$'\n'
            all_p99+="$p99"$'\n'
            errors=$((errors + errs))
            non2xx=$((non2xx + n2xx))
        done
        RPS["$name/$conns"]="$(printf '%s' "$all_rps" | median)"
        P99["$name/$conns"]="$(printf '%s' "$all_p99" | median)"
        ERRS["$name/$conns"]="$errors"
        NON2XX["$name/$conns"]="$non2xx"
        LOAD["$name/$conns"]="$(load)"
    done
    RSS["$name"]="$(peak_rss_mib "$pid")"
    if [ "$IDLE" -gt 0 ]; then
        # Idle connections last, in a fresh process, so wrk's peaks do not hide them.
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        "$@" >/dev/null 2>>"$WORK/$name.log" &
        pid=$!
        PIDS+=("$pid")
        wait_port "$port" "$pid"
        read -r per_k hwm_per_k base now < <(idle_cost "$pid" "$port" "$IDLE")
        IDLE_KIB["$name"]="$per_k"
        echo "  $name idle: $IDLE connections, VmRSS $base -> $now KiB, $per_k KiB per 1000 (VmHWM +$hwm_per_k KiB per 1000) (load $(load))" >&2
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

for name in $WANTED; do
    case "$name" in
        embedded)
            echo "embedded engine..." >&2
            PORT_E="$(free_port)"
            run_one embedded "$PORT_E" "$CLI" run --runtime embedded --aot --wasm "$WASM" --port "$PORT_E"
            ;;
        wasmedge-aot)
            if [ -n "$WASMEDGE" ]; then
                echo "WasmEdge AOT..." >&2
                "$WASMEDGE" compile "$WASM" "$WORK/benchapp.aot.wasm" >/dev/null
                PORT_W="$(free_port)"
                run_one wasmedge-aot "$PORT_W" "$WASMEDGE" --run-mode=aot --env "PORT=$PORT_W" "$WORK/benchapp.aot.wasm"
            else
                echo "WasmEdge AOT: not installed (skipped)" >&2
            fi
            ;;
        native)
            echo "native..." >&2
            PORT_N="$(free_port)"
            run_one native "$PORT_N" env "PORT=$PORT_N" "$NATIVE"
            ;;
    esac
done

echo
printf "%-13s %6s %11s %9s %8s %9s %7s %8s %9s %11s  %s\n" runtime conns "req/s" "vs native" "p99 ms" "vs native" errors non-2xx "peak RSS" "KiB/1k idle" "load at end"
for name in "${RUNTIMES[@]}"; do
    for conns in $CONNECTIONS; do
        rps="${RPS[$name/$conns]}"
        p99="${P99[$name/$conns]}"
        ratio="$(awk -v a="$rps" -v b="${RPS[native/$conns]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
        p99_ratio="$(awk -v a="$p99" -v b="${P99[native/$conns]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
        printf "%-13s %6s %11s %9s %8s %9s %7s %8s %5s MiB %11s  %s\n" "$name" "$conns" "$rps" "$ratio" "$p99" "$p99_ratio" \
            "${ERRS[$name/$conns]}" "${NON2XX[$name/$conns]}" "${RSS[$name]}" "${IDLE_KIB[$name]:--}" "${LOAD[$name/$conns]}"
    done
done
[ -n "$WASMEDGE" ] || echo "wasmedge-aot: not installed"
echo
echo "(medians of $RUNS wrk runs of $DURATION s; errors = wrk socket errors (connect, read, write, timeout) summed over the runs;"
echo " peak RSS is VmHWM of the serving process, cargo-wasock for the embedded engine;"
echo " KiB/1k idle = (VmRSS with $IDLE idle keep-alive connections - VmRSS before) per 1000 connections; load = 1/5/15-min load average)"
