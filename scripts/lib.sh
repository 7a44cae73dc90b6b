# Shared by the bench scripts (source it after setting REPO and TARGET_DIR): the CLI to
# measure, a free port, and waiting for an app's port. Benchmarks may connect to the app to
# see it serve; `cargo wasock run` itself never does.

# bench_cli: sets CLI to $BENCH_CLI (an already built cargo-wasock, e.g. a copy of an earlier
# build), else builds the workspace's release CLI into TARGET_DIR.
bench_cli() {
    if [ -n "${BENCH_CLI:-}" ]; then
        CLI="$BENCH_CLI"
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
