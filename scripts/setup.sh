#!/usr/bin/env bash
# Everything a fresh machine needs to build and run Wangge: the wasm target, the five
# components (plus the host's probe component) and the host. Idempotent: cargo rebuilds
# only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust (rustup) first" >&2
  exit 1
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  step "adding the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
fi

step "building the five components for wasm32-wasip2"
cargo build --release --target wasm32-wasip2 \
  -p intake -p grid-lookup -p case-routing -p assessment -p notification -p wangge-probe

# The host, with the test crates in the same build: one feature resolution, so that
# `cargo test` afterwards reuses these artifacts instead of building wasmtime twice.
step "building the host (tests/host) and the test tools"
cargo build --release
