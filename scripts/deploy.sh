#!/usr/bin/env bash
# Writes Wangge's Kubernetes (SpinKube) manifests: README, "Deploying to Kubernetes".
#
#   scripts/deploy.sh city            --registry R --tag T [--out DIR]   # DIR/city
#   scripts/deploy.sh district CODE   --registry R --tag T [--out DIR]   # DIR/district-CODE
#   scripts/deploy.sh all             --registry R --tag T [--out DIR]   # both, every district
#   scripts/deploy.sh check DIR       # render DIR without kustomize and run the checks
#
# DIR defaults to the repository's deploy/. Options: --namespace NS (wangge), --domain D
# (wangge.example), --data DIR (the repository's data/nantong). Each part is a Kustomize base
# (rewritten every run) and overlays/production (written once, yours to patch). Nothing here
# reaches a cluster.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# WANGGE_DEPLOY_BIN: a wangge-deploy already built (the tests pass theirs, so that no build
# replaces the binary under tests that are running it).
bin="${WANGGE_DEPLOY_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p wangge-deploy
  bin="$root/target/release/wangge-deploy"
fi
WANGGE_ROOT="$root" exec "$bin" "$@"
