#!/usr/bin/env bash
# Cold start of the `poll` template app: time from starting `cargo wasock run --wasm`
# (a prebuilt module: no cargo, no metadata) to its port accepting a connection, on the
# embedded engine with its compiled-code cache warm ("precompiled") and cleared before
# each start ("not precompiled"), on WasmEdge AOT when found ($WASMEDGE_DIR/bin, PATH,
# ~/.wasmedge/bin or ../shared/wasmedge; lib.sh's find_wasmedge), and the native build as
# a floor. The port is watched from outside by connecting to it every 0.5 ms; `run`
# itself never connects to the app. Prints each start and the median (RUNS, default 15),
# with the engine's own figure (`Ready in N ms`: load or compile + link + instantiate)
# and the load average.
#
# Usage: scripts/bench-coldstart.sh            RUNS=25 scripts/bench-coldstart.sh
# Needs: cargo, the wasm32-wasip1 target, python3. Uses CARGO_TARGET_DIR when set.
# This is a measurement, not a test: it asserts nothing about speed.
set -euo pipefail

RUNS="${RUNS:-15}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir
find_wasmedge

# BENCH_CLI: an already built cargo-wasock to measure (e.g. a copy of an earlier build).
bench_cli

bench_poll_app native

# time_to_port NAME CLEAR_DIR -- COMMAND...: start COMMAND (with PORT and {port} filled in)
# RUNS times; CLEAR_DIR (or "-") is emptied before each start.
time_to_port() {
    local name="$1" clear="$2"; shift 3
    python3 - "$name" "$clear" "$RUNS" "$@" <<'EOF'
import os, shutil, signal, socket, statistics, subprocess, sys, time, re
name, clear, runs, command = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

times, ready = [], []
for run in range(runs):
    if clear != "-":
        shutil.rmtree(clear, ignore_errors=True)
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    env = dict(os.environ, PORT=str(port))
    err = open(os.path.join(os.environ["WORK"], "stderr"), "w+")
    began = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if child.poll() is not None:
                err.seek(0)
                sys.exit(f"error: {name} exited before serving: {err.read()}")
            if time.perf_counter() - began > 60:
                sys.exit(f"error: {name} did not serve within 60 s")
            time.sleep(0.0005)
    elapsed = (time.perf_counter() - began) * 1000
    child.send_signal(signal.SIGTERM)
    child.wait()
    err.seek(0)
    found = re.search(r"Ready\s+in (\d+) ms", err.read())
    times.append(elapsed)
    if found:
        ready.append(int(found.group(1)))
median = statistics.median(times)
load = open("/proc/loadavg").read().split()[:3]
engine = f", engine's own 'Ready in' median {statistics.median(ready):.0f} ms" if ready else ""
print(f"  {name}: " + " ".join(f"{t:.1f}" for t in times) + " ms", file=sys.stderr)
print(f"{name:<34} median {median:7.1f} ms  min {min(times):7.1f} ms  (n={runs}{engine}; load {' '.join(load)})")
EOF
}
export WORK

CACHE="$WORK/cache"
RUN=("$CLI" run --runtime embedded --wasm "$WASM" --port "{port}")
echo "embedded engine, cache cleared before each start..." >&2
RESULTS=()
RESULTS+=("$(CARGO_WASOCK_CACHE_DIR="$CACHE" time_to_port "engine, not precompiled" "$CACHE" -- "${RUN[@]}")")
echo "embedded engine, cache warm..." >&2
CARGO_WASOCK_CACHE_DIR="$CACHE" RUNS=1 time_to_port "warm-up" "-" -- "${RUN[@]}" >/dev/null
RESULTS+=("$(CARGO_WASOCK_CACHE_DIR="$CACHE" time_to_port "engine, precompiled (cache warm)" "-" -- "${RUN[@]}")")
if [ -n "$WASMEDGE" ]; then
    echo "WasmEdge AOT..." >&2
    "$WASMEDGE" compile "$WASM" "$WORK/benchapp.aot.wasm" >/dev/null
    RESULTS+=("$(time_to_port "WasmEdge AOT" "-" -- "$WASMEDGE" --run-mode=aot --env "PORT={port}" "$WORK/benchapp.aot.wasm")")
else
    RESULTS+=("$(printf '%-34s not installed' "WasmEdge AOT")")
fi
echo "native..." >&2
RESULTS+=("$(time_to_port "native (floor)" "-" -- "$NATIVE")")

echo
printf '%s\n' "${RESULTS[@]}"
echo "(time from starting the command to the port accepting a connection; $RUNS starts each)"
