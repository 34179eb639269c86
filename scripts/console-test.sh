#!/usr/bin/env bash
# The command-centre console's browser tests (issue 17): tests/console, run with `node --test`
# in Debian's Chromium through puppeteer-core, against the whole suite with the demo city loaded.
#
# - Installs Debian's `chromium` (and a CJK font, so screenshots show the Chinese UI) with
#   apt-get when /usr/bin/chromium is missing and we are root.
# - Builds what it needs unless WANGGE_SETUP_DONE=1 (scripts/test.sh ran scripts/setup.sh).
# - Starts the suite the way scripts/up.sh does, on a free loopback port, with a fresh state
#   directory under target/console-test/ (never .spin/) and a known operator key; loads the
#   demo city.
# - Runs the tests; screenshots go to target/console-screenshots/, the figures (first paint,
#   the whole city's grids drawn) to target/console-figures.json. Nothing under docs/ changes
#   unless asked: with --screenshots (or WANGGE_SCREENSHOTS=1) the README's screenshots
#   (signin, map, board, case, scores) are copied to docs/screenshots/ after the run.
# - Ends with a cargo-style line `test result: ok. N passed; M failed; K ignored` that
#   scripts/test.sh sums into its closing total, and exits non-zero when a test failed.
#
# --keep: leave the suite running after the tests (prints its address and key) until Ctrl-C.
# --screenshots: copy the README's screenshots to docs/screenshots/ (same as WANGGE_SCREENSHOTS=1);
#   without it a run (and so scripts/test.sh) leaves the work tree as it was.
# Any other arguments go to `node --test` (e.g. --test-name-pattern=board).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }
server=""
reported=""
# Every exit stops the suite this script started, and one that comes before the tests' own
# result (a failed install, build or start) still prints a failing result line for the total.
finish() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -z "$reported" ]; then
    echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out (console: stopped before the tests ran)"
  fi
}
trap finish EXIT
trap 'exit 130' INT TERM
keep=""
screenshots=""
[ "${WANGGE_SCREENSHOTS:-}" = 1 ] && screenshots=1
node_args=()
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --screenshots) screenshots=1 ;;
    *) node_args+=("$arg") ;;
  esac
done

# Chromium, from Debian's packages, when missing.
chromium=${WANGGE_CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$chromium" ] || missing+=(chromium)
# A Chinese font, or the screenshots show boxes for the zh-CN interface.
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    step "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  elif [ ! -x "$chromium" ]; then
    echo "error: $chromium is missing: install Debian's chromium (apt-get install chromium fonts-wqy-microhei)" >&2
    exit 1
  else
    echo "warning: no Chinese font (apt-get install fonts-wqy-microhei): the screenshots will show boxes" >&2
  fi
fi
export WANGGE_CHROMIUM="$chromium"

if [ "${WANGGE_SETUP_DONE:-}" != 1 ]; then
  scripts/setup.sh
fi
for wasm in console intake grid_lookup case_routing assessment notification; do
  if [ ! -f "target/wasm32-wasip2/release/$wasm.wasm" ]; then
    echo "error: target/wasm32-wasip2/release/$wasm.wasm is missing: run scripts/setup.sh" >&2
    exit 1
  fi
done

# The test project's own packages (puppeteer-core; no browser download: it drives the system's).
if [ ! -d tests/console/node_modules/puppeteer-core ] \
  || [ tests/console/package-lock.json -nt tests/console/node_modules/.package-lock.json ]; then
  step "installing the browser tests' packages (tests/console, npm ci)"
  (cd tests/console && npm ci --no-audit --no-fund --silent)
fi

# A fresh state directory and runtime config: the stores of runtime-config/local.toml, moved
# under target/console-test/<pid>/ (a key-value path is relative to the config file, a SQLite
# path to the working directory). One directory per run, so that two runs at once keep apart;
# those of earlier runs whose script is gone are removed.
for old in target/console-test/*/; do
  [ -d "$old" ] || continue
  pid=$(basename "$old")
  if ! kill -0 "$pid" 2>/dev/null; then rm -rf "$old"; fi
done
dir=target/console-test/$$
rm -rf "$dir"
mkdir -p "$dir/state" target/console-screenshots
sed -e 's|^path = "\.\./\.spin/|path = "state/|' -e "s|^path = \"\\.spin/|path = \"$dir/state/|" \
  runtime-config/local.toml > "$dir/runtime.toml"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
key="console-test-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

step "starting the suite at $base (state in $dir/)"
SPIN_VARIABLE_OPERATOR_KEY="$key" target/release/wangge-host up --listen "127.0.0.1:$port" \
  --runtime-config-file "$dir/runtime.toml" --state-dir "$dir/state" --quiet > "$dir/host.log" 2>&1 &
server=$!
up=""
for _ in $(seq 1 150); do
  if curl -fsS "$base/v1/system/grid-lookup/health" >/dev/null 2>&1; then up=1; break; fi
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ -z "$up" ]; then
  echo "error: the suite did not start; its log:" >&2
  cat "$dir/host.log" >&2
  exit 1
fi

# The demo city, as scripts/up.sh loads it.
step "loading the demo city (Nantong) and the reference data"
auth="Authorization: Bearer $key"
load() { # path content-type (body on stdin)
  curl -sS -f -o /dev/null -w "  PUT $1: %{http_code} in %{time_total}s\n" \
    -X PUT -H "$auth" -H "content-type: $2" --data-binary @- "$base$1" >&2
}
gunzip -c data/nantong/regions.csv.gz | load /v1/regions text/csv
gunzip -c data/nantong/grids.geojson.gz | load /v1/grids application/geo+json
gunzip -c data/nantong/staff.csv.gz | load /v1/staff text/csv
gunzip -c data/nantong/addresses.csv.gz | load /v1/addresses text/csv
gunzip -c data/nantong/districts.geojson.gz | load /v1/regions/outlines application/geo+json
load /v1/categories application/json < data/categories.json
load /v1/calendar/2026 application/json < data/calendar-2026.json
gunzip -c data/nantong/departments.csv.gz | load /v1/departments text/csv

step "the console's browser tests (tests/console, Chromium $("$chromium" --version 2>/dev/null | awk '{print $2}'))"
if [ ${#node_args[@]} -eq 0 ]; then # a whole run: no screenshot or figure of an earlier run stays
  rm -f target/console-screenshots/*.png target/console-figures.json
fi
out="$dir/node-test.log"
status=0
started=$(date +%s)
(cd tests/console && WANGGE_URL="$base" WANGGE_OPERATOR_KEY="$key" \
  node --test --test-concurrency=1 --test-reporter=spec "${node_args[@]}" test/) 2>&1 | tee "$out" || status=1
elapsed=$(( $(date +%s) - started ))

# The README's screenshots, when asked for (--screenshots or WANGGE_SCREENSHOTS=1).
if [ -n "$screenshots" ]; then
  mkdir -p docs/screenshots
  for page in signin map board case scores; do
    if [ -f "target/console-screenshots/$page.png" ]; then
      cp "target/console-screenshots/$page.png" "docs/screenshots/$page.png"
      echo "  docs/screenshots/$page.png updated" >&2
    fi
  done
fi

# node's spec reporter ends with "ℹ pass N" / "ℹ fail M" / "ℹ skipped K" (+ todo, cancelled).
count() { sed 's/\x1b\[[0-9;]*m//g' "$out" | awk -v k="$1" '$1 == "ℹ" && $2 == k { n = $3 } END { print n + 0 }'; }
passed=$(count pass) failed=$(( $(count fail) + $(count cancelled) )) skipped=$(( $(count skipped) + $(count todo) ))
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # ran nothing: that is a failure
if [ "$status" != 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi # node failed outside a test
if [ "$failed" -gt 0 ]; then status=1; fi
verdict=ok
if [ "$status" != 0 ]; then verdict=FAILED; fi
reported=1
echo "test result: $verdict. $passed passed; $failed failed; $skipped ignored; 0 measured; 0 filtered out; finished in ${elapsed}s (console, Chromium)"

if [ -n "$keep" ]; then
  echo "The suite stays at $base/console/ (operator key: $key); Ctrl-C stops it." >&2
  wait "$server" || true
fi
exit $status
