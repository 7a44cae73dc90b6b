#!/usr/bin/env bash
# Compares the embedded engine's req/s and p99 latency of two cargo-wasock binaries (e.g.
# before and after a change to wasmtime's features or to the install profile; issue 12 §1
# keeps req/s within 5%).
# Both serve the same release build of the `poll` template; runs alternate A, B, A, B… so
# both see the same machine load, and the medians are printed with the ratios B/A.
# It prints figures and asserts nothing.
#
# usage: scripts/bench-engine-ab.sh BIN_A BIN_B [SECONDS_PER_RUN] [RUNS] [CONNS...]
#   defaults: 5 s per wrk run, 3 runs each, connections 1 and 50
# Needs: cargo with the wasm32-wasip1 target, wrk, python3.
set -euo pipefail

[ $# -ge 2 ] || { sed -n '9,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bin_a="$(realpath "$1")"; bin_b="$(realpath "$2")"
duration="${3:-5}"; runs="${4:-3}"; shift $(( $# < 4 ? $# : 4 ))
conns=("$@"); [ ${#conns[@]} -gt 0 ] || conns=(1 50)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
need wrk cargo python3
bench_workdir
# Fresh caches: each binary precompiles into its own cache (wasmtime's settings are in the key).
export XDG_CACHE_HOME="$WORK/cache"

CLI="$bin_a"
bench_poll_app


# start BIN PORT: serve the app on the engine (precompiled through the cache) until its port
# accepts; sets server_pid.
start() {
  "$1" wasock run --runtime embedded --aot --wasm "$WASM" --port "$2" >/dev/null 2>"$WORK/server.log" &
  server_pid=$!
  PIDS+=("$server_pid")
  wait_port "$2" "$server_pid" || { cat "$WORK/server.log" >&2; echo "error: $1 did not serve on port $2" >&2; exit 1; }
}
# One server at a time: once it is reaped, nothing is left for the exit trap to stop.
stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; PIDS=(); }

declare -A rps_of p99_of
for i in $(seq 1 "$runs"); do
  for side in A B; do
    bin="$bin_a"; [ "$side" = B ] && bin="$bin_b"
    port="$(free_port)"
    start "$bin" "$port"
    for c in "${conns[@]}"; do
      read -r rps p99 errors non2xx < <(wrk -t"$(wrk_threads "$c")" -c"$c" -d"${duration}s" --latency "http://127.0.0.1:$port/" 2>&1 | wrk_figures)
      rps_of["$side/$c"]+="$rps"$'\n'
      p99_of["$side/$c"]+="$p99"$'\n'
      echo "  run $i $side c=$c: $rps req/s, p99 $p99 ms, socket errors $errors, non-2xx $non2xx (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    done
    stop
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > 0) ? b / a : 0 }'; }
echo
echo "A = $bin_a"
echo "B = $bin_b"
printf '%6s %14s %14s %8s %12s %12s %8s\n' conns "A req/s" "B req/s" "B/A" "A p99 ms" "B p99 ms" "B/A"
for c in "${conns[@]}"; do
  a="$(printf '%s' "${rps_of[A/$c]}" | median)"; b="$(printf '%s' "${rps_of[B/$c]}" | median)"
  pa="$(printf '%s' "${p99_of[A/$c]}" | median)"; pb="$(printf '%s' "${p99_of[B/$c]}" | median)"
  printf '%6s %14.0f %14.0f %7.3fx %12.3f %12.3f %7.3fx\n' "$c" "$a" "$b" "$(ratio "$a" "$b")" "$pa" "$pb" "$(ratio "$pa" "$pb")"
done
echo "(medians of $runs alternating runs of $duration s each; $(nproc) cores; load now $(cut -d' ' -f1-3 /proc/loadavg))"
