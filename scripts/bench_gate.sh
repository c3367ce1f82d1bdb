#!/usr/bin/env bash
# The gate in production shape, loopback only (about 2 minutes):
#   1. nginx with the README's snippet (read from README.md) in front of an
#      app that answers 200, vs the same nginx proxying without the gate;
#   2. `reauth serve` /verify with a 20-route policy file vs no file;
#   3. the gate's peak RSS.
# Repeated token (the memo's case). Each target runs RUNS times, interleaved
# with its baseline; the table shows medians (2-core machines are noisy).
# Needs wrk and nginx (+ libnginx-mod-http-headers-more-filter).
# Usage: scripts/bench_gate.sh [SECONDS] [CONNECTIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-32}
runs=${3:-3}
for b in wrk nginx; do
    command -v "$b" >/dev/null || { echo "$b is required (apt-get install $b)" >&2; exit 2; }
done
cargo build --release --quiet --features cli,testing --example load_app --bin reauth

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

WORKERS=1 target/release/examples/load_app "$work" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/app.txt" ] && break; sleep 0.1; done
app=$(sed 's|http://||' "$work/app.txt"); issuer=$(cat "$work/issuer.txt")
token=$(head -n1 "$work/tokens.txt")

# 20 routes: 19 that a request to /open passes over, then the catch-all.
{
    echo '[defaults]'; echo 'max_age = "1h"'
    for i in $(seq 19); do
        printf '\n[[route]]\nname = "r%d"\nmethods = ["POST"]\npath = "/area%d/*/action/**"\nmax_age = "5m"\n' "$i" "$i"
    done
    printf '\n[[route]]\nname = "app"\npath = "/**"\n'
} > "$work/policy.toml"
target/release/reauth serve --check-config "$work/policy.toml" >/dev/null

# The two gates compared with each other share core 1, wrk gets core 0 for
# them (less placement noise between two processes measured in turn).
gate() { # port [args...]
    local port=$1; shift
    RUST_LOG=warn taskset -c 1 target/release/reauth serve --issuer "$issuer" --audience test-client \
        --bind "127.0.0.1:$port" --workers 1 "$@" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
}
gate 18091 --max-age 1h
gate 18092 --config "$work/policy.toml"
file_gate_pid=${pids[-1]}

# nginx: the README's block, localised, plus an ungated server for the baseline.
mkdir -p "$work/nginx"
snippet=$(awk '/^```nginx$/ {on=1; next} /^```/ {on=0} on' README.md |
    sed -e "s/127.0.0.1:3000/$app/")
over_tcp=$(echo "$snippet" | sed -e "s/127.0.0.1:8080/127.0.0.1:18092/; s/listen 8000/listen 127.0.0.1:18000/")
cat > "$work/nginx/nginx.conf" <<CONF
include /etc/nginx/modules-enabled/*.conf;
worker_processes ${NGINX_WORKERS:-auto};
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    upstream app_direct { server $app; keepalive 32; }
    server {
        listen 127.0.0.1:18001;
        location / { proxy_pass http://app_direct; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
$over_tcp
}
CONF
nginx -p /usr/share/nginx/ -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 100); do curl -fs http://127.0.0.1:18001/open >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs -H "Authorization: Bearer $token" http://127.0.0.1:18000/open >/dev/null ||
    { echo "the gated nginx does not answer 200" >&2; exit 1; }

rps() { # url [wrk args...] -> requests/s
    local url=$1; shift
    ${WRK:-wrk} -t1 -c"$conns" -d"${secs}s" "$@" "$url" | awk '/Requests\/sec/ {print $2}'
}
pinned() { local f=$1; shift; WRK="taskset -c 0 wrk" "$f" "$@"; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A all
orig=(-H "X-Original-Method: GET" -H "X-Original-URI: /open" -H "Authorization: Bearer $token")
for _ in $(seq "$runs"); do
    all[ungated]+=" $(rps http://127.0.0.1:18001/open)"
    all[gated]+=" $(rps http://127.0.0.1:18000/open -H "Authorization: Bearer $token")"
    all[nofile]+=" $(pinned rps http://127.0.0.1:18091/verify "${orig[@]}")"
    all[file]+=" $(pinned rps http://127.0.0.1:18092/verify "${orig[@]}")"
done
for k in ungated gated nofile file; do declare "$k=$(echo ${all[$k]} | median)"; done
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$file_gate_pid/status")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "medians of $runs runs of ${secs}s, $conns connections, one worker each"
echo "| target | req/s | ratio |"
echo "|---|---|---|"
echo "| nginx → app (no gate) | $ungated | 1.00 |"
echo "| nginx → gate → app (README snippet) | $gated | $(ratio "$gated" "$ungated") |"
echo "| reauth serve /verify, no policy file | $nofile | 1.00 |"
echo "| reauth serve /verify, 20-route policy file | $file | $(ratio "$file" "$nofile") |"
echo
echo "reauth serve (with the file) peak RSS (VmHWM): $((peak_kb / 1024)) MiB"
