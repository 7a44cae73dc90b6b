#!/usr/bin/env bash
# Instructions per request on wasock-js's serving paths, natively and without the network:
# the `js-http` template's fetch handler and the `js-node` template's http.createServer app,
# each dispatched N times in a loop (scripts/js-path/*.mjs) under valgrind's callgrind. The
# figure is (instructions at N=COUNT − instructions at N=1) / (COUNT − 1): the JavaScript a
# request costs (prelude + app) and the host calls it makes, not the socket work. Exact and
# repeatable, unlike wrk on a shared machine: use it to check a change to the preludes
# (ARCHITECTURE.md, "Every request runs this JavaScript").
#
# Usage: scripts/bench-js-path.sh [COUNT]   (default 3000)
# Needs: cargo, a C compiler, valgrind (Debian: apt-get install valgrind).
# Uses CARGO_TARGET_DIR when set. A measurement, not a test.
set -euo pipefail

COUNT="${1:-3000}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
source "$REPO/scripts/lib.sh"
bench_workdir
need valgrind

echo "building wasock-js natively (release)..." >&2
(cd "$REPO/js-runtime" && cargo build --quiet --release --locked --target-dir "$TARGET_DIR/js-path")
RUNTIME="$TARGET_DIR/js-path/release/wasock-js"

# The templates' main.js with their placeholders filled.
for template in js-http js-node; do
    sed -e 's/{{name}}/app/g; s/{{port}}/8080/g' "$REPO/templates/$template/files/src/main.js.hbs" >"$WORK/$template.mjs"
done
cp "$REPO/scripts/js-path/"*.mjs "$WORK/"

# instructions DRIVER APP N: callgrind's total for one run.
instructions() {
    N="$3" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$RUNTIME" "$WORK/$1" "$WORK/$2" 2>&1 >/dev/null |
        awk '/Collected/ { print $NF }'
}

per_request() {
    local many one
    many="$(instructions "$1" "$2" "$COUNT")"
    one="$(instructions "$1" "$2" 1)"
    echo $(( (many - one) / (COUNT - 1) ))
}

echo "counting (callgrind, N=$COUNT and N=1)..." >&2
FETCH="$(per_request fetch.mjs js-http.mjs)"
NODE="$(per_request node.mjs js-node.mjs)"
echo
echo "instructions per request (native, no network; $COUNT requests):"
printf "  %-40s %10s\n" "fetch handler (js-http template)" "$FETCH"
printf "  %-40s %10s\n" "Node http.createServer (js-node template)" "$NODE"
