#!/usr/bin/env bash
# The app as an OCI image layout, in the format `spin registry push` sends to a registry (README,
# "The OCI artifact"): oci-layout, index.json (tagged) and blobs/sha256/ with the manifest, the
# image config, one layer per component wasm and the locked app. No registry is contacted; copy the
# layout to one with `oras cp --from-oci-layout target/oci:T REGISTRY/wangge:T` (or skopeo/crane).
#
#   scripts/package.sh [--out DIR] [--tag T]     (defaults: target/oci, the app's version)
#
# Deterministic: the same spin.toml and wasm give the same digests. The `created` annotation is
# SOURCE_DATE_EPOCH when set, else the time of the last commit.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/oci
tag=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (usage: scripts/package.sh [--out DIR] [--tag T])" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*" >&2; }

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  step "adding the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
fi

# cargo rebuilds only what changed: a fresh build is a no-op.
step "building the five components for wasm32-wasip2 (release)"
cargo build --release --target wasm32-wasip2 \
  -p intake -p grid-lookup -p case-routing -p assessment -p notification

step "building the packager (crates/wangge-oci)"
cargo build --release -p wangge-oci --bin wangge-package

created=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}
args=(--manifest spin.toml --out "$out")
[ -n "$tag" ] && args+=(--tag "$tag")
[ -n "$created" ] && args+=(--created "$created")

step "writing the OCI layout to $out"
target/release/wangge-package "${args[@]}"
target/release/wangge-package --verify "$out"
