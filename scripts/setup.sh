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

# PostgreSQL and Redis, from Debian's packages, when missing: the host's tests start
# private servers from these binaries (tests/servers). The packages'
# own services are not needed; the tests never use them.
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    step "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "warning: ${missing[*]} missing: install them (apt-get install ${missing[*]}) or the PostgreSQL/Redis tests fail" >&2
  fi
fi

step "building the five components for wasm32-wasip2"
cargo build --release --target wasm32-wasip2 \
  -p intake -p grid-lookup -p case-routing -p assessment -p notification -p wangge-probe

# The host, with the test crates in the same build: one feature resolution, so that
# `cargo test` afterwards reuses these artifacts instead of building wasmtime twice.
step "building the host (tests/host) and the test tools"
cargo build --release
