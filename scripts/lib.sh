# Shared by the bench scripts (source it after setting REPO and TARGET_DIR): the CLI to
# measure, a free port, and waiting for an app's port. Benchmarks may connect to the app to
# see it serve; `cargo wasock run` itself never does.

# bench_cli: sets CLI to $BENCH_CLI (an already built cargo-wasock, e.g. a copy of an earlier
# build; WASOCK_BIN and WASOCK_CLI, the names earlier scripts took, still work), else builds
# the workspace's release CLI into TARGET_DIR.
bench_cli() {
    local given="${BENCH_CLI:-${WASOCK_BIN:-${WASOCK_CLI:-}}}"
    if [ -n "$given" ]; then
        CLI="$given"
    else
        echo "building cargo-wasock (release)..." >&2
        cargo build --quiet --release -p cargo-wasock --manifest-path "$REPO/Cargo.toml"
        CLI="$TARGET_DIR/release/cargo-wasock"
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until 127.0.0.1:PORT accepts (up to 120 s); fails when PID exits first.
wait_port() {
    local port="$1" pid="$2"
    for _ in $(seq 1 12000); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { echo "error: process $pid exited before listening on $port" >&2; return 1; }
        sleep 0.01
    done
    echo "error: port $port never opened" >&2
    return 1
}

# bench_workdir: WORK (a new temp dir) and PIDS (the background processes a script starts);
# on exit every one of PIDS is stopped and reaped and WORK is removed.
bench_workdir() {
    WORK="$(mktemp -d)"
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}

# need TOOL...: exits with an error naming the apt package for the first TOOL not on PATH.
need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "error: $tool is not installed; help: apt-get install $tool" >&2; exit 1; }
    done
}
