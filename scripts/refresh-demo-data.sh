#!/usr/bin/env bash
# Maintainer tool: refresh data/ (the demo city) from a source directory of the uncompressed
# dataset, and rewrite the checksums the tests hold it to (tests/e2e/fixtures/demo-data.sha256).
#
#   scripts/refresh-demo-data.sh SOURCE_DIR
#
# SOURCE_DIR holds categories.json, calendar-2026.json and nantong/ (regions.csv, grids.geojson,
# staff.csv, addresses.csv, departments.csv, districts.geojson). Nothing here needs it: data/ is
# the project's copy, and a fresh clone runs and tests from data/ alone.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SOURCE_DIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
[ -d "$src/nantong" ] || { echo "no $src/nantong" >&2; exit 1; }
for f in categories.json calendar-2026.json; do
  [ -f "$src/$f" ] || { echo "no $src/$f" >&2; exit 1; }
done
mkdir -p data/nantong
for f in "$src"/nantong/*; do
  gzip -9 -n -c "$f" > "data/nantong/$(basename "$f").gz"
done
cp "$src/categories.json" "$src/calendar-2026.json" data/
chmod 644 data/*.json data/nantong/*

fixture=tests/e2e/fixtures/demo-data.sha256
{
  echo "# SHA-256 of the demo city in data/, as committed. Written by scripts/refresh-demo-data.sh;"
  echo "# checked by tests/e2e/tests/docs.rs. The nantong/*.gz files are summed decompressed, so"
  echo "# \`zcat data/nantong/X.gz | sha256sum\` reproduces a line."
  for f in data/calendar-2026.json data/categories.json; do
    echo "$(sha256sum < "$f" | cut -d' ' -f1)  ${f#data/}"
  done
  for f in data/nantong/*.gz; do
    name=${f#data/}
    echo "$(gzip -dc "$f" | sha256sum | cut -d' ' -f1)  ${name%.gz}"
  done
} > "$fixture"
echo "data/ refreshed from $src; $fixture rewritten."
echo "Check the counts in tests/e2e/tests/docs.rs and the README, then run: cargo test --release -p wangge-e2e --test docs"
