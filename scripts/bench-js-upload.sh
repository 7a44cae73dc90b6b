#!/usr/bin/env bash
# Benchmark a large request body arriving in many reads at a JavaScript server: the script
# appends every read to a `wasi_http.Buffer` and calls `parseRequest()` after each (the
# reference docs' idiom), so the cost of parsing per read decides the time. A client on
# 127.0.0.1 sends an 8 MiB POST in 64 KiB writes; the figure is the time from the first
# byte sent to the whole response read, median of 5 rounds (one server, one connection per
# round), on the embedded engine (`cargo wasock run --runtime embedded --aot --js`).
#
# Usage: scripts/bench-js-upload.sh [BODY_MIB] [ROUNDS]   (default 8, 5)
# Needs: python3, and for a first run the JS runtime's C toolchain (clang-19, wasi-libc).
# BENCH_CLI=path uses that cargo-wasock instead of building a release one; XDG_CACHE_HOME
# chooses the cache holding the runtime module as for any `run --js`.
# A measurement, not a test: it asserts nothing about speed.
set -euo pipefail

BODY_MIB="${1:-8}"
ROUNDS="${2:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir
need python3
bench_cli

PORT="$(free_port)"
cat > "$WORK/upload.js" <<JS
import * as http from 'wasi_http';
import * as net from 'wasi_net';

async function handle(cs) {
  let buffer = new http.Buffer();
  while (true) {
    let d = await cs.read();
    if (d.byteLength <= 0) return;
    buffer.append(d);
    let req = buffer.parseRequest();
    if (req instanceof http.WasiRequest) {
      let resp = new http.WasiResponse();
      cs.write(resp.encode('received ' + req.body.byteLength));
      return;
    }
  }
}

async function main() {
  let server = new net.WasiTcpServer($PORT);
  while (true) {
    let cs = await server.accept();
    handle(cs);
  }
}

main();
JS

echo "starting the JS server (builds the runtime module on first use)..." >&2
(cd "$WORK" && exec "$CLI" run --runtime embedded --aot --js upload.js) >"$WORK/app.log" 2>&1 &
PIDS+=("$!")
# A first run builds the runtime: allow it half an hour.
wait_port "$PORT" "${PIDS[0]}" 1800 || { cat "$WORK/app.log" >&2; exit 1; }

python3 - "$PORT" "$BODY_MIB" "$ROUNDS" <<'PY'
import socket, statistics, sys, time
port, mib, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
body = bytes(i % 251 for i in range(mib * 1024 * 1024))
expected = b"received %d" % len(body)
STEP = 65536

def length_framed():
    head = b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head + body

def chunked():
    # One chunk per 64 KiB write, as a streaming client sends it.
    parts = [b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"]
    for at in range(0, len(body), STEP):
        piece = body[at:at + STEP]
        parts.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)

for name, message in (("content-length", length_framed()), ("chunked", chunked())):
    times = []
    for n in range(rounds):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.monotonic()
        for at in range(0, len(message), STEP):
            s.sendall(message[at:at + STEP])
        reply = b""
        while not reply.endswith(expected):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        elapsed = time.monotonic() - start
        s.close()
        if not reply.endswith(expected):
            sys.exit("error: %s: unexpected reply: %r" % (name, reply[:200]))
        times.append(elapsed)
        print("  %s round %d: %.3f s" % (name, n + 1, elapsed), file=sys.stderr)
    print("%d MiB POST (%s) in 64 KiB writes, parseRequest after each read: median %.3f s of %d (min %.3f, max %.3f)"
          % (mib, name, statistics.median(times), rounds, min(times), max(times)))
PY
