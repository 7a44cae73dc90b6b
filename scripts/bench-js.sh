#!/usr/bin/env bash
# Benchmark JavaScript apps: the `js-http` template app (a fetch(request) handler) on the
# embedded engine, on WasmEdge AOT when found ($WASMEDGE_DIR/bin, PATH, ~/.wasmedge/bin or
# ../shared/wasmedge; lib.sh's find_wasmedge) and natively (the same app built for the host),
# the same main.js on Node.js (its fetch handler behind a node:http adapter), the `js-node`
# template app (Node's http.createServer) on the engine, on WasmEdge AOT and its main.js on
# Node, and the Rust `poll` template app on the embedded engine, each with wrk (GET /) at 50
# and 100 connections. Then a JS app's cold start (precompiled: launch until its port
# accepts, median of 5), the module sizes, and a soak: js-http on the engine under wrk with
# 100 connections POSTing JSON to /echo for SOAK_SECONDS, with wrk's timeout at 1 s (so its
# "timeout" count is the requests that waited over 1 s) and the server's RSS before and after.
#
# Usage: scripts/bench-js.sh [SECONDS_PER_RUN] [SOAK_SECONDS]   (defaults 5 and 60; 0: no soak)
# Needs: cargo, the wasm32-wasip1 target, clang-19/llvm-19/wasi-libc, wrk, node.
# BENCH_CLI=path uses that cargo-wasock instead of building a release one.
# Uses CARGO_TARGET_DIR when set. A measurement, not a test: it asserts nothing about speed.
set -euo pipefail

DURATION="${1:-5}"
SOAK_SECONDS="${2:-60}"
CONNECTIONS=(50 100)
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


# "<req/s> <p99 in ms>" from one wrk run: measure PORT CONNECTIONS.
measure() {
    local port="$1" conns="$2"
    wrk -t"$(wrk_threads "$conns")" -c"$conns" -d"${DURATION}s" --latency "http://127.0.0.1:$port/" 2>/dev/null | wrk_figures | cut -d' ' -f1-2
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
    local conns
    for conns in "${CONNECTIONS[@]}"; do
        read -r rps p99 < <(measure "$port" "$conns")
        RPS["$name,$conns"]="$rps"
        P99["$name,$conns"]="$p99"
        echo "  $name c=$conns: $rps req/s, p99 $p99 ms" >&2
    done
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

echo "js-node (Node's http.createServer) on the embedded engine, WasmEdge AOT and Node.js..." >&2
PORT="$(free_port)"
run_one js-node-engine "$PORT" "hello from nodeapp" "$CLI" run --runtime embedded --aot --wasm "$NODEAPP_WASM" --port "$PORT"
if [ -n "$WASMEDGE" ]; then
    "$WASMEDGE" compile "$NODEAPP_WASM" "$WORK/nodeapp.aot.wasm" >/dev/null
    PORT="$(free_port)"
    run_one js-node-wasmedge-aot "$PORT" "hello from nodeapp" "$WASMEDGE" --run-mode=aot --env "PORT=$PORT" "$WORK/nodeapp.aot.wasm"
fi
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

SOAK=""
if [ "$SOAK_SECONDS" -gt 0 ]; then
    echo "soak: js-http on the engine, 100 connections POSTing JSON for ${SOAK_SECONDS} s..." >&2
    printf '%s\n' 'wrk.method = "POST"' 'wrk.path = "/echo"' "wrk.body = '{\"hello\":\"world\",\"n\":42}'" \
        'wrk.headers["Content-Type"] = "application/json"' >"$WORK/post.lua"
    PORT="$(free_port)"
    "$CLI" run --runtime embedded --aot --wasm "$JS_WASM" --port "$PORT" >/dev/null 2>"$WORK/soak.log" &
    pid=$!
    PIDS+=("$pid")
    wait_port "$PORT" "$pid"
    reply="$(curl -s -m 10 -d '{"a":1}' "http://127.0.0.1:$PORT/echo")"
    [ "$reply" = '{"received":{"a":1}}' ] || { echo "error: /echo answered \`$reply\`" >&2; exit 1; }
    rss_before="$(ps -o rss= -p "$pid" | tr -d ' ')"
    wrk -t2 -c100 -d"${SOAK_SECONDS}s" --latency --timeout 1s -s "$WORK/post.lua" "http://127.0.0.1:$PORT/" >"$WORK/soak.txt" 2>&1
    rss_after="$(ps -o rss= -p "$pid" | tr -d ' ')"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    SOAK="$(awk -v before="$rss_before" -v after="$rss_after" '
        /requests in/ { requests = $1 }
        /Latency/ && !max { max = $4 }
        $1 == "99%" { p99 = $2 }
        /Socket errors/ { gsub(/,/, ""); for (i = 1; i <= NF; i++) if ($i == "timeout") late = $(i + 1) }
        END { printf "%s requests, p99 %s, max %s, %d over 1 s (wrk timeouts), RSS %.1f -> %.1f MiB",
              requests, p99, max, late, before / 1024, after / 1024 }' "$WORK/soak.txt")"
fi

echo
printf "%-22s %12s %10s %8s %12s %10s %8s\n" app "req/s c=50" "p99 ms" "vs node" "req/s c=100" "p99 ms" "vs node"
for name in "${NAMES[@]}"; do
    # The js-node apps compare with js-node on Node, the rest with the fetch handler on Node.
    base=node
    case "$name" in js-node-*) base=js-node-on-node ;; esac
    row=""
    for conns in "${CONNECTIONS[@]}"; do
        ratio="$(awk -v a="${RPS[$name,$conns]}" -v b="${RPS[$base,$conns]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
        row+="$(printf " %12s %10s %8s" "${RPS[$name,$conns]}" "${P99[$name,$conns]}" "$ratio")"
    done
    printf "%-22s%s\n" "$name" "$row"
done
echo
echo "cold start, js-http on the engine (precompiled; launch until the port accepts): median ${COLD_MS} ms of ${STARTS[*]}"
echo "module sizes: jsapp.wasm $(size_mib "$JS_WASM"), pollapp.wasm $(size_mib "$POLL_WASM")${CWASM:+, precompiled jsapp $(size_mib "$CWASM")}"
if [ -n "$SOAK" ]; then echo "soak, js-http on the engine (${SOAK_SECONDS} s, 100 connections, POST /echo): $SOAK"; fi
echo "($DURATION s per wrk run, 2 threads; js-node rows compare with js-node on Node, the others with the fetch handler on Node)"
