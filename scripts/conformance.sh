#!/usr/bin/env bash
# Contract conformance: schemathesis (PyPI) against a running `roster serve`
# with the platform key, over every operation of /openapi.json, with the
# checks not_a_server_error, status_code_conformance,
# content_type_conformance and response_schema_conformance.
#
# Two passes of CASES generated cases per operation (default 50):
#   1. every operation with generated ids (mostly unknown: 404s and 400s);
#   2. every operation but the organization's deletion, with the ids of a
#      real organization, program and member, so the handlers' own paths run.
#
# Usage: scripts/conformance.sh [path/to/roster]   (default target/debug/roster)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/debug/roster}
CASES=${CASES:-50}
VERSION=4.32.5
VENV=target/schemathesis-$VERSION
KEY=conformance-key

if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
ROSTER_LISTEN="127.0.0.1:$port" ROSTER_DATABASE_URL="sqlite://$dir/roster.db" \
  ROSTER_PLATFORM_KEY=$KEY ROSTER_LOG=warn "$BIN" serve > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/readyz" > /dev/null && break; sleep 0.1; done

auth="Authorization: Bearer $KEY"
json="Content-Type: application/json"
id_of() { sed -E 's/.*"'"$1"'":"([^"]+)".*/\1/'; }
org_json=$(curl -sf "$base/v1/orgs" -H "$auth" -H "$json" \
  -d '{"name":"Conformance Co","owner_email":"owner@conformance.test","seat_limit":50}')
export ROSTER_ORG=$(echo "$org_json" | id_of id)
owner=$(echo "$org_json" | id_of user_id)
export ROSTER_SPACE=$(curl -sf "$base/v1/orgs/$ROSTER_ORG/spaces" -H "$auth" -H "X-Roster-Actor: $owner" \
  -H "$json" -d '{"name":"Program"}' | id_of id)
export ROSTER_USER=$owner

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run() {
  "$VENV/bin/schemathesis" "$@" run "$base/openapi.json" \
    -H "$auth" -c "$checks" -n "$CASES" --phases examples,coverage,fuzzing \
    --no-color --suppress-health-check all --warnings off
}

echo "schemathesis $VERSION: $CASES cases per operation, generated ids"
run
echo "schemathesis $VERSION: $CASES cases per operation, ids of a real organization"
config="$dir/schemathesis.toml"
cat > "$config" <<TOML
[parameters]
org = "\${ROSTER_ORG}"
space = "\${ROSTER_SPACE}"
user = "\${ROSTER_USER}"

[[operations]]
include-method = "DELETE"
include-path = "/v1/orgs/{org}"
enabled = false
TOML
run --config-file "$config"
