#!/usr/bin/env bash
# All tests: formatting and lints, native unit tests of crates/, the wasm build, the
# host's own tests against its probe component, and end-to-end tests of the suite;
# then the stores' tests and the whole end-to-end suite again on the cluster profile
# (private PostgreSQL and Redis servers, started by the tests under target/).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# An off-the-shelf Open311 client (Python's georeport) that the Open311 test drives.
if [ ! -f target/py-open311/georeport/__init__.py ]; then
  printf '\n==> installing the Open311 client the tests use (georeport, PyPI)\n' >&2
  python3 -m pip install --quiet --disable-pip-version-check --target target/py-open311 'georeport==0.3.1'
fi
# And one that also creates requests: `open311` on npm (see tests/e2e/open311-node/README.md).
if [ ! -f target/node-open311/node_modules/open311/open311.js ]; then
  printf '\n==> installing the Node Open311 client the tests use (open311, npm)\n' >&2
  rm -rf target/node-open311
  cp -r tests/e2e/open311-node target/node-open311
  (cd target/node-open311 && npm install --no-audit --no-fund --silent)
fi
# The Kubernetes OpenAPI schemas the deployment test validates the manifests against
# (kubernetes-validate ships them; crates/wangge-deploy/tests/deploy.rs).
if [ ! -f target/py-kubernetes-validate/kubernetes_validate/__init__.py ]; then
  printf '\n==> installing the Kubernetes manifest validator the tests use (kubernetes-validate, PyPI)\n' >&2
  python3 -m pip install --quiet --disable-pip-version-check --target target/py-kubernetes-validate 'kubernetes-validate==1.37.0'
fi

printf '\n==> cargo fmt --check\n' >&2
cargo fmt --all --check

printf '\n==> cargo clippy (native and wasm), warnings are errors\n' >&2
cargo clippy --release --all-targets -- -D warnings
cargo clippy --release --target wasm32-wasip2 \
  -p intake -p grid-lookup -p case-routing -p assessment -p notification -p console -p wangge-probe -- -D warnings

printf '\n==> tests (crates/, tests/host, tests/e2e)\n' >&2
# Each run's state starts fresh; earlier runs' databases (the benchmarks' are large) go.
rm -rf target/test-state
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --no-fail-fast 2>&1 | tee "$log" || status=1

printf '\n==> the stores and the end-to-end suite on the cluster profile (PostgreSQL, Redis)\n' >&2
WANGGE_TEST_ENGINE=postgres WANGGE_PROFILE=cluster cargo test --release --no-fail-fast \
  -p wangge-cases -p wangge-registry -p wangge-intake -p wangge-notify -p wangge-assess -p wangge-e2e -p wangge-sim 2>&1 \
  | tee -a "$log" || status=1

# The command-centre console in a real browser (Debian's Chromium, installed when missing):
# tests/console against the suite with the demo city; its `test result:` line counts below.
printf '\n==> the console in Chromium (scripts/console-test.sh)\n' >&2
WANGGE_SETUP_DONE=1 scripts/console-test.sh 2>&1 | tee -a "$log" || status=1

# One closing line for the whole run, summed over every test binary and the browser tests.
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "\ntotal: %d passed, %d failed, %d skipped (both profiles)\n", p, f, s }' "$log"
exit $status
