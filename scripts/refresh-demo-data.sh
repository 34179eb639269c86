#!/usr/bin/env bash
# Refresh data/ (the demo city) from ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
src=../shared/data
[ -d "$src/nantong" ] || { echo "no $src/nantong here" >&2; exit 1; }
mkdir -p data/nantong
for f in "$src"/nantong/*; do
  gzip -9 -n -c "$f" > "data/nantong/$(basename "$f").gz"
done
cp "$src/categories.json" "$src/calendar-2026.json" data/
chmod 644 data/*.json data/nantong/*
echo "data/ refreshed from $src"
