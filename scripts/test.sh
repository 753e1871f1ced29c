#!/usr/bin/env bash
# Runs Saldo's whole test suite against a real PostgreSQL.
#
# Uses the server named by TEST_DATABASE_URL, DATABASE_URL or the PG* variables, else the one on
# 127.0.0.1:5432; when none answers, a throwaway cluster made by Debian's pg_virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
if [[ -n "${TEST_DATABASE_URL:-}${DATABASE_URL:-}" ]] || pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  exec cargo test --workspace "$@"
fi
if command -v pg_virtualenv >/dev/null; then
  echo "no PostgreSQL on $host:$port: running the tests in a throwaway cluster (pg_virtualenv)" >&2
  exec pg_virtualenv -o fsync=off -o max_connections=200 cargo test --workspace "$@"
fi
cat >&2 <<'MSG'
The tests need PostgreSQL and none was found.
  Debian/Ubuntu:  apt-get install postgresql   (then run this script again)
  or point them at a server:  TEST_DATABASE_URL=postgres://user@host:port/postgres ./scripts/test.sh
MSG
exit 1
