#!/usr/bin/env bash
# Revocation at a big customer's size, loopback only, bounded in time
# (about 4 minutes at the default scale):
#   one real redis-server holding 2,000,000 unrelated keys (SET by a script),
#   1,000,000 revoked sessions + 100,000 user cut-offs loaded with
#   `reauth revoke --session-file/--user-file`, three `reauth serve --redis`
#   gates; then start-up, RSS, one revocation end to end, a gate paused 15 s
#   while Redis drops its connections and 10,000 revocations are written, the
#   same gate paused again while the log is trimmed past its position (it must
#   reload a snapshot), and 1,000 revocations/s from 4 writers for 60 s while
#   the gates serve.
# Needs redis-server (apt-get install redis-server).
# Usage: scripts/bench_revocation.sh   (scale: SESSIONS, USERS, UNRELATED,
#   PAUSE_SECS, MISSED, TRIMMED, LOAD_SECS, WRITES_PER_SEC in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server)" >&2; exit 2; }
cargo build --release --quiet --features cli,testing,redis --example bench_revocation --bin reauth

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null 2>&1 &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
# The app's own keys (DEBUG POPULATE is disabled by default since Redis 7).
redis-cli -p "$port" EVAL "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'app:' .. i, 'value-' .. i) end" 0 "${UNRELATED:-2000000}" >/dev/null
echo "redis-server $(redis-server --version | awk '{print $3}'), $(redis-cli -p "$port" DBSIZE) unrelated keys; $(nproc) cores"
target/release/examples/bench_revocation "redis://127.0.0.1:$port/" "$port" target/release/reauth "$work"
echo "redis used_memory: $(redis-cli -p "$port" INFO memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')"
redis-cli -p "$port" INFO commandstats | grep -E '^cmdstat_(scan|keys):' && echo "!!! keyspace scan seen" || echo "no SCAN or KEYS issued"
