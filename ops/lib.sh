# Shared helpers for the ops/ scripts. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DUALHOOK_SQL_DIR="${DUALHOOK_SQL_DIR:-$ROOT/sql}"

# Bold only on a terminal, and never when NO_COLOR is set (no-color.org).
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
else
  say() { printf '==> %s\n' "$*" >&2; }
fi
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# True when something accepts connections on 127.0.0.1:PORT.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first loopback port from $1 up that nothing listens on, so a second checkout's scripts
# run beside the first one's.
first_free_port() {
  local p="$1"
  while port_taken "$p"; do p=$((p + 1)); done
  echo "$p"
}

# The PostgreSQL server binaries Debian installs (highest version first).
pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  die "no PostgreSQL server found; run ops/setup"
}

# DUALHOOK_MASTER_KEYS for development and tests: a key ring made once in .data/master-keys
# (never committed). Production sets its own. Also DUALHOOK_ENV=development: these scripts run
# against the fake Meta's development values, which `serve` and `work` accept only then.
dev_master_keys() {
  export DUALHOOK_ENV="${DUALHOOK_ENV:-development}"
  if [ -z "${DUALHOOK_MASTER_KEYS:-}" ]; then
    local file="$ROOT/.data/master-keys"
    if [ ! -s "$file" ]; then
      mkdir -p "$ROOT/.data"
      (umask 077 && printf 'dev1:%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" > "$file")
    fi
    DUALHOOK_MASTER_KEYS="$(cat "$file")"
  fi
  export DUALHOOK_MASTER_KEYS
}

# Drops SwiftPM's per-file progress lines; warnings and errors stay. Always succeeds, so a
# pipeline's status (pipefail) is the build's own.
quiet_build() { sed -E '/^\[[0-9]+\/[0-9]+\] (Compiling|Emitting|Write|Linking|Planning|Wrapping|Merging|Copying)/d'; }

# Builds the dualhook binary (debug or release) and prints its path.
dualhook_build() {
  local config="${1:-debug}"
  # Benchmarks only: BENCH_BIN, a binary built before (to compare two builds in one sitting).
  case "$0" in
    */bench/*) if [ -n "${BENCH_BIN:-}" ]; then [ -x "$BENCH_BIN" ] || die "BENCH_BIN $BENCH_BIN is not an executable"; echo "$BENCH_BIN"; return; fi ;;
  esac
  say "swift build -c $config"
  (cd "$ROOT" && swift build -c "$config" --product dualhook 2>&1 | quiet_build >&2) || die "build failed"
  echo "$ROOT/.build/$config/dualhook"
}
