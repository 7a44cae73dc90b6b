#!/usr/bin/env bash
# What a no-op `cargo wasock build --release --aot` costs next to cargo's own no-op build
# (`cargo build --release --target wasm32-wasip1`) of the same project: scaffolds the poll
# template with `cargo wasock new`, builds it once (warm), then times both with nothing
# changed, in interleaved rounds, and prints the medians and the median of each round's
# ratio, wall and CPU time. Issue 7 §8's target: ratio <= 1.3. Also timed: cargo-wasock
# started directly with $CARGO set as cargo sets it (our own cost, without cargo's
# subcommand dispatch) and `cargo wasock --version` (that dispatch alone). On a busy
# machine CPU time (user + system) is the steadier figure.
# A measurement, not a test: it asserts nothing about speed.
#
# usage: scripts/bench-noop-build.sh [RUNS]   (default 30)
#        BENCH_CLI=/path/to/cargo-wasock scripts/bench-noop-build.sh   (a prebuilt CLI)
# needs: cargo with the wasm32-wasip1 target, python3.
set -euo pipefail

runs="${1:-30}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/wasock-bench-noop}"

# The CLI as users install it: release, default features (the embedded engine, which
# precompiles for --aot when WasmEdge is absent).
REPO="$repo" TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
source "$repo/scripts/lib.sh"
bench_cli
WASOCK_BIN="$CLI"

# Timed as users run it: `cargo wasock` (cargo finds cargo-wasock on PATH and sets $CARGO).
export PATH="$(dirname "$WASOCK_BIN"):$PATH"

app="$work/noop-app"
rm -rf "$app"
mkdir -p "$work"
cargo wasock --quiet new noop-app --template poll --path "$app"
export CARGO_TARGET_DIR="$work/target"
manifest="$app/Cargo.toml"
cargos="cargo build --release --target wasm32-wasip1 --manifest-path $manifest"
ours="cargo wasock build --release --aot --manifest-path $manifest"
# As cargo starts it, minus the dispatch: $CARGO names the toolchain's cargo, and rustup's
# proxy has set RUSTUP_TOOLCHAIN and RUSTUP_HOME. Those two must match what the other
# commands run with: cargo keys its cached `rustc -vV` (target/.rustc_info.json) on them,
# and a command run without them would make the next one ask rustc again.
toolchain_cargo="$(rustup which cargo 2>/dev/null || command -v cargo)"
rustup_env=""
if command -v rustup >/dev/null; then
  rustup_env="RUSTUP_TOOLCHAIN=$(rustup show active-toolchain | cut -d' ' -f1) RUSTUP_HOME=$(rustup show home)"
fi
direct="env CARGO=$toolchain_cargo $rustup_env $WASOCK_BIN build --release --aot --manifest-path $manifest"
dispatch="cargo wasock --version"

echo "warming up (first build and AOT)..." >&2
$ours >/dev/null 2>&1
$cargos >/dev/null 2>&1

# Interleaved rounds: each round runs every command once, in a rotated order, so a drift in
# the machine's load hits all of them alike; the ratio reported is the median of each
# round's own ratio (paired), next to the medians of the times themselves.
python3 - "$runs" "$cargos" "$ours" "$direct" "$dispatch" <<'PY'
import os, resource, shlex, statistics, subprocess, sys, time

runs = int(sys.argv[1])
names = [
    "cargo build (no-op)",
    "cargo wasock build --aot (no-op)",
    "cargo-wasock build --aot (no-op, started directly)",
    "cargo wasock --version (cargo's subcommand dispatch alone)",
]
commands = [shlex.split(command) for command in sys.argv[2:6]]

def once(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if status != 0:
        sys.exit(f"error: `{shlex.join(argv)}` exited with {status}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000

for argv in commands:  # warm-up
    for _ in range(3):
        once(argv)
wall = [[] for _ in commands]
cpu = [[] for _ in commands]
for round_ in range(runs):
    order = list(range(len(commands)))
    order = order[round_ % len(order):] + order[:round_ % len(order)]
    for index in order:
        w, c = once(commands[index])
        wall[index].append(w)
        cpu[index].append(c)

median = statistics.median
def spread(values):
    values = sorted(values)
    return values[len(values) // 10], values[len(values) - 1 - len(values) // 10]
print(f"{runs} interleaved rounds; load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
for index, name in enumerate(names):
    low, high = spread(wall[index])
    line = (f"{name}: median {median(wall[index]):.1f} ms wall (p10 {low:.1f}, p90 {high:.1f}),"
            f" {median(cpu[index]):.1f} ms CPU")
    if index > 0:
        paired = median(w / c for w, c in zip(wall[index], wall[0]))
        paired_cpu = median(w / c for w, c in zip(cpu[index], cpu[0]))
        line += f"; ratio {paired:.2f} wall, {paired_cpu:.2f} CPU (median of paired rounds)"
    print(line)
print("target: cargo wasock build --aot (no-op) <= 1.3 x cargo build (no-op)")
PY
