#!/usr/bin/env bash
# Benchmark JavaScript apps: the `js-http` template app (a fetch(request) handler) on the
# embedded engine, on WasmEdge AOT when found ($WASMEDGE_DIR/bin, PATH, ~/.wasmedge/bin or
# ../shared/wasmedge; lib.sh's find_wasmedge) and natively (the same app built for the host),
# the same main.js on Node.js (its fetch handler behind a node:http adapter), the `js-node`
# template app (Node's http.createServer) on the engine and its main.js on Node, and the Rust
# `poll` template app on the embedded engine, each with wrk (GET /) at 50 connections. Then a
# JS app's cold start (precompiled: launch until its port accepts, median of 5) and the
# module sizes.
#
# Usage: scripts/bench-js.sh [SECONDS_PER_RUN]   (default 5)
# Needs: cargo, the wasm32-wasip1 target, clang-19/llvm-19/wasi-libc, wrk, node.
# BENCH_CLI=path uses that cargo-wasock instead of building a release one.
# Uses CARGO_TARGET_DIR when set. A measurement, not a test: it asserts nothing about speed.
set -euo pipefail

DURATION="${1:-5}"
CONNS=50
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir
find_wasmedge

need wrk node

bench_cli
APP_TARGET="$TARGET_DIR/bench-apps"

echo "generating and building the js-http, js-node and poll apps (release, wasm32-wasip1)..." >&2
(cd "$WORK" && "$CLI" new jsapp --template js-http >/dev/null 2>&1 && "$CLI" new nodeapp --template js-node >/dev/null 2>&1 && "$CLI" new pollapp --template poll >/dev/null 2>&1)
for app in jsapp nodeapp pollapp; do
    (cd "$WORK/$app" && cargo build --quiet --release --target wasm32-wasip1 --target-dir "$APP_TARGET")
done
# The same js-http app built for the host: the floor, as native is in bench-engine.sh.
(cd "$WORK/jsapp" && cargo build --quiet --release --target-dir "$APP_TARGET")
JS_NATIVE="$APP_TARGET/release/jsapp"
JS_WASM="$APP_TARGET/wasm32-wasip1/release/jsapp.wasm"
POLL_WASM="$APP_TARGET/wasm32-wasip1/release/pollapp.wasm"
NODEAPP_WASM="$APP_TARGET/wasm32-wasip1/release/nodeapp.wasm"


# "<req/s> <p99 in ms>" from one wrk run.
measure() {
    local port="$1"
    wrk -t"$(wrk_threads "$CONNS")" -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/" 2>/dev/null | wrk_figures | cut -d' ' -f1-2
}

declare -A RPS P99
NAMES=()

# run_one NAME PORT EXPECTED COMMAND...: EXPECTED is what GET / must answer ("-": anything).
run_one() {
    local name="$1" port="$2" expected="$3"; shift 3
    "$@" >/dev/null 2>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    if ! wait_port "$port" "$pid"; then
        cat "$WORK/$name.log" >&2
        return 1
    fi
    # The app must answer as expected before it is measured.
    local reply
    reply="$(curl -s -m 10 "http://127.0.0.1:$port/")"
    [ "$expected" = "-" ] || [ "$reply" = "$expected" ] || { echo "error: $name answered \`$reply\`" >&2; return 1; }
    NAMES+=("$name")
    read -r rps p99 < <(measure "$port")
    RPS["$name"]="$rps"
    P99["$name"]="$p99"
    echo "  $name c=$CONNS: $rps req/s, p99 $p99 ms" >&2
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

echo "js-http on the embedded engine..." >&2
PORT="$(free_port)"
run_one js-engine "$PORT" "hello from jsapp" "$CLI" run --runtime embedded --aot --wasm "$JS_WASM" --port "$PORT"

if [ -n "$WASMEDGE" ]; then
    echo "js-http on WasmEdge AOT..." >&2
    "$WASMEDGE" compile "$JS_WASM" "$WORK/jsapp.aot.wasm" >/dev/null
    PORT="$(free_port)"
    run_one js-wasmedge-aot "$PORT" "hello from jsapp" "$WASMEDGE" --run-mode=aot --env "PORT=$PORT" "$WORK/jsapp.aot.wasm"
else
    echo "js-http on WasmEdge AOT: skipped (wasmedge is not installed)" >&2
fi

echo "js-http natively..." >&2
PORT="$(free_port)"
run_one js-native "$PORT" "hello from jsapp" env "PORT=$PORT" "$JS_NATIVE"

echo "the same fetch handler on Node.js (behind a node:http adapter)..." >&2
cp "$WORK/jsapp/src/main.js" "$WORK/jsapp.mjs"
cat >"$WORK/serve-fetch.mjs" <<'EOF'
// Serves a fetch(request) handler on node:http, as adapters (e.g. @hono/node-server) do.
import http from 'node:http'
const app = (await import(process.argv[2])).default
http.createServer(async (req, res) => {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined
    const response = await app.fetch(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers: req.headers, body }))
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.end(Buffer.from(await response.arrayBuffer()))
}).listen(Number(process.env.PORT), '0.0.0.0')
EOF
PORT="$(free_port)"
run_one node "$PORT" "hello from jsapp" env "PORT=$PORT" node "$WORK/serve-fetch.mjs" "$WORK/jsapp.mjs"

echo "js-node (Node's http.createServer) on the embedded engine and on Node.js..." >&2
PORT="$(free_port)"
run_one js-node-engine "$PORT" "hello from nodeapp" "$CLI" run --runtime embedded --aot --wasm "$NODEAPP_WASM" --port "$PORT"
cp "$WORK/nodeapp/src/main.js" "$WORK/nodeapp.mjs"
PORT="$(free_port)"
run_one js-node-on-node "$PORT" "hello from nodeapp" env "PORT=$PORT" node "$WORK/nodeapp.mjs"

echo "the Rust poll app on the embedded engine..." >&2
PORT="$(free_port)"
run_one poll-engine "$PORT" - "$CLI" run --runtime embedded --aot --wasm "$POLL_WASM" --port "$PORT"

echo "cold start of the js-http app (precompiled)..." >&2
STARTS=()
for _ in 1 2 3 4 5; do
    PORT="$(free_port)"
    started=$(date +%s%N)
    "$CLI" run --runtime embedded --aot --wasm "$JS_WASM" --port "$PORT" >/dev/null 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_port "$PORT" "$pid"
    STARTS+=($(( ($(date +%s%N) - started) / 1000000 )))
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
COLD_MS="$(printf '%s\n' "${STARTS[@]}" | sort -n | sed -n 3p)"

size_mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
CWASM="$(ls -S "$(dirname "$JS_WASM")/wasock/"*.cwasm 2>/dev/null | head -1 || true)"

echo
printf "%-18s %12s %10s %14s\n" app "req/s" "p99 (ms)" "vs node"
for name in "${NAMES[@]}"; do
    ratio="$(awk -v a="${RPS[$name]}" -v b="${RPS[node]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
    printf "%-18s %12s %10s %14s\n" "$name" "${RPS[$name]}" "${P99[$name]}" "$ratio"
done
echo
echo "cold start, js-http on the engine (precompiled; launch until the port accepts): median ${COLD_MS} ms of ${STARTS[*]}"
echo "module sizes: jsapp.wasm $(size_mib "$JS_WASM"), pollapp.wasm $(size_mib "$POLL_WASM")${CWASM:+, precompiled jsapp $(size_mib "$CWASM")}"
echo "($DURATION s per wrk run at $CONNS connections, 2 threads)"
