#!/usr/bin/env bash
# What `cargo wasock watch` costs per cycle, on the poll template on the embedded engine:
#  - edit → served: the time from saving a changed response text in src/main.rs to the new
#    text being answered on the port (polled from outside every 10 ms), debug and --release;
#  - a no-op cycle: `touch src/main.rs` (no content change) → the new app answering; beside
#    it, cargo's own `touch src/main.rs && cargo build` for the same profile (cargo's mtime
#    fingerprint recompiles the crate after a touch, so that is the floor watch builds on).
# Medians of RUNS cycles each. A measurement, not a test: it asserts nothing about speed.
#
# usage: scripts/bench-watch.sh [RUNS]   (default 5)
#        BENCH_CLI=/path/to/cargo-wasock scripts/bench-watch.sh   (a prebuilt CLI)
# needs: cargo with the wasm32-wasip1 target, python3.
set -euo pipefail

runs="${1:-5}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/wasock-bench-watch}"

REPO="$repo" TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
source "$repo/scripts/lib.sh"
bench_cli
WASOCK_BIN="$CLI"
export PATH="$(dirname "$WASOCK_BIN"):$PATH"

app="$work/watch-app"
rm -rf "$app"
mkdir -p "$work"
cargo wasock --quiet new watch-app --template poll --vcs none --path "$app"
export CARGO_TARGET_DIR="$work/target"
# A cache of compiled code of its own, empty: every edit's module is compiled afresh, as
# for a user (a module seen before would be loaded from the cache instead).
export CARGO_WASOCK_CACHE_DIR="$work/cache"
rm -rf "$CARGO_WASOCK_CACHE_DIR"

python3 - "$app" "$runs" <<'PY'
import http.client, os, re, signal, socket, statistics, subprocess, sys, time

app, runs = sys.argv[1], int(sys.argv[2])
# Response texts never used before, so each edit makes a module the cache has not seen.
token = format(time.time_ns() % 36**6, "x")
main_rs = os.path.join(app, "src", "main.rs")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def answer(port):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("POST", "/", body=b"x")
        text = connection.getresponse().read().decode()
        connection.close()
        return text
    except OSError:
        return None

def wait_answer(port, check, limit=600):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        text = answer(port)
        if text is not None and check(text):
            return
        time.sleep(0.01)
    raise SystemExit(f"no answer matching after {limit}s")

def set_prefix(prefix):
    text = open(main_rs).read()
    text = re.sub(r'b"[a-z0-9]+: "', f'b"{prefix}: "', text, count=1)
    open(main_rs, "w").write(text)

def status_lines(log):
    return open(log).read().count(" · restarted")

def cargo_touch_build(release):
    command = ["cargo", "build", "--quiet", "--target", "wasm32-wasip1"] + (["--release"] if release else [])
    times = []
    for _ in range(runs):
        os.utime(main_rs)
        started = time.monotonic()
        subprocess.run(command, cwd=app, check=True)
        times.append(time.monotonic() - started)
    return statistics.median(times)

for release in (False, True):
    profile = "release" if release else "debug"
    port = free_port()
    log = os.path.join(os.path.dirname(app), f"watch-{profile}.log")
    set_prefix("echo")
    command = ["cargo", "wasock", "watch", "--runtime", "embedded", "--port", str(port)]
    if release:
        command.append("--release")
    watch = subprocess.Popen(command, cwd=app, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        wait_answer(port, lambda text: text.startswith("echo: "))
        time.sleep(1)  # let the first build's cycle settle
        served = []
        for i in range(runs):
            prefix = f"v{i}{profile[0]}{token}"
            set_prefix(prefix)
            started = time.monotonic()
            wait_answer(port, lambda text: text.startswith(prefix + ": "))
            served.append(time.monotonic() - started)
            time.sleep(0.5)
        noop = []
        for _ in range(runs):
            before = status_lines(log)
            os.utime(main_rs)
            started = time.monotonic()
            while status_lines(log) == before:
                time.sleep(0.005)
            wait_answer(port, lambda text: True)
            noop.append(time.monotonic() - started)
            time.sleep(0.5)
    finally:
        watch.send_signal(signal.SIGINT)
        watch.wait(timeout=60)
    cargo_noop = cargo_touch_build(release)
    ms = lambda seconds: f"{seconds * 1000:.0f} ms"
    print(f"{profile}: edit -> new answer served: median {ms(statistics.median(served))} "
          f"(min {ms(min(served))}, max {ms(max(served))}, {runs} cycles)")
    print(f"{profile}: touch (no content change) -> app answering again: median {ms(statistics.median(noop))} "
          f"(min {ms(min(noop))}, max {ms(max(noop))})")
    print(f"{profile}: cargo's own touch + cargo build --target wasm32-wasip1: median {ms(cargo_noop)}")
    print(f"{profile}: watch's status lines: {log}")
PY
