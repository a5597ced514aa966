#!/usr/bin/env bash
# Decisions over HTTP: the release `roster serve` on a fresh SQLite file
# (no dev clock: as in production), one organization with a program and 50
# facilitators imported with the platform key, then wrk posting AuthZEN
# evaluations (a facilitator asking events.manage in their program) from 2
# connections per thread for 15 seconds. Needs curl, jq and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p roster
dir=$(mktemp -d)
port=18099
key=bench-key
ROSTER_LISTEN=127.0.0.1:$port ROSTER_DATABASE_URL="sqlite://$dir/roster.db" ROSTER_PLATFORM_KEY=$key \
  ROSTER_LOG=warn target/release/roster serve > /dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -sf "$base/readyz" > /dev/null && break; sleep 0.1; done
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
body="{\"subject\":{\"type\":\"user\",\"id\":\"$subject\"},\"action\":{\"name\":\"events.manage\"},\"resource\":{\"type\":\"space\",\"id\":\"$space\",\"properties\":{\"org_id\":\"$org_id\"}}}"
test "$(curl -sf "$base/access/v1/evaluation" -H "$auth" -H "$json" -d "$body" | jq -r .decision)" = true
cat > "$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '$body'
LUA
wrk -t2 -c4 -d15s --latency -s "$dir/post.lua" "$base/access/v1/evaluation"
