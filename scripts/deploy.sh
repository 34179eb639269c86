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
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p wangge-deploy
WANGGE_ROOT="$root" exec "$root/target/release/wangge-deploy" "$@"
