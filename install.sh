#!/usr/bin/env bash
# Sets up cargo-wasock on a machine that has a Rust toolchain: adds the WASI target,
# installs the `cargo-wasock` binary from this checkout, and checks the result.
# Everything comes from crates.io, and from apt for JavaScript apps' C toolchain.
#
# usage: ./install.sh [--no-embedded] [--debug] [--no-js] [-- CARGO_INSTALL_ARGS...]
#   --no-embedded  build the CLI without the embedded engine (WasmEdge must then be installed)
#   --debug        install a debug build (faster to compile, slower engine)
#   --no-js        skip the C toolchain JavaScript apps need (clang, wasi-libc; apt only)
#   -- ARGS        passed on to `cargo install` (e.g. `-- --timings`)
# The binary goes where `cargo install` puts it: $CARGO_INSTALL_ROOT/bin if that is set,
# else $CARGO_HOME/bin (~/.cargo/bin); the build happens in $CARGO_TARGET_DIR if set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
install_flags=(--locked)
# The workspace's `install-release` profile (Cargo.toml): release, with the crates only the
# CLI's commands use optimized less; `--debug` replaces it.
profile_flags=(--profile install-release)
with_js=true
cargo_args=()
while [ $# -gt 0 ]; do
  arg="$1"; shift
  case "$arg" in
    --) cargo_args=("$@"); break ;;
    --no-embedded) install_flags+=(--no-default-features) ;;
    --debug) profile_flags=(--debug) ;;
    --no-js) with_js=false ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# JavaScript apps (`cargo wasock run --js`) run on a QuickJS runtime the CLI builds for wasm
# once; QuickJS is C, compiled with clang against wasi-libc. Debian/Ubuntu package them.
js_packages="clang-19 lld-19 llvm-19 wasi-libc"
js_toolchain_present() {
  command -v clang-19 >/dev/null 2>&1 && command -v llvm-ar-19 >/dev/null 2>&1 &&
    [ -f /usr/include/wasm32-wasi/stdlib.h ] && [ -f /usr/lib/wasm32-wasi/libc.a ]
}
if [ "$with_js" = true ]; then
  if js_toolchain_present; then
    step "C toolchain for JavaScript apps is installed ($js_packages)"
  elif command -v apt-get >/dev/null 2>&1; then
    as_root=()
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && as_root=(sudo)
    step "installing the C toolchain for JavaScript apps: ${as_root[*]} apt-get install -y $js_packages"
    if ! { "${as_root[@]}" apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq $js_packages >/dev/null; }; then
      step "note: could not install $js_packages; Rust apps are unaffected, JavaScript apps need them (\`cargo wasock doctor\` shows the fix)"
    fi
  else
    step "note: JavaScript apps need clang, llvm-ar and wasi-libc; install them with your package manager (\`cargo wasock doctor\` checks)"
  fi
fi

install_flags+=("${profile_flags[@]}" "${cargo_args[@]}")
step "installing cargo-wasock: cargo install --path cli ${install_flags[*]}"
cargo install --path "$here/cli" "${install_flags[@]}"

if [ -n "${CARGO_INSTALL_ROOT:-}" ]; then cargo_bin="$CARGO_INSTALL_ROOT/bin"; else cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"; fi
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
