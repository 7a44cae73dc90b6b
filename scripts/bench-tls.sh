#!/usr/bin/env bash
# Benchmark wasock's HTTPS client (feature `tls`): the same code (tests/guests/wasock-tls's
# `bench` mode) as a release wasm module on the embedded engine (and on WasmEdge AOT with
# BENCH_WASMEDGE_AOT=1) vs built natively, against a native rustls server on 127.0.0.1
# (src/bin/bench-server.rs of the same crate):
#  1. the first request of a process (a full handshake: X25519, ECDSA P-256 certificate),
#     new connections per second after it (resumed handshakes), keep-alive requests per
#     second on one connection, and one 1 MiB download; the median of RUNS runs each;
#  2. the 1 MiB download with the server forcing ChaCha20-Poly1305, then AES-128-GCM;
#  3. the size `tls` adds to a release module (a client calling wasock::get, without and
#     with the feature);
#  4. the server: the `poll` template built with `--features tls` (as `$CLI new` makes it)
#     serving HTTPS on the engine (`run --tls-cert/--tls-key`), on WasmEdge AOT with
#     BENCH_WASMEDGE_AOT=1, and natively, under wrk over https: keep-alive requests/s with
#     BENCH_SERVER_CONNS connections (default 50), and new handshakes/s (wrk with
#     `Connection: close`: every request a new connection and a full handshake), the
#     median of RUNS runs of BENCH_SECONDS seconds (default 5) each.
# The machine's load (uptime) is printed first: the other figures mean little on a busy box.
# A new connection that takes over 40 ms is flagged: that is Nagle holding back a TLS record
# (sockets must write vectored).
#
# Usage: scripts/bench-tls.sh [RUNS]   (default 5)
# Needs: cargo, the wasm32-wasip1 target, clang-19 and llvm-ar-19 (ring's C), openssl,
# python3. Uses CARGO_TARGET_DIR when set; BENCH_CLI=path uses an already built cargo-wasock.
# This is a measurement, not a test: it asserts nothing about speed.
set -euo pipefail

RUNS="${1:-5}"
REQUESTS="${BENCH_REQUESTS:-2000}"
CONNECTIONS="${BENCH_CONNECTIONS:-200}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir

need openssl python3 wrk clang-19:clang-19 llvm-ar-19:llvm-19
echo "load: $(uptime)"
bench_cli
export CC_wasm32_wasip1="${CC_wasm32_wasip1:-clang-19}" AR_wasm32_wasip1="${AR_wasm32_wasip1:-llvm-ar-19}"

echo "making a CA and a certificate for localhost..." >&2
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj "/CN=bench CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
        -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
        -extfile leaf.ext 2>/dev/null
)

GUEST="$REPO/tests/guests/wasock-tls"
GUEST_TARGET="$TARGET_DIR/engine-guests"
echo "building the client (release, native and wasm32-wasip1)..." >&2
cargo build --quiet --release --manifest-path "$GUEST/Cargo.toml" --target-dir "$GUEST_TARGET"
cargo build --quiet --release --manifest-path "$GUEST/Cargo.toml" --target-dir "$GUEST_TARGET" \
    --target wasm32-wasip1 --bin wasock-tls
NATIVE="$GUEST_TARGET/release/wasock-tls"
SERVER="$GUEST_TARGET/release/bench-server"
WASM="$GUEST_TARGET/wasm32-wasip1/release/wasock-tls.wasm"

start_server() { # [chacha|aes128]
    if [ -n "${SERVER_PID:-}" ]; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
    PORT="$(free_port)"
    "$SERVER" "$WORK/leaf.pem" "$WORK/leaf.key" "$PORT" ${1:+"$1"} &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_port "$PORT" "$SERVER_PID" 30
    URL="https://localhost:$PORT"
}

run_native() { SSL_CERT_FILE="$WORK/ca.pem" "$NATIVE" bench "$URL" "$@"; }
run_engine() {
    "$CLI" run --quiet --runtime embedded --wasm "$WASM" --dir "/pki:$WORK:readonly" \
        --env SSL_CERT_FILE=/pki/ca.pem -- bench "$URL" "$@"
}
WASMEDGE="${WASMEDGE:-/work/shared/wasmedge/bin/wasmedge}"
run_wasmedge_aot() {
    # WasmEdge 0.17 runs an AOT module's native code only when asked (else it interprets).
    "$WASMEDGE" --dir "/pki:$WORK" --env SSL_CERT_FILE=/pki/ca.pem --run-mode=aot \
        "$WORK/client.aot.wasm" bench "$URL" "$@"
}
RUNNERS=(native engine)
if [ "${BENCH_WASMEDGE_AOT:-0}" = 1 ] && [ -x "$WASMEDGE" ]; then
    echo "compiling the module with wasmedge compile..." >&2
    "$WASMEDGE" compile "$WASM" "$WORK/client.aot.wasm" >/dev/null
    RUNNERS+=(wasmedge_aot)
fi

start_server
# A warm-up each: the engine compiles the module once (then it is cached).
for runner in "${RUNNERS[@]}"; do "run_$runner" 10 10 >/dev/null; done
for runner in "${RUNNERS[@]}"; do
    for _ in $(seq 1 "$RUNS"); do "run_$runner" "$REQUESTS" "$CONNECTIONS"; done >"$WORK/$runner.out"
done

value() { grep "^$2=" "$WORK/$1.out" | cut -d= -f2 | median; }
echo
echo "HTTPS client, median of $RUNS runs ($REQUESTS keep-alive requests, $CONNECTIONS new connections)"
printf '%-14s %16s %18s %18s %14s\n' runner "first request ms" "new connections/s" "keep-alive req/s" "1 MiB down ms"
for runner in "${RUNNERS[@]}"; do
    printf '%-14s %16s %18s %18s %14s\n' "$runner" "$(value "$runner" first_request_ms)" \
        "$(value "$runner" new_connections_per_s)" "$(value "$runner" keepalive_requests_per_s)" \
        "$(value "$runner" mib_download_ms)"
done
for runner in "${RUNNERS[@]}"; do
    per_s="$(value "$runner" new_connections_per_s)"
    if awk -v r="$per_s" 'BEGIN { exit !(r > 0 && 1000 / r > 40) }'; then
        echo "warning: $runner takes over 40 ms a new connection: a Nagle stall?"
    fi
done

echo
echo "1 MiB download by the cipher the server forces (median of $RUNS)"
for suite in chacha aes128; do
    start_server "$suite"
    for runner in "${RUNNERS[@]}"; do
        for _ in $(seq 1 "$RUNS"); do "run_$runner" 1 1; done >"$WORK/$runner-$suite.out"
        printf '%-8s %-14s %8s ms\n' "$suite" "$runner" "$(value "$runner-$suite" mib_download_ms)"
    done
done

echo
echo "module size: a client calling wasock::get, release, without and with feature tls"
for tls in off on; do
    app="$WORK/size-$tls"
    mkdir -p "$app/src"
    features=""
    [ "$tls" = on ] && features=', features = ["tls"]'
    cat >"$app/Cargo.toml" <<EOF
[package]
name = "size-$tls"
version = "0.1.0"
edition = "2021"
[dependencies]
wasock = { path = "$REPO/runtime-lib"$features }
[workspace]
EOF
    echo 'fn main() { let url = std::env::args().nth(1).unwrap_or_default(); println!("{:?}", wasock::get(&url).map(|r| r.status())); }' >"$app/src/main.rs"
    cargo build --quiet --release --target wasm32-wasip1 --manifest-path "$app/Cargo.toml" \
        --target-dir "$TARGET_DIR/bench-apps"
    size="$(stat -c %s "$TARGET_DIR/bench-apps/wasm32-wasip1/release/size-$tls.wasm")"
    echo "tls $tls: $size bytes"
    eval "size_$tls=$size"
done
echo "feature tls adds $(( (size_on - size_off) / 1024 )) KiB"

echo
SECONDS_EACH="${BENCH_SECONDS:-5}"
SERVER_CONNS="${BENCH_SERVER_CONNS:-50}"
bench_poll_app native --features tls
if [ -n "${SERVER_PID:-}" ]; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
serve_native() {
    PORT="$PORT" TLS_CERT="$WORK/leaf.pem" TLS_KEY="$WORK/leaf.key" "$NATIVE" >/dev/null
}
serve_engine() {
    "$CLI" run --quiet --runtime embedded --wasm "$WASM" --port "$PORT" \
        --tls-cert "$WORK/leaf.pem" --tls-key "$WORK/leaf.key" >/dev/null
}
serve_wasmedge_aot() {
    "$WASMEDGE" --dir "/pki:$WORK" --env "PORT=$PORT" --env TLS_CERT=/pki/leaf.pem \
        --env TLS_KEY=/pki/leaf.key --run-mode=aot "$WORK/poll.aot.wasm" >/dev/null
}
SERVERS=(native engine)
if [ "${BENCH_WASMEDGE_AOT:-0}" = 1 ] && [ -x "$WASMEDGE" ]; then
    echo "compiling the poll app with wasmedge compile..." >&2
    "$WASMEDGE" compile "$WASM" "$WORK/poll.aot.wasm" >/dev/null
    SERVERS+=(wasmedge_aot)
fi
# wrk FIGURES over https; $1: extra wrk arguments.
wrk_https() {
    wrk -t"$(wrk_threads "$SERVER_CONNS")" -c"$SERVER_CONNS" -d"${SECONDS_EACH}s" --latency "$@" \
        "https://localhost:$PORT/" | wrk_figures
}
for server in "${SERVERS[@]}"; do
    PORT="$(free_port)"
    "serve_$server" &
    POLL_PID=$!
    PIDS+=("$POLL_PID")
    wait_port "$PORT" "$POLL_PID" 120
    curl -sS --cacert "$WORK/ca.pem" -d warm-up "https://localhost:$PORT/" >/dev/null
    for _ in $(seq 1 "$RUNS"); do wrk_https; done >"$WORK/server-$server-keepalive.out"
    for _ in $(seq 1 "$RUNS"); do wrk_https -H "Connection: close"; done >"$WORK/server-$server-close.out"
    kill "$POLL_PID"; wait "$POLL_PID" 2>/dev/null || true
done
column() { cut -d' ' -f"$2" "$WORK/$1.out" | median; }
echo
echo "HTTPS server (poll template, --features tls) under wrk, $SERVER_CONNS connections, median of $RUNS x ${SECONDS_EACH}s"
printf '%-14s %16s %12s %8s %18s %8s\n' server "keep-alive req/s" "p99 ms" errors "new handshakes/s" errors
for server in "${SERVERS[@]}"; do
    printf '%-14s %16s %12s %8s %18s %8s\n' "$server" \
        "$(column "server-$server-keepalive" 1)" "$(column "server-$server-keepalive" 2)" \
        "$(column "server-$server-keepalive" 3)" "$(column "server-$server-close" 1)" \
        "$(column "server-$server-close" 3)"
done
echo "load: $(uptime)"
