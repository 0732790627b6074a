#!/usr/bin/env bash
# A window commit's statements, as the server sends them to PostgreSQL (the key claim with the session
# read on its own; BEGIN and five reads; the writes as one statement; COMMIT), replayed by pgbench
# without HTTP or the server: what the database alone can do with renche's commit, sent the same way.
# Run it on a database the scale bench has just used (it needs an officer's live session there).
#
#   benches/pg/window-commit.sh postgres://postgres@127.0.0.1:5432/renche_scale_10k [clients] [seconds]
#
# Every call binds (a pair already bound is skipped): the rules do not decide here.
set -euo pipefail
url=${1:?database URL}
clients=${2:-16}
seconds=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
read -r token officer < <(psql "$url" -Atc "SELECT encode(s.token_hash, 'hex'), a.person_id FROM sessions s \
  JOIN accounts a ON a.id = s.account_id JOIN people p ON p.id = a.person_id \
  WHERE p.role = 'officer' AND s.expires_at > (extract(epoch FROM now()) * 1000)::bigint LIMIT 1" | tr '|' ' ')
[ -n "$token" ] || { echo "no live officer session in $url: run the scale bench on it first" >&2; exit 1; }
script=$(mktemp)
trap 'rm -f "$script"' EXIT
sed "s/@TOKEN@/$token/g; s/@OFFICER@/$officer/g" "$here/window-commit.sql" > "$script"
pgbench "$url" -n -M prepared -f "$script" -T "$seconds" -c "$clients" -j 2
