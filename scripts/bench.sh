#!/usr/bin/env bash
# Benchmarks on our host, each figure beside the trivial-component baseline of the
# same run. Usage: scripts/bench.sh [--seconds N] [--clients N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null 2>&1 || scripts/setup.sh
cargo build --release -p wangge-e2e --bin wangge-bench
# Each run's state starts fresh; earlier runs' databases (the benchmarks' are large) go.
rm -rf target/test-state
exec target/release/wangge-bench "$@"
