#!/usr/bin/env bash
# Times the README quick start from a fresh clone (issue 12 §1): `./install.sh`, then
# `cargo wasock new hello --template poll`, then `cargo wasock run --port P` until curl gets
# the first answer. Prints wall and CPU (user+sys) time of each phase, the total and the load
# average before and after each phase. It prints figures and asserts nothing.
#
# usage: scripts/bench-install.sh [--rev REV]... [--target-dir DIR] [--port P] [--keep] [--timings] [-- INSTALL_ARGS...]
#   --rev REV         commit of this checkout to clone and time (default HEAD; committed state
#                     only). Give it several times for a lever matrix: each lever is a commit
#                     (e.g. --rev main --rev install~1 --rev install), timed one after another.
#   --target-dir DIR  where `cargo install` builds (must be empty or absent; default: a temp dir).
#                     Emptied before each rev and removed at the end unless --keep.
#   --port P          port for the app (default 18090)
#   --keep            keep the temp dir (clone, install root, app, caches) and the target dir
#   --timings         pass `--timings` to cargo install (needs an install.sh that takes `-- ARGS`)
#                     and print the build's critical path and its longest units from the report
#   INSTALL_ARGS      passed to install.sh (e.g. --no-js)
#
# Isolation: the clone, CARGO_INSTALL_ROOT (never ~/.cargo/bin), XDG_CACHE_HOME (so the
# engine's compile cache and cargo-wasock's caches start empty) and the app's own target dir
# are fresh per rev. The crates.io cache in CARGO_HOME is shared (warm), as the issue specifies.
# For the critical path, build the same profile with `cargo build --timings` separately.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
revs=()
target_dir=""
port=18090
keep=false
timings=false
install_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) revs+=("$2"); shift 2 ;;
    --target-dir) target_dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --timings) timings=true; shift ;;
    --) shift; install_args=("$@"); break ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option \`$1\`" >&2
       echo "help: run \`scripts/bench-install.sh --help\` to see the options" >&2
       exit 2 ;;
  esac
done
[ ${#revs[@]} -gt 0 ] || revs=(HEAD)
[ "$timings" = false ] || install_args+=(-- --timings)
for tool in git curl /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: \`$tool\` is needed" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-install.XXXXXX")"
own_target=false
if [ -z "$target_dir" ]; then target_dir="$work/target"; own_target=true; fi
if [ -d "$target_dir" ] && [ -n "$(ls -A "$target_dir")" ]; then
  echo "error: target dir $target_dir is not empty" >&2
  echo "help: give an empty or absent --target-dir (this script empties it between revs)" >&2
  exit 1
fi
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -INT -- "-$server_pid" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
  if [ "$keep" = true ]; then
    echo "kept: $work and $target_dir" >&2
  else
    rm -rf "$work"
    [ "$own_target" = true ] || rm -rf "$target_dir"
  fi
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
# fmt SECONDS -> "12.3"
fmt() { awk -v s="$1" 'BEGIN { printf "%.1f", s }'; }

# critical_path REPORT: from cargo's timing report (its UNIT_DATA), the longest chain of units
# where each waits for the one that unlocked it (a dependency's metadata, or its whole build),
# with the units' durations as measured in that build (so inflated by the load), and the ten
# longest units. The quiet-machine estimate is max(CPU / cores, critical path), both of which
# scale with the load: read it as an estimate.
critical_path() {
  python3 - "$1" <<'PY'
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
by_i = {u["i"]: u for u in units}
blockers = {u["i"]: [] for u in units}
for u in units:
    # cargo 1.95 names them unblocked_*; older reports said unlocked_*
    for j in u.get("unblocked_units", u.get("unlocked_units", [])):
        blockers[j].append((u["i"], False))
    for j in u.get("unblocked_rmeta_units", u.get("unlocked_rmeta_units", [])):
        blockers[j].append((u["i"], True))
end, via = {}, {}
for u in sorted(units, key=lambda u: u["start"]):
    best, arg = 0.0, None
    for v, rmeta in blockers[u["i"]]:
        if v not in end:
            continue
        t = end[v] - by_i[v]["duration"] + (by_i[v].get("rmeta_time") or by_i[v]["duration"]) if rmeta else end[v]
        if t > best:
            best, arg = t, v
    end[u["i"]] = best + u["duration"]
    via[u["i"]] = arg
last = max(end, key=end.get)
chain = []
while last is not None:
    chain.append(by_i[last]); last = via[last]
label = lambda u: u["name"] + (f' ({u["target"].strip()})' if u.get("target", "").strip() else "")
print(f"critical path {end[chain[0]['i']]:.1f} s (sum of unit durations {sum(u['duration'] for u in units):.1f} s, {len(units)} units); the chain, last first:")
print("  " + " <- ".join(f'{label(u)} {u["duration"]:.1f}' for u in chain))
print("longest units: " + ", ".join(f'{label(u)} {u["duration"]:.1f}' for u in sorted(units, key=lambda u: -u["duration"])[:10]))
PY
}

report=()
for rev in "${revs[@]}"; do
  commit="$(git -C "$repo" rev-parse --verify "$rev^{commit}")"
  dir="$work/$(printf '%s' "$rev" | tr -c 'A-Za-z0-9._-' '_')"
  mkdir -p "$dir"
  rm -rf "$target_dir"; mkdir -p "$target_dir"
  git clone -q --no-checkout "$repo" "$dir/src"
  git -C "$dir/src" checkout -q "$commit"
  export CARGO_INSTALL_ROOT="$dir/root" XDG_CACHE_HOME="$dir/cache"
  export PATH="$CARGO_INSTALL_ROOT/bin:$PATH"
  echo "== $rev ($commit) in $dir" >&2

  # Phase 1: install.sh (cargo install of the CLI, in release unless INSTALL_ARGS say otherwise).
  load0="$(load)"; t0="$(now)"
  ( cd "$dir/src" && CARGO_TARGET_DIR="$target_dir" \
      /usr/bin/time -f '%U %S' -o "$dir/install.cpu" ./install.sh "${install_args[@]}" ) \
      >"$dir/install.log" 2>&1 || { tail -30 "$dir/install.log" >&2; echo "error: install.sh failed (log: $dir/install.log)" >&2; keep=true; exit 1; }
  t1="$(now)"; load1="$(load)"

  # Phase 2: cargo wasock new
  ( cd "$dir" && /usr/bin/time -f '%U %S' -o "$dir/new.cpu" cargo wasock new hello --template poll ) \
      >"$dir/new.log" 2>&1
  t2="$(now)"; load2="$(load)"

  # Phase 3: cargo wasock run until the first answer. The app builds into its own target dir,
  # as a user's would: CARGO_TARGET_DIR is not passed on.
  ( cd "$dir/hello" && exec setsid /usr/bin/time -f '%U %S' -o "$dir/run.cpu" \
      env -u CARGO_TARGET_DIR cargo wasock run --port "$port" ) >"$dir/run.log" 2>&1 &
  server_pid=$!
  answer=""
  while :; do
    if answer="$(curl -sS --max-time 5 -d "name=WasmEdge" "http://127.0.0.1:$port/" 2>/dev/null)"; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$dir/run.log" >&2; echo "error: cargo wasock run exited early" >&2; keep=true; exit 1; }
    sleep 0.2
  done
  t3="$(now)"; load3="$(load)"
  kill -INT -- "-$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""

  # time's last line is "USER SYS" (a line before it says how a stopped `run` ended).
  cpu() { tail -1 "$1" | awk '{ printf "%.1f", $1 + $2 }'; }
  c1="$(cpu "$dir/install.cpu")"; c2="$(cpu "$dir/new.cpu")"; c3="$(cpu "$dir/run.cpu")"
  w1="$(fmt "$(echo "$t1 - $t0" | bc)")"; w2="$(fmt "$(echo "$t2 - $t1" | bc)")"
  w3="$(fmt "$(echo "$t3 - $t2" | bc)")"; wt="$(fmt "$(echo "$t3 - $t0" | bc)")"
  ct="$(awk -v a="$c1" -v b="$c2" -v c="$c3" 'BEGIN { printf "%.1f", a + b + c }')"
  report+=("$(printf '%-14s %-10s %9s %9s %9s %9s | %9s %9s %9s %9s | %s → %s → %s → %s | answer: %s' \
    "$rev" "${commit:0:10}" "$w1" "$w2" "$w3" "$wt" "$c1" "$c2" "$c3" "$ct" \
    "$load0" "$load1" "$load2" "$load3" "$answer")")
  echo "cargo wasock is $(command -v cargo-wasock); the target dir held $(du -sh "$target_dir" | cut -f1)" >&2
  if [ "$timings" = true ] && [ -f "$target_dir/cargo-timings/cargo-timing.html" ]; then
    cp "$target_dir/cargo-timings/cargo-timing.html" "$dir/cargo-timing.html"
    critical_path "$dir/cargo-timing.html" > "$dir/critical-path.txt" 2>&1 || true
    cat "$dir/critical-path.txt" >&2
  fi
  printf '%s\n' "${report[-1]}" >&2
done

printf '%-14s %-10s %9s %9s %9s %9s | %9s %9s %9s %9s | %s\n' \
  rev commit "install" "new" "run" "total" "cpu:inst" "cpu:new" "cpu:run" "cpu:tot" \
  "load (1/5/15 min) before install → after install → after new → after first answer"
printf '%s\n' "${report[@]}"
echo "(seconds; wall, then CPU = user+sys of each phase's process tree; $(nproc) cores)"
