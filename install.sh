#!/usr/bin/env bash
# Sets up cargo-wasock on a machine that has a Rust toolchain: adds the WASI target,
# installs the `cargo-wasock` binary from this checkout, and checks the result.
# Everything comes from crates.io; nothing else is downloaded.
#
# usage: ./install.sh [--no-embedded] [--debug]
#   --no-embedded  build the CLI without the embedded engine (WasmEdge must then be installed)
#   --debug        install a debug build (faster to compile, slower engine)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
install_flags=(--locked)
for arg in "$@"; do
  case "$arg" in
    --no-embedded) install_flags+=(--no-default-features) ;;
    --debug) install_flags+=(--debug) ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option \`$arg\`" >&2
       echo "help: run \`./install.sh --help\` to see the options" >&2
       exit 2 ;;
  esac
done

step() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$1" >&2; [ $# -gt 1 ] && printf 'help: %s\n' "$2" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 ||
  fail "cargo was not found on PATH" "install Rust with rustup (https://rustup.rs), then run ./install.sh again"

# Rust 1.78 renamed the WASI preview 1 target; pick the name this toolchain knows.
rustc_minor="$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')"
if [ "$rustc_minor" -ge 78 ] 2>/dev/null; then target=wasm32-wasip1; else target=wasm32-wasi; fi

if command -v rustup >/dev/null 2>&1; then
  if rustup target list --installed | grep -qx "$target"; then
    step "WASI target $target is installed"
  else
    step "adding the WASI target: rustup target add $target"
    rustup target add "$target"
  fi
else
  sysroot="$(rustc --print sysroot)"
  [ -d "$sysroot/lib/rustlib/$target" ] ||
    fail "the $target target is missing and rustup is not installed" \
         "install the $target standard library for your toolchain, or install rustup and run \`rustup target add $target\`"
fi

step "installing cargo-wasock: cargo install --path cli ${install_flags[*]}"
cargo install --path "$here/cli" "${install_flags[@]}"

cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
  *":$cargo_bin:"*) ;;
  *) export PATH="$cargo_bin:$PATH"
     step "note: $cargo_bin is not on your PATH; add it (e.g. in ~/.profile) to use \`cargo wasock\`" ;;
esac

step "checking: cargo wasock --version"
cargo wasock --version
step "checking: cargo wasock doctor"
cargo wasock doctor
step "cargo-wasock is ready: try \`cargo wasock new hello --template poll\`"
