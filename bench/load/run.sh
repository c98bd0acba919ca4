#!/usr/bin/env bash
# A bounded load run on this machine only (loopback): gunicorn serving the production settings
# on PostgreSQL, and wrk, one target after another for LOAD_DURATION each:
#   healthz    GET /healthz (a database and a broker round trip: the baseline)
#   earn       POST /api/v1/purchases/, a distinct external_id every request (purchases.lua)
#   dashboard  GET /portal/ as the logged-in demo member (dashboard.lua)
# then check_ledger on what the run wrote. Results go to LOAD_OUT (default .run/load).
# Needs wrk (apt-get install wrk), PostgreSQL and Redis on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."

DB_NAME=${LOAD_DB_NAME:-loyalty_load}
PG=${LOAD_PG:-postgres://postgres@127.0.0.1:5432}
PORT=${LOAD_PORT:-8099}
DURATION=${LOAD_DURATION:-60s}
CONNECTIONS=${LOAD_CONNECTIONS:-8}
WORKERS=${LOAD_WORKERS:-3}
OUT=$(realpath -m "${LOAD_OUT:-.run/load}")
PY=.venv/bin/python
BASE=http://127.0.0.1:$PORT

export DATABASE_URL=$PG/$DB_NAME
export REDIS_URL=${LOAD_REDIS_URL:-redis://127.0.0.1:6379/6}
export DJANGO_SETTINGS_MODULE=loyalty_site.settings.production
export SECRET_KEY="load-run-only-$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false DEBUG=false LOG_LEVEL=WARNING
export API_THROTTLE_RATE=off  # measure the stack, not the per-key throttle
export LOAD_DIR=$OUT LOAD_RUN=$(date +%s)

mkdir -p "$OUT"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" -c "CREATE DATABASE $DB_NAME"
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo > /dev/null
$PY -m bench.load.prepare "$OUT"

.venv/bin/gunicorn loyalty_site.wsgi -w "$WORKERS" -b "127.0.0.1:$PORT" --access-logfile /dev/null \
  --error-logfile "$OUT/gunicorn.log" &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs "$BASE/healthz" > /dev/null && break; sleep 0.5; done

dashboard=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sessionid=$(cat "$OUT/session")" "$BASE/portal/")
[ "$dashboard" = 200 ] || { echo "the dashboard answers $dashboard, not 200" >&2; exit 1; }

run() {
  local name=$1; shift
  echo "== $name"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | tee "$OUT/$name.txt"
}
run healthz "$BASE/healthz"
run earn -s bench/load/purchases.lua "$BASE"
run dashboard -s bench/load/dashboard.lua "$BASE/portal/"

kill $GUNICORN; wait $GUNICORN 2>/dev/null || true
echo "== after the run"
psql "$PG/$DB_NAME" -At -c "SELECT count(*) || ' purchases posted, ' || count(DISTINCT external_id) || ' distinct external ids' FROM members_purchase WHERE external_id LIKE 'load-%'" | tee "$OUT/after.txt"
$PY manage.py check_ledger | tee -a "$OUT/after.txt"
redis-cli -u "$REDIS_URL" DEL celery > /dev/null  # mail tasks queued by the run; no worker ran
