#!/usr/bin/env bash
# A month in Nantong (issue 15): the five functions as one system on a simulated clock,
# at the city's volume, with people acting on the cases and faults injected; prints the
# ledger and exits 1 if anything was lost, doubled, misdated or misscored.
#
# Usage: scripts/simulate.sh [--days 30] [--scale 1] [--start 2026-09-01] [--seed 1]
#                            [--workers 8] [--cluster] [--no-faults] [--out FILE]
# --cluster: the same month on PostgreSQL and Redis (private servers under target/),
# served by two replicas.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null 2>&1 || scripts/setup.sh
cargo build --release -p wangge-sim --bin wangge-sim
exec target/release/wangge-sim "$@"
