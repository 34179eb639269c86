#!/usr/bin/env bash
# Benchmarks on our host, each figure beside the trivial-component baseline of the
# same run. Usage: scripts/bench.sh [--seconds N] [--clients N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null 2>&1 || scripts/setup.sh
cargo build --release -p wangge-e2e --bin wangge-bench
exec target/release/wangge-bench "$@"
