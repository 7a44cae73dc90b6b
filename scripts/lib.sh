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

# bench_poll_app [native|wasm] [CARGO ARGS...]: the `poll` template as `$CLI new` makes it,
# in $WORK/benchapp (APP), built in release for wasm32-wasip1 into $TARGET_DIR/bench-apps
# (WASM) and, with `native`, for the host too (NATIVE); CARGO ARGS (`--features tls`) go to
# both builds. Needs CLI (bench_cli) and WORK (bench_workdir).
bench_poll_app() {
    local native="${1:-}"
    [ $# -gt 0 ] && shift
    echo "generating and building the poll app (release${*:+, $*})..." >&2
    (cd "$WORK" && "$CLI" new benchapp --template poll >/dev/null 2>&1)
    APP="$WORK/benchapp"
    local app_target="$TARGET_DIR/bench-apps"
    (cd "$APP" && cargo build --quiet --release --target wasm32-wasip1 --target-dir "$app_target" "$@")
    WASM="$app_target/wasm32-wasip1/release/benchapp.wasm"
    if [ "$native" = native ]; then
        (cd "$APP" && cargo build --quiet --release --target-dir "$app_target" "$@")
        NATIVE="$app_target/release/benchapp"
    fi
}

# find_wasmedge: sets WASMEDGE to the WasmEdge binary the runtime comparisons use, or to ""
# when there is none: $WASMEDGE_DIR/bin/wasmedge (as cargo-wasock reads that variable), else
# wasmedge on PATH, else ~/.wasmedge/bin/wasmedge, else ../shared/wasmedge beside the
# repository (the copy the tests use; its setup.sh installs what it needs).
find_wasmedge() {
    WASMEDGE=""
    local candidate
    for candidate in ${WASMEDGE_DIR:+"$WASMEDGE_DIR/bin/wasmedge"} "$(command -v wasmedge || true)" \
        "$HOME/.wasmedge/bin/wasmedge" "$REPO/../shared/wasmedge/bin/wasmedge"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            WASMEDGE="$candidate"
            echo "WasmEdge: $WASMEDGE ($("$WASMEDGE" --version | head -1))" >&2
            return 0
        fi
    done
    echo "WasmEdge: not found (set WASMEDGE_DIR to compare with it)" >&2
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID [SECONDS]: until 127.0.0.1:PORT accepts (up to SECONDS, default 120);
# fails when PID exits first.
wait_port() {
    local port="$1" pid="$2" seconds="${3:-120}"
    for _ in $(seq 1 $((seconds * 100))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { echo "error: process $pid exited before listening on $port" >&2; return 1; }
        sleep 0.01
    done
    echo "error: port $port never opened" >&2
    return 1
}

# median: the median of the numbers on stdin, one per line (0 when there are none).
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
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

# need TOOL[:PACKAGE]...: exits with an error naming the apt package (PACKAGE, else TOOL)
# for the first TOOL not on PATH.
need() {
    local spec tool
    for spec in "$@"; do
        tool="${spec%%:*}"
        command -v "$tool" >/dev/null || { echo "error: $tool is not installed; help: apt-get install ${spec#*:}" >&2; exit 1; }
    done
}

# wrk_figures: reads the output of `wrk --latency` on stdin and prints one line,
# "<req/s> <p99 in ms> <socket errors> <non-2xx answers>": req/s 0 when wrk printed none,
# p99 converted from wrk's us/ms/s/m units, socket errors summed (connect, read, write,
# timeout; 1 when wrk could not run at all), non-2xx/3xx answers 0 when wrk reported none.
wrk_figures() {
    awk '
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            value = $2
            if (value ~ /us$/) { sub(/us$/, "", value); p99 = value / 1000 }
            else if (value ~ /ms$/) { sub(/ms$/, "", value); p99 = value }
            else if (value ~ /m$/) { sub(/m$/, "", value); p99 = value * 60000 }
            else if (value ~ /s$/) { sub(/s$/, "", value); p99 = value * 1000 }
        }
        /Socket errors:/ {
            # "Socket errors: connect 0, read 1, write 0, timeout 2"
            gsub(/,/, "")
            errors = $4 + $6 + $8 + $10
        }
        /Non-2xx or 3xx responses:/ { non2xx = $5 }
        /unable to connect|error/ && !/Socket errors/ { failed = 1 }
        END { printf "%s %.3f %d %d\n", (rps == "" ? 0 : rps), p99, errors + (failed && rps == "" ? 1 : 0), non2xx }'
}

# wrk_threads CONNS: wrk's -t for CONNS connections (2, as there are 2 cores here; wrk
# refuses more threads than connections).
wrk_threads() {
    if [ "$1" -lt 2 ]; then echo 1; else echo 2; fi
}
