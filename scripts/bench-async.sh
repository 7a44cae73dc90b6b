#!/usr/bin/env bash
# Benchmark wasock's async runtime through the `proxy`, `axum` and `poll` template apps:
#  1. 100 concurrent requests through the proxy on the embedded engine to an upstream that
#     answers after 200 ms: how long until all are done (one after another: 20 s);
#  2. while one request waits on a 5 s upstream, p99 of the other requests through the
#     same proxy (wrk, 10 connections);
#  3. req/s and p99 at 50 connections of the `axum` (GET /hello) and `poll` apps on the
#     embedded engine and natively.
#
# Usage: scripts/bench-async.sh [SECONDS_PER_RUN]   (default 5)
# Needs: cargo, the wasm32-wasip1 target, wrk, python3. Uses CARGO_TARGET_DIR when set;
# BENCH_CLI=path uses an already built cargo-wasock; BENCH_APPS_DIR=dir uses the projects
# bench-proxy, bench-axum and bench-poll found there instead of generating them.
# This is a measurement, not a test: it asserts nothing about speed.
set -euo pipefail

DURATION="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir

need wrk python3

bench_cli

APPS="${BENCH_APPS_DIR:-$WORK}"
APP_TARGET="$TARGET_DIR/bench-apps"
for template in proxy axum poll; do
    if [ ! -d "$APPS/bench-$template" ]; then
        echo "generating the $template app..." >&2
        (cd "$APPS" && "$CLI" new "bench-$template" --template "$template" >/dev/null)
    fi
    echo "building the $template app..." >&2
    (cd "$APPS/bench-$template" && cargo build --quiet --release --target wasm32-wasip1 --target-dir "$APP_TARGET")
    (cd "$APPS/bench-$template" && cargo build --quiet --release --target-dir "$APP_TARGET")
done
wasm() { echo "$APP_TARGET/wasm32-wasip1/release/bench-$1.wasm"; }
native() { echo "$APP_TARGET/release/bench-$1"; }

# Starts a command in the background (output to $WORK/NAME.log) and waits for its port.
start() {
    local name="$1" port="$2"; shift 2
    "$@" >/dev/null 2>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    wait_port "$port" "$pid" || { cat "$WORK/$name.log" >&2; exit 1; }
    LAST_PID="$pid"
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# "<req/s> <p99 in ms>" from one wrk run on URL with CONNS connections.
measure() {
    local url="$1" conns="$2"
    wrk -t"$(wrk_threads "$conns")" -c"$conns" -d"${DURATION}s" --latency "$url" 2>/dev/null | wrk_figures | cut -d' ' -f1-2
}

# An upstream that answers /delay/MS after MS milliseconds and anything else at once; a
# thread per connection, so it never serializes (it is not what is measured).
cat >"$WORK/upstream.py" <<'EOF'
import sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body go out in two writes; with Nagle on, the body would wait for a
    # delayed ACK (~40 ms) and the figures would measure that.
    disable_nagle_algorithm = True
    def do_GET(self):
        body = b"fast"
        if self.path.startswith("/delay/"):
            ms = int(self.path[len("/delay/"):])
            time.sleep(ms / 1000)
            body = b"slept %d" % ms
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 1024
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF

# N requests to URL at once, each on its own connection; prints the seconds until the last
# one is answered and how many got a 200.
cat >"$WORK/burst.py" <<'EOF'
import sys, threading, time, urllib.request
url, count = sys.argv[1], int(sys.argv[2])
ok = []
def one():
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            ok.append(response.status == 200)
    except Exception:
        ok.append(False)
threads = [threading.Thread(target=one) for _ in range(count)]
started = time.monotonic()
for thread in threads: thread.start()
for thread in threads: thread.join()
print("%.3f %d" % (time.monotonic() - started, sum(ok)))
EOF

UP_PORT="$(free_port)"
start upstream "$UP_PORT" python3 "$WORK/upstream.py" "$UP_PORT"
UPSTREAM_PID="$LAST_PID"

echo "proxy on the embedded engine..." >&2
PROXY_PORT="$(free_port)"
start proxy "$PROXY_PORT" "$CLI" run --runtime embedded --aot --wasm "$(wasm proxy)" \
    --port "$PROXY_PORT" --env "UPSTREAM=http://127.0.0.1:$UP_PORT" --env UPSTREAM_TIMEOUT_MS=30000
PROXY_PID="$LAST_PID"
# Warm up: the first request pays for connecting to the upstream.
python3 "$WORK/burst.py" "http://127.0.0.1:$PROXY_PORT/delay/1" 10 >/dev/null
read -r burst_seconds burst_ok < <(python3 "$WORK/burst.py" "http://127.0.0.1:$PROXY_PORT/delay/200" 100)
echo "  100 requests to a 200 ms upstream: all answered in $burst_seconds s ($burst_ok/100 got 200)" >&2

python3 "$WORK/burst.py" "http://127.0.0.1:$PROXY_PORT/delay/5000" 1 >/dev/null &
SLOW_PID=$!
PIDS+=("$SLOW_PID")
sleep 0.2
read -r beside_rps beside_p99 < <(DURATION=3 measure "http://127.0.0.1:$PROXY_PORT/fast" 10)
echo "  beside a 5 s request: $beside_rps req/s, p99 $beside_p99 ms" >&2
wait "$SLOW_PID" 2>/dev/null || true
stop "$PROXY_PID"
stop "$UPSTREAM_PID"

declare -A RPS P99
for app in axum poll; do
    path="/"
    [ "$app" = axum ] && path="/hello?name=bench"
    echo "$app on the embedded engine..." >&2
    port="$(free_port)"
    start "$app-engine" "$port" "$CLI" run --runtime embedded --aot --wasm "$(wasm "$app")" --port "$port"
    read -r RPS["$app/engine"] P99["$app/engine"] < <(measure "http://127.0.0.1:$port$path" 50)
    stop "$LAST_PID"
    echo "$app natively..." >&2
    port="$(free_port)"
    start "$app-native" "$port" env "PORT=$port" "$(native "$app")"
    read -r RPS["$app/native"] P99["$app/native"] < <(measure "http://127.0.0.1:$port$path" 50)
    stop "$LAST_PID"
done

echo
echo "proxy (embedded engine), upstream answering after 200 ms:"
echo "  100 concurrent requests all answered in ${burst_seconds} s (${burst_ok}/100 got 200; serialized: 20 s)"
echo "proxy (embedded engine), while one request waits on a 5 s upstream:"
echo "  other requests (wrk -c10, 3 s): ${beside_rps} req/s, p99 ${beside_p99} ms"
echo
printf "%-6s %-8s %12s %10s\n" app runtime "req/s" "p99 (ms)"
for app in axum poll; do
    for runtime in engine native; do
        printf "%-6s %-8s %12s %10s\n" "$app" "$runtime" "${RPS[$app/$runtime]}" "${P99[$app/$runtime]}"
    done
done
echo
echo "(wrk -c50, $DURATION s per run; axum: GET /hello?name=bench, poll: GET /)"
