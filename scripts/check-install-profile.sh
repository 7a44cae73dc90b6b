#!/usr/bin/env bash
# Checks that the `install-release` profile (Cargo.toml) lowers the opt-level of no crate the
# embedded engine links: those run on the engine's hot path and must stay at opt-level 3
# (issue 12 §1; ARCHITECTURE.md, "The install profile"). Exits 1 naming any such crate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

lowered="$(sed -n '/^\[profile\.install-release\.package\]/,/^\[/p' Cargo.toml |
  sed -n 's/^\([A-Za-z0-9_-]*\) *= *{.*opt-level.*/\1/p' | grep -vx 'cargo-wasock' | sort -u)"
[ -n "$lowered" ] || { echo "error: no [profile.install-release.package] entries found in Cargo.toml" >&2; exit 1; }
engine="$(cargo tree --locked -p wasock-engine -e normal --prefix none --format '{p}' | awk '{ print $1 }' | sort -u)"
[ -n "$engine" ] || { echo "error: \`cargo tree -p wasock-engine\` listed nothing" >&2; exit 1; }
both="$(comm -12 <(printf '%s\n' "$lowered") <(printf '%s\n' "$engine"))"
if [ -n "$both" ]; then
  echo "error: the install-release profile lowers the opt-level of crates the engine links: $(echo $both)" >&2
  echo "help: remove them from [profile.install-release.package] in Cargo.toml (the engine's crates stay at opt-level 3)" >&2
  exit 1
fi
echo "install-release profile: $(echo "$lowered" | wc -l) CLI-only crates at a lower opt-level, none of the engine's $(echo "$engine" | wc -l)"
