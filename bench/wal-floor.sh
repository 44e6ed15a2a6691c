#!/bin/sh
# Runs bench/wal-floor.ts on a private PostgreSQL 15 server of its own (a fresh cluster in a temp
# directory, port 5499), so that no other database's checkpoints fall in its windows (on a shared
# server they put full-page images in them) and its own CHECKPOINT disturbs nobody's measurements.
# Settings as the shared server's (fsync on, full_page_writes on, autovacuum off, shared_buffers
# 128MB), checkpoints only when asked. Arguments go to wal-floor.ts.
# Usage: sh bench/wal-floor.sh [--ops 10000] [--batch 10] [--detail all]
set -eu
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${WAL_FLOOR_PORT:-5499}
DIR=$(mktemp -d /tmp/walfloor-pg.XXXXXX)
chmod 755 "$DIR"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust >/dev/null
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 \
  -c autovacuum=off -c shared_buffers=128MB -c checkpoint_timeout=1h -c max_wal_size=20GB -c wal_level=replica" >/dev/null
trap 'as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; rm -rf "$DIR"' EXIT
BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres" npx tsx bench/wal-floor.ts "$@"
