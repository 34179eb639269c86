#!/usr/bin/env bash
# Everything a fresh machine needs to build and run Wangge: the wasm target, the console's
# front end (npm), the six components (plus the host's probe component) and the host.
# Idempotent: npm builds the console only when its sources changed, cargo only what changed.
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

# The command-centre console's front end (console/, bundled by esbuild into console/dist),
# which the console component embeds: built when dist is missing or older than a source.
console_stale() {
  [ ! -f console/dist/index.html ] && return 0
  [ -n "$(find console/src console/package.json console/package-lock.json console/build.mjs \
    -newer console/dist/index.html -print -quit)" ]
}
if console_stale; then
  if ! command -v npm >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    step "installing nodejs and npm (Debian packages) for the console's build"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  fi
  if ! command -v npm >/dev/null; then
    echo "npm is not installed: install Node.js 18 or newer (apt-get install nodejs npm) to build the console" >&2
    exit 1
  fi
  step "building the console's front end (npm ci, esbuild)"
  if [ ! -d console/node_modules ] || [ console/package-lock.json -nt console/node_modules/.package-lock.json ]; then
    npm --prefix console ci --no-audit --no-fund --loglevel=error
  fi
  npm --prefix console run --silent build
fi

step "building the six components for wasm32-wasip2"
cargo build --release --target wasm32-wasip2 \
  -p intake -p grid-lookup -p case-routing -p assessment -p notification -p console -p wangge-probe

# The host, with the test crates in the same build: one feature resolution, so that
# `cargo test` afterwards reuses these artifacts instead of building wasmtime twice.
step "building the host (tests/host) and the test tools"
cargo build --release
