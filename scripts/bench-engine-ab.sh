#!/usr/bin/env bash
# Compares the embedded engine's req/s of two cargo-wasock binaries (e.g. before and after a
# change to wasmtime's features or to the install profile; issue 12 §1 keeps it within 5%).
# Both serve the same release build of the `poll` template; runs alternate A, B, A, B… so
# both see the same machine load, and the medians are printed with the ratio B/A.
# It prints figures and asserts nothing.
#
# usage: scripts/bench-engine-ab.sh BIN_A BIN_B [SECONDS_PER_RUN] [RUNS] [CONNS...]
#   defaults: 5 s per wrk run, 3 runs each, connections 1 and 50
# Needs: cargo with the wasm32-wasip1 target, wrk, curl.
set -euo pipefail

[ $# -ge 2 ] || { sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bin_a="$(realpath "$1")"; bin_b="$(realpath "$2")"
duration="${3:-5}"; runs="${4:-3}"; shift $(( $# < 4 ? $# : 4 ))
conns=("$@"); [ ${#conns[@]} -gt 0 ] || conns=(1 50)
for tool in wrk curl cargo; do
  command -v "$tool" >/dev/null || { echo "error: \`$tool\` is not installed" >&2; exit 1; }
done

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# Fresh caches: each binary precompiles into its own cache (wasmtime's settings are in the key).
export XDG_CACHE_HOME="$work/cache"

echo "building the poll app (release, wasm32-wasip1)..." >&2
(cd "$work" && "$bin_a" wasock new benchapp --template poll >/dev/null)
(cd "$work/benchapp" && env -u CARGO_TARGET_DIR cargo build --quiet --release --target wasm32-wasip1)
wasm="$work/benchapp/target/wasm32-wasip1/release/benchapp.wasm"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start BIN PORT: serve the app on the engine (precompiled through the cache) until it answers.
start() {
  "$1" wasock run --runtime embedded --aot --wasm "$wasm" --port "$2" >/dev/null 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$2/" && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "error: $1 exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "error: $1 never answered on port $2" >&2; exit 1
}
stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

declare -A results
for i in $(seq 1 "$runs"); do
  for side in A B; do
    bin="$bin_a"; [ "$side" = B ] && bin="$bin_b"
    port="$(free_port)"
    start "$bin" "$port"
    for c in "${conns[@]}"; do
      t=2; [ "$c" -lt 2 ] && t=1
      rps="$(wrk -t"$t" -c"$c" -d"${duration}s" "http://127.0.0.1:$port/" 2>/dev/null | awk '/Requests\/sec:/ { print $2 }')"
      results["$side/$c"]+="${rps:-0} "
      echo "  run $i $side c=$c: ${rps:-0} req/s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    done
    stop
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "A = $bin_a"
echo "B = $bin_b"
printf '%6s %14s %14s %8s   %s\n' conns "A req/s (med)" "B req/s (med)" "B/A" "all runs A | B"
for c in "${conns[@]}"; do
  a="$(echo "${results[A/$c]}" | median)"; b="$(echo "${results[B/$c]}" | median)"
  printf '%6s %14.0f %14.0f %7.3fx   %s| %s\n' "$c" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print (a > 0) ? b / a : 0 }')" \
    "${results[A/$c]}" "${results[B/$c]}"
done
echo "($duration s per wrk run, $runs runs each, alternating; $(nproc) cores; load now $(cut -d' ' -f1-3 /proc/loadavg))"
