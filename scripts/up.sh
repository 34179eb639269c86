#!/usr/bin/env bash
# Build (if needed) and serve the Wangge suite on 127.0.0.1:3000 (or --listen ADDR),
# with state under .spin/. Uses real `spin up` when `spin` is on PATH, else our host.
#
# --cluster: the cluster profile. Every function's state on PostgreSQL (a database each:
# wangge_intake, wangge_grid_lookup, …) and the key-value store on Redis. Give
# WANGGE_POSTGRES_URL (postgres://user:password@host:port, a user that may create
# databases, or that owns the five already) and WANGGE_REDIS_URL; without them, private
# servers are started with their data under .spin/cluster/ (tests/servers).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/up.sh [--listen ADDR] [--cluster]"
listen="127.0.0.1:3000"
cluster=""
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen="$2"; shift 2 ;;
    --listen=*) listen="${1#--listen=}"; shift ;;
    --cluster) cluster=1; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "unknown argument: $1 ($usage)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
mkdir -p .spin
runtime_config=runtime-config/local.toml
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM EXIT

if [ -n "$cluster" ]; then
  if [ -z "${WANGGE_POSTGRES_URL:-}" ] || [ -z "${WANGGE_REDIS_URL:-}" ]; then
    echo "Starting private PostgreSQL and Redis servers (data in .spin/cluster/) ..."
    mkdir -p .spin/cluster
    coproc SERVERS { exec target/release/wangge-servers --dir .spin/cluster; }
    pids+=("$SERVERS_PID")
    while read -r line <&"${SERVERS[0]}"; do
      case "$line" in
        POSTGRES_URL=*) : "${WANGGE_POSTGRES_URL:=${line#POSTGRES_URL=}}" ;;
        REDIS_URL=*) : "${WANGGE_REDIS_URL:=${line#REDIS_URL=}}" ;;
        READY) break ;;
      esac
    done
  fi
  pg="${WANGGE_POSTGRES_URL%/}"
  # host[:port] of the address, for allowed_outbound_hosts.
  hostport="${pg#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"
  export SPIN_VARIABLE_DATABASE_HOST="$hostport"
  for fn in intake grid_lookup case_routing assessment notification; do
    db="wangge_$fn"
    if ! psql -X -q -At "$pg/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql -X -q "$pg/postgres" -c "CREATE DATABASE $db" >/dev/null
    fi
    export "SPIN_VARIABLE_${fn^^}_DATABASE_URL=$pg/$db"
  done
  sed "s|^url = \"redis://127.0.0.1:6379\"|url = \"$WANGGE_REDIS_URL\"|" runtime-config/cluster.toml > .spin/cluster.toml
  runtime_config=.spin/cluster.toml
fi

# The operator key: from the environment, else the one kept in .spin/operator_key.
key_source='$SPIN_VARIABLE_OPERATOR_KEY' key_expr='$SPIN_VARIABLE_OPERATOR_KEY'
if [ -z "${SPIN_VARIABLE_OPERATOR_KEY:-}" ]; then
  key_source=.spin/operator_key key_expr='$(cat .spin/operator_key)'
  if [ ! -s .spin/operator_key ]; then
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > .spin/operator_key)
  fi
  SPIN_VARIABLE_OPERATOR_KEY="$(cat .spin/operator_key)"
fi
export SPIN_VARIABLE_OPERATOR_KEY

if command -v spin >/dev/null; then
  runner=(spin up --listen "$listen" --runtime-config-file "$runtime_config")
else
  runner=(target/release/wangge-host up --listen "$listen" --runtime-config-file "$runtime_config")
fi

"${runner[@]}" &
server=$!
pids+=("$server")

base="http://$listen"
for _ in $(seq 1 100); do
  if curl -fsS "$base/v1/system/intake/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then echo "the server exited; see the messages above" >&2; exit 1; fi
  sleep 0.2
done

# The demo city, into an empty state: regions, grids, staff, addresses, district outlines.
auth="Authorization: Bearer $SPIN_VARIABLE_OPERATOR_KEY"
if curl -s -H "$auth" "$base/v1/grids?limit=1" | grep -q '"dataset_missing"'; then
  echo "Loading the demo city (Nantong) from data/nantong ..."
  load() { # path file content-type
    gunzip -c "data/nantong/$2.gz" | curl -sS -f -o /dev/null -w "  PUT $1: %{http_code} in %{time_total}s\n" \
      -X PUT -H "$auth" -H "content-type: $3" --data-binary @- "$base$1"
  }
  load /v1/regions regions.csv text/csv
  load /v1/grids grids.geojson application/geo+json
  load /v1/staff staff.csv text/csv
  load /v1/addresses addresses.csv text/csv
  load /v1/regions/outlines districts.geojson application/geo+json
fi
# case-routing's reference data: the catalogue of matters, the working calendar, departments.
if curl -s -H "$auth" "$base/v1/categories" | grep -q '"dataset_missing"\|"categories":\[\]'; then
  echo "Loading the catalogue of matters, the 2026 calendar and the departments ..."
  put() { # path content-type
    curl -sS -f -o /dev/null -w "  PUT $1: %{http_code} in %{time_total}s\n" -X PUT -H "$auth" -H "content-type: $2" --data-binary @- "$base$1"
  }
  put /v1/categories application/json < data/categories.json
  put /v1/calendar/2026 application/json < data/calendar-2026.json
  gunzip -c data/nantong/departments.csv.gz | put /v1/departments text/csv
fi

if [ -n "$cluster" ]; then
  profile="cluster profile: PostgreSQL at $SPIN_VARIABLE_DATABASE_HOST, Redis"
else
  profile="embedded profile: SQLite files under .spin/"
fi
cat <<MSG

Wangge is serving at $base  (${runner[0]}; $profile)
Operator key: $key_source

Try it:
  curl -s $base/v1/system/intake/health
  curl -s "$base/v1/grids/locate?lng=120.8596&lat=32.0125&crs=gcj02" -H "Authorization: Bearer ${key_expr}"
  curl -s -X POST $base/v1/system/intake/chain -H "Authorization: Bearer ${key_expr}"
  curl -s -X POST $base/v1/events -H "Authorization: Bearer ${key_expr}" -H 'content-type: application/json' \
    -d '{"source":"resident","reporter":{"phone":"13812345678"},"category":"B05","description":"小区门口垃圾堆积","location":{"lng":120.802356,"lat":32.138927}}'
  curl -s $base/open311/v2/services.json

Ctrl-C stops it.
MSG
wait $server
