#!/usr/bin/env bash
# Benchmarks on our host, each figure beside the trivial-component baseline of the
# same run. Usage: scripts/bench.sh [--cluster] [--seconds N] [--clients N] [--only GROUP]
#
# --cluster: the cluster profile (each function on PostgreSQL, key-value on Redis), on a
# private PostgreSQL server with fsync on, so that commits are real, as SQLite's are.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--cluster" ]; then
  shift
  export WANGGE_PROFILE=cluster WANGGE_PG_SETTINGS="fsync=on,synchronous_commit=on"
fi
scripts/setup.sh >/dev/null 2>&1 || scripts/setup.sh
cargo build --release -p wangge-e2e --bin wangge-bench
# Each run's state starts fresh; earlier runs' databases (the benchmarks' are large) go.
rm -rf target/test-state
exec target/release/wangge-bench "$@"
