#!/usr/bin/env bash
# Load benchmark, loopback only, bounded in time (about 2 minutes):
#   guarded actix route vs unguarded route, and `reauth serve` /verify vs
#   /healthz, with a repeated token and with 2000 distinct tokens.
# Each target runs RUNS times, interleaved with its baseline; the table shows
# medians (this 2-core machine is noisy: single runs swing by 20%).
# Needs wrk (apt-get install wrk). Usage: scripts/load.sh [SECONDS] [CONNECTIONS] [RUNS]
# Server and load generator share the machine: the server gets one worker
# thread (WORKERS=1), wrk one thread, so the ratios compare like with like.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
conns=${2:-32}
runs=${3:-3}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet --features cli,testing --example load_app --bin reauth

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

WORKERS=1 target/release/examples/load_app "$work" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/app.txt" ] && break; sleep 0.1; done
app=$(cat "$work/app.txt"); issuer=$(cat "$work/issuer.txt")
token=$(head -n1 "$work/tokens.txt")

RUST_LOG=warn target/release/reauth serve --issuer "$issuer" --audience test-client \
    --bind 127.0.0.1:18089 --workers 1 --max-age 1h >/dev/null 2>&1 &
serve_pid=$!
pids+=($serve_pid)
for _ in $(seq 100); do curl -fs http://127.0.0.1:18089/healthz >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$work/distinct.lua" <<LUA
tokens = {}
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

rps() { # url [wrk args...] -> requests/s
    local url=$1; shift
    wrk -t1 -c"$conns" -d"${secs}s" "$@" "$url" | awk '/Requests\/sec/ {print $2}'
}

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A all
for _ in $(seq "$runs"); do
    all[open]+=" $(rps "$app/open")"
    all[g_rep]+=" $(rps "$app/guarded" -H "Authorization: Bearer $token")"
    all[g_dis]+=" $(rps "$app/guarded" -s "$work/distinct.lua")"
    all[healthz]+=" $(rps "http://127.0.0.1:18089/healthz")"
    all[v_rep]+=" $(rps "http://127.0.0.1:18089/verify" -H "Authorization: Bearer $token")"
    all[v_dis]+=" $(rps "http://127.0.0.1:18089/verify" -s "$work/distinct.lua")"
done
for k in open g_rep g_dis healthz v_rep v_dis; do
    declare "$k=$(echo ${all[$k]} | median)"
done
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$serve_pid/status")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "medians of $runs runs of ${secs}s, $conns connections"
echo "| target | req/s | ratio |"
echo "|---|---|---|"
echo "| actix /open (unguarded) | $open | 1.00 |"
echo "| actix /guarded, repeated token | $g_rep | $(ratio "$g_rep" "$open") |"
echo "| actix /guarded, 2000 distinct tokens (wrk Lua) | $g_dis | $(ratio "$g_dis" "$open") |"
echo "| reauth serve /healthz | $healthz | 1.00 |"
echo "| reauth serve /verify, repeated token | $v_rep | $(ratio "$v_rep" "$healthz") |"
echo "| reauth serve /verify, 2000 distinct tokens (wrk Lua) | $v_dis | $(ratio "$v_dis" "$healthz") |"
echo
echo "reauth serve peak RSS (VmHWM): $((peak_kb / 1024)) MiB"
