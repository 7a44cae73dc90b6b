#!/usr/bin/env bash
# What a no-op `cargo wasock build --release --aot` costs next to cargo's own no-op build
# (`cargo build --release --target wasm32-wasip1`) of the same project: scaffolds the poll
# template with `cargo wasock new`, builds it once (warm), then times both with nothing
# changed and prints the means and their ratio. Issue 7 §8's target: ratio <= 1.3.
# A measurement, not a test: it asserts nothing about speed.
#
# usage: scripts/bench-noop-build.sh [RUNS]   (default 30)
#        WASOCK_BIN=/path/to/cargo-wasock scripts/bench-noop-build.sh   (a prebuilt CLI)
# needs: cargo with the wasm32-wasip1 target, python3; hyperfine when installed
#        (apt-get install hyperfine), else a plain timing loop.
set -euo pipefail

runs="${1:-30}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/wasock-bench-noop}"

# The CLI as users install it: release, default features (the embedded engine, which
# precompiles for --aot when WasmEdge is absent).
if [ -z "${WASOCK_BIN:-}" ]; then
  echo "building cargo-wasock (release)..." >&2
  cargo build --quiet --release -p cargo-wasock --manifest-path "$repo/Cargo.toml"
  WASOCK_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/cargo-wasock"
fi

# Timed as users run it: `cargo wasock` (cargo finds cargo-wasock on PATH and sets $CARGO).
export PATH="$(dirname "$WASOCK_BIN"):$PATH"

app="$work/noop-app"
rm -rf "$app"
mkdir -p "$work"
cargo wasock --quiet new noop-app --template poll --path "$app"
export CARGO_TARGET_DIR="$work/target"
manifest="$app/Cargo.toml"
ours="cargo wasock build --release --aot --manifest-path $manifest"
cargos="cargo build --release --target wasm32-wasip1 --manifest-path $manifest"

echo "warming up (first build and AOT)..." >&2
$ours >/dev/null 2>&1
$cargos >/dev/null 2>&1

if command -v hyperfine >/dev/null; then
  hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/noop.json" \
    --command-name "cargo no-op" "$cargos" \
    --command-name "cargo wasock no-op (--aot)" "$ours"
  python3 - "$work/noop.json" <<'EOF'
import json, sys
cargo, ours = (r["mean"] for r in json.load(open(sys.argv[1]))["results"])
print(f"no-op build: cargo {cargo*1000:.1f} ms, cargo wasock --aot {ours*1000:.1f} ms, ratio {ours/cargo:.2f} (target <= 1.3)")
EOF
else
  mean_ms() {
    local start end
    for _ in 1 2 3; do $1 >/dev/null 2>&1; done
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do $1 >/dev/null 2>&1; done
    end=$(date +%s%N)
    echo $(( (end - start) / runs / 1000 ))
  }
  cargo_us=$(mean_ms "$cargos")
  ours_us=$(mean_ms "$ours")
  python3 -c "c, o = $cargo_us / 1000, $ours_us / 1000; print(f'no-op build: cargo {c:.1f} ms, cargo wasock --aot {o:.1f} ms, ratio {o/c:.2f} (target <= 1.3)')"
fi
