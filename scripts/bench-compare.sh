#!/usr/bin/env bash
# Roster's HTTP path against its floor, in one run on one machine: the
# release `roster serve` (fresh SQLite file, no dev clock, logs at warn) and
# a bare axum server that parses the same evaluation body and answers
# {"decision":…} (crates/roster-server/examples/shared/bare.rs), each asked
# by wrk on loopback: single evaluations, /healthz, and Roster's batches of
# 100. The load generator shares the machine. Needs curl, jq and wrk.
#
# scripts/bench-compare.sh [SECONDS] [CONNECTIONS] [ROUNDS]
#
# ROUNDS (default 1) repeats the evaluation and /healthz pairs, Roster then
# bare axum each time, so a burst of other work on the machine shows as
# one odd round rather than as a ratio. With PIN=1 both servers run on CPU
# 0 and wrk (one thread) on CPU 1: each server has one core to itself and
# the load generator does not take turns with it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-16}
rounds=${3:-1}
server_cpu=() wrk_cpu=() wrk_threads=2
if [ "${PIN:-0}" = 1 ]; then
  server_cpu=(taskset -c 0) wrk_cpu=(taskset -c 1) wrk_threads=1
fi
cargo build --release -q -p roster
cargo build --release -q -p roster-server --example bare_axum
dir=$(mktemp -d)
port=18099
bare_port=18098
key=bench-key
ROSTER_LISTEN=127.0.0.1:$port ROSTER_DATABASE_URL="sqlite://$dir/roster.db" ROSTER_PLATFORM_KEY=$key \
  ROSTER_LOG=warn "${server_cpu[@]}" target/release/roster serve > /dev/null 2>&1 &
roster=$!
"${server_cpu[@]}" target/release/examples/bare_axum 127.0.0.1:$bare_port > /dev/null 2>&1 &
bare=$!
trap 'kill $roster $bare 2>/dev/null; rm -rf "$dir"' EXIT
base=http://127.0.0.1:$port
bare_base=http://127.0.0.1:$bare_port
for _ in $(seq 1 100); do
  curl -sf "$base/readyz" > /dev/null && curl -sf "$bare_base/healthz" > /dev/null && break
  sleep 0.1
done
curl -sf "$base/readyz" > /dev/null || { echo "roster serve did not start" >&2; exit 1; }
auth="Authorization: Bearer $key"; json="Content-Type: application/json"
org=$(curl -sf "$base/v1/orgs" -H "$auth" -H "$json" -d '{"name":"Bench","owner_email":"owner@bench.test"}')
org_id=$(echo "$org" | jq -r .id); owner=$(echo "$org" | jq -r .owner.user_id)
space=$(curl -sf "$base/v1/orgs/$org_id/spaces" -H "$auth" -H "X-Roster-Actor: $owner" -H "$json" -d '{"name":"P"}' | jq -r .id)
members=$(for i in $(seq 1 50); do
  printf '{"email":"m%s@bench.test","space_roles":[{"space_id":"%s","role":"facilitator"}]},' "$i" "$space"
done)
curl -sf "$base/v1/orgs/$org_id/members/import?mode=add" -H "$auth" -H "$json" \
  -d "{\"members\":[${members%,}]}" > /dev/null
subject=$(curl -sf "$base/v1/orgs/$org_id/members?role=facilitator&limit=1" -H "$auth" | jq -r '.items[0].user_id')
question="\"subject\":{\"type\":\"user\",\"id\":\"$subject\"},\"action\":{\"name\":\"events.manage\"},\"resource\":{\"type\":\"space\",\"id\":\"$space\",\"properties\":{\"org_id\":\"$org_id\"}}"
test "$(curl -sf "$base/access/v1/evaluation" -H "$auth" -H "$json" -d "{$question}" | jq -r .decision)" = true
batch="{$question,\"evaluations\":[$(printf '{},%.0s' $(seq 1 99)){}]}"
test "$(curl -sf "$base/access/v1/evaluations" -H "$auth" -H "$json" -d "$batch" | jq '[.evaluations[].decision] | all')" = true
lua() {
  cat > "$dir/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '$2'
LUA
  echo "$dir/$1.lua"
}
run() {
  echo "== $1"
  shift
  "${wrk_cpu[@]}" wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --latency "$@" |
    grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors" || true
}
single=$(lua single "{$question}")
for round in $(seq 1 "$rounds"); do
  [ "$rounds" = 1 ] || echo "# round $round"
  run "roster evaluation" -s "$single" "$base/access/v1/evaluation"
  run "bare axum evaluation" -s "$single" "$bare_base/access/v1/evaluation"
  run "roster /healthz" "$base/healthz"
  run "bare axum /healthz" "$bare_base/healthz"
done
run "roster batch of 100 (decisions/s = requests/s x 100)" -s "$(lua batch "$batch")" "$base/access/v1/evaluations"
