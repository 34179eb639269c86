#!/usr/bin/env bash
# Build (if needed) and serve the Wangge suite on 127.0.0.1:3000 (or --listen ADDR),
# with state under .spin/. Uses real `spin up` when `spin` is on PATH, else our host.
set -euo pipefail
cd "$(dirname "$0")/.."

listen="127.0.0.1:3000"
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen="$2"; shift 2 ;;
    --listen=*) listen="${1#--listen=}"; shift ;;
    -h|--help) echo "usage: scripts/up.sh [--listen ADDR]"; exit 0 ;;
    *) echo "unknown argument: $1 (usage: scripts/up.sh [--listen ADDR])" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
mkdir -p .spin

# The operator key: from the environment, else the one kept in .spin/operator_key.
if [ -z "${SPIN_VARIABLE_OPERATOR_KEY:-}" ]; then
  if [ ! -s .spin/operator_key ]; then
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > .spin/operator_key)
  fi
  SPIN_VARIABLE_OPERATOR_KEY="$(cat .spin/operator_key)"
fi
export SPIN_VARIABLE_OPERATOR_KEY

if command -v spin >/dev/null; then
  runner=(spin up --listen "$listen" --runtime-config-file runtime-config/local.toml)
else
  runner=(target/release/wangge-host up --listen "$listen" --runtime-config-file runtime-config/local.toml)
fi

"${runner[@]}" &
server=$!
trap 'kill $server 2>/dev/null || true' INT TERM EXIT

base="http://$listen"
for _ in $(seq 1 100); do
  if curl -fsS "$base/v1/system/intake/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then echo "the server exited; see the messages above" >&2; exit 1; fi
  sleep 0.2
done

cat <<MSG

Wangge is serving at $base  (${runner[0]})
Operator key: .spin/operator_key

Try it:
  curl -s $base/v1/system/intake/health
  curl -s -X POST $base/v1/system/intake/chain -H "Authorization: Bearer \$(cat .spin/operator_key)"

Ctrl-C stops it.
MSG
wait $server
