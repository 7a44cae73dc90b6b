#!/usr/bin/env bash
# What a no-op `cargo wasock build --release --aot` costs next to cargo's own no-op build
# (`cargo build --release --target wasm32-wasip1`) of the same project: scaffolds the poll
# template with `cargo wasock new`, builds it once (warm), then times both with nothing
# changed and prints the means and their ratios, wall and CPU time. Issue 7 §8's target:
# ratio <= 1.3. Also timed: cargo-wasock started directly with $CARGO set as cargo sets it
# (our own cost, without cargo's subcommand dispatch) and `cargo wasock --version` (that
# dispatch alone). On a busy
# machine CPU time (user + system) is the steadier figure.
# A measurement, not a test: it asserts nothing about speed.
#
# usage: scripts/bench-noop-build.sh [RUNS]   (default 30)
#        BENCH_CLI=/path/to/cargo-wasock scripts/bench-noop-build.sh   (a prebuilt CLI)
# needs: cargo with the wasm32-wasip1 target, python3; hyperfine when installed
#        (apt-get install hyperfine), else a plain timing loop (wall time only).
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
# As cargo starts it ($CARGO names the toolchain's cargo), minus the dispatch.
toolchain_cargo="$(rustup which cargo 2>/dev/null || command -v cargo)"
direct="env CARGO=$toolchain_cargo $WASOCK_BIN build --release --aot --manifest-path $manifest"
dispatch="cargo wasock --version"

echo "warming up (first build and AOT)..." >&2
$ours >/dev/null 2>&1
$cargos >/dev/null 2>&1

if command -v hyperfine >/dev/null; then
  hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/noop.json" \
    --command-name "cargo build (no-op)" "$cargos" \
    --command-name "cargo wasock build --aot (no-op)" "$ours" \
    --command-name "cargo-wasock build --aot (no-op, started directly)" "$direct" \
    --command-name "cargo wasock --version (cargo's subcommand dispatch alone)" "$dispatch"
  python3 - "$work/noop.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
cargo = results[0]
cpu = lambda result: result["user"] + result["system"]
print(f"cargo build (no-op): {cargo['mean']*1000:.1f} ms wall, {cpu(cargo)*1000:.1f} ms CPU")
for result in results[1:]:
    print(f"{result['command']}: {result['mean']*1000:.1f} ms wall, {cpu(result)*1000:.1f} ms CPU;"
          f" ratio {result['mean']/cargo['mean']:.2f} wall, {cpu(result)/cpu(cargo):.2f} CPU")
print("target: cargo wasock build --aot (no-op) <= 1.3 x cargo build (no-op)")
PY
else
  # Wall time only: a mean over RUNS runs after 3 warm-up runs.
  mean_us() {
    local start end
    for _ in 1 2 3; do $1 >/dev/null 2>&1; done
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do $1 >/dev/null 2>&1; done
    end=$(date +%s%N)
    echo $(( (end - start) / runs / 1000 ))
  }
  cargo_us=$(mean_us "$cargos")
  ours_us=$(mean_us "$ours")
  direct_us=$(mean_us "$direct")
  python3 -c "
c, o, d = $cargo_us / 1000, $ours_us / 1000, $direct_us / 1000
print(f'cargo build (no-op): {c:.1f} ms')
print(f'cargo wasock build --aot (no-op): {o:.1f} ms, ratio {o/c:.2f}')
print(f'cargo-wasock build --aot (no-op, started directly): {d:.1f} ms, ratio {d/c:.2f}')
print('target: cargo wasock build --aot (no-op) <= 1.3 x cargo build (no-op)')"
fi
