#!/usr/bin/env bash
# Property-based checks of the HTTP API from its own OpenAPI document: schemathesis (installed by
# scripts/setup.sh into target/schemathesis-venv) runs stateless checks on every operation of
# /api/v1/openapi.json against a live development server with demo data, with a fixed seed and a bounded
# number of examples per operation, and fails on any 5xx or any answer that does not match the document.
# The document is first validated as OpenAPI 3.1.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/schemathesis-venv
seed=${SCHEMATHESIS_SEED:-20261201}
examples=${SCHEMATHESIS_EXAMPLES:-25}
if [ ! -x "$venv/bin/st" ]; then
  echo "schemathesis is missing: run scripts/setup.sh" >&2
  exit 1
fi

cargo build -q -p renche-server
work=$(mktemp -d)
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:${port}"
target/debug/renche-server serve --dev --demo --listen "127.0.0.1:${port}" \
  --database "sqlite://${work}/api.sqlite3" --www "$work" --pkg "$work" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

curl -fsS "$base/api/v1/openapi.json" -o "$work/openapi.json"
"$venv/bin/python" - "$work/openapi.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), doc["openapi"]
validate(doc, cls=OpenAPIV31SpecValidator)
print(f"openapi.json is valid OpenAPI {doc['openapi']}: {sum(len(v) for v in doc['paths'].values())} operations")
PY

# Signed in as the demo window officer (13900000010), through the development SMS outbox, so that the
# account's reads and the window's operations reach their handlers. (Once signed out, the
# rest is answered 401, which the document lists; so it runs last.)
read -r cookie csrf < <("$venv/bin/python" - "$base" <<'PY'
import http.cookiejar, json, sys, time, urllib.request
base, phone = sys.argv[1], "13900000010"
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def call(method, path, body=None, csrf=None, key=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if csrf: req.add_header("X-CSRF-Token", csrf)
    if key: req.add_header("Idempotency-Key", key)
    with web.open(req) as resp:
        return json.loads(resp.read() or b"{}")
csrf = call("GET", "/api/v1/session")["csrfToken"]
challenge = call("POST", "/api/v1/auth/sms-code", {"phone": phone, "purpose": "sign_in"}, csrf, "st-code")
code = None
for _ in range(50):
    sent = call("GET", f"/api/v1/dev/sms-outbox?phone={phone}")["messages"]
    code = next((m["code"] for m in sent if m.get("code")), None)
    if code: break
    time.sleep(0.1)
signed = call("POST", "/api/v1/auth/sign-in",
              {"phone": phone, "challengeId": challenge["challengeId"], "code": code}, csrf, "st-sign-in")
cookie = next(c.value for c in jar if c.name == "renche_session")
print(cookie, signed.get("csrfToken") or call("GET", "/api/v1/session")["csrfToken"])
PY
)

# Signing out ends the one session, so it runs last, on its own.
schemathesis() {
  "$venv/bin/st" run "$base/api/v1/openapi.json" \
    --url "$base" \
    --phases examples,coverage,fuzzing \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$examples" --seed "$seed" \
    --request-timeout 10 --workers 2 --no-color \
    -H "Cookie: renche_session=${cookie}" -H "X-CSRF-Token: ${csrf}" "$@"
}
status=0
schemathesis --exclude-operation-id post_auth_sign_out || status=$?
schemathesis --include-operation-id post_auth_sign_out || status=$?
if grep -q ' WARN .*status: 5' "$work/server.log" 2>/dev/null; then
  echo "the server logged 5xx answers:" >&2
  grep ' WARN .*status: 5' "$work/server.log" | head -20 >&2
fi
exit "$status"
