#!/usr/bin/env bash
# Build a synthetic city's grid-lookup database for benchmarks (default: 1,000,000 grids
# of about 50 vertices). Usage: scripts/gen-city.sh [--grids N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p wangge-e2e --bin wangge-gen-city
exec target/release/wangge-gen-city "$@"
