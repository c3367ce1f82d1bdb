#!/usr/bin/env bash
# The gate in production shape, loopback only (about 4 minutes):
#   1. nginx with the README's snippet (read from README.md) in front of an
#      app that answers 200, vs the same nginx proxying without the gate;
#   2. the same nginx and snippet asking the gate over a Unix socket
#      (`reauth serve --bind unix:/PATH`, `server unix:/PATH;` as in
#      tests/proxies.rs) instead of TCP loopback: the socket's effect, as
#      the ratio of the two (requests/s and p99);
#   3. HAProxy with the README's blocks (haproxy.cfg and the Lua action)
#      vs the same HAProxy without the gate, the gate over TCP and on the
#      socket (the Lua action's DST, as in tests/proxies.rs); skipped,
#      saying so, without haproxy;
#   4. `reauth serve` /verify with a 20-route policy file vs no file;
#   5. the gate's peak RSS.
# Repeated token (the memo's case). Each target runs RUNS times, interleaved
# with its baseline; the table shows medians (2-core machines are noisy).
# The gates (one worker each) share core 1; wrk gets core 0 when it measures
# them directly. nginx (NGINX_WORKERS, default auto), HAProxy (its default
# threads) and wrk in front of them are left to the scheduler. The gate
# over TCP and the gate on the socket are two processes with the same
# policy file.
# Needs wrk, nginx (+ libnginx-mod-http-headers-more-filter), curl, taskset;
# haproxy (2.6 or later) for its rows.
# Usage: scripts/bench_gate.sh [SECONDS] [CONNECTIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
secs=${1:-5}
conns=${2:-32}
runs=${3:-3}
need wrk nginx curl taskset
cargo build --release --quiet --features cli,testing --example load_app --bin reauth

start_work
start_load_app
write_policy "$work/policy.toml"

gate() { # bind [args...]: one worker on core 1
    local bind=$1; shift
    RUST_LOG=warn taskset -c 1 "$rel/reauth" serve --issuer "$issuer" --audience test-client \
        --bind "$bind" --workers 1 "$@" >"$work/gate-${#pids[@]}.log" 2>&1 &
    pids+=($!)
}
gate 127.0.0.1:18091 --max-age 1h
ready http://127.0.0.1:18091/readyz
gate 127.0.0.1:18092 --config "$work/policy.toml"
file_gate_pid=${pids[-1]}
ready http://127.0.0.1:18092/readyz
# The socket's default mode (660): nginx's workers run as this user (below).
socket="$work/gate.sock"
gate "unix:$socket" --config "$work/policy.toml"
ready http://localhost/readyz --unix-socket "$socket"

# nginx: the README's block, localised, twice (the gate over TCP, then on
# the socket, with the upstreams renamed), plus an ungated server for the
# baseline.
mkdir -p "$work/nginx"
snippet=$(awk '/^```nginx$/ {on=1; next} /^```/ {on=0} on' README.md |
    sed -e "s/127.0.0.1:3000/$app/")
over_tcp=$(echo "$snippet" | sed -e "s/127.0.0.1:8080/127.0.0.1:18092/; s/listen 8000/listen 127.0.0.1:18000/")
over_unix=$(echo "$snippet" | sed -e "s|server 127.0.0.1:8080;|server unix:$socket;|; s/listen 8000/listen 127.0.0.1:18002/" \
    -e 's/upstream reauth {/upstream reauth_unix {/; s|http://reauth\([/;]\)|http://reauth_unix\1|' \
    -e 's/upstream app {/upstream app_unix {/; s|http://app;|http://app_unix;|')
echo "$over_unix" | grep -q "server unix:$socket;" ||
    { echo "README's nginx block no longer names the gate at 127.0.0.1:8080: adapt this script" >&2; exit 1; }
cat > "$work/nginx/nginx.conf" <<CONF
include /etc/nginx/modules-enabled/*.conf;
user $(id -un) $(id -gn);
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
$over_unix
}
CONF
nginx -p /usr/share/nginx/ -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>/dev/null &
pids+=($!)
ready http://127.0.0.1:18001/open

# HAProxy: the README's blocks, localised, twice (two processes: the Lua
# action is global), the first with an ungated frontend for the baseline.
targets=(ungated tcp unix)
if command -v haproxy >/dev/null; then
    cfg=$(awk '/^```haproxy$/ {on=1; next} /^```/ {on=0} on' README.md | sed -e "s/127.0.0.1:3000/$app/")
    lua=$(awk '/^```lua$/ {on=1; next} /^```/ {on=0} on' README.md | sed -e "s/127.0.0.1:8080/127.0.0.1:18092/")
    echo "$lua" | grep -q '^local DST = nil$' ||
        { echo "README's Lua block no longer has 'local DST = nil': adapt this script" >&2; exit 1; }
    echo "$lua" >"$work/reauth-tcp.lua"
    # On the socket, GATE names a closed port: only DST can reach the gate.
    echo "$lua" | sed -e "s|^local DST = nil$|local DST = \"unix@$socket\"|; s/127.0.0.1:18092/127.0.0.1:9/" >"$work/reauth-unix.lua"
    for v in tcp unix; do
        port=$([ $v = tcp ] && echo 18010 || echo 18011)
        echo "$cfg" | sed -e "s|/etc/haproxy/reauth.lua|$work/reauth-$v.lua|; s/bind :8000/bind 127.0.0.1:$port/" >"$work/haproxy-$v.cfg"
    done
    printf '\nfrontend plain\n    bind 127.0.0.1:18012\n    default_backend app\n' >>"$work/haproxy-tcp.cfg"
    for v in tcp unix; do
        haproxy -q -db -f "$work/haproxy-$v.cfg" >"$work/haproxy-$v.log" 2>&1 &
        pids+=($!)
    done
    ready http://127.0.0.1:18012/open
    for port in 18010 18011; do ready "http://127.0.0.1:$port/open" -H "Authorization: Bearer $token"; done
    targets+=(ha_ungated ha_tcp ha_unix)
else
    echo "!!! haproxy is not installed: its rows are SKIPPED (apt-get install haproxy) !!!" >&2
fi
targets+=(nofile file)

# Each gated proxy must gate what it should before it is measured.
auth=(-H "Authorization: Bearer $token")
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
gated=(18000 18002)
[[ " ${targets[*]} " == *" ha_tcp "* ]] && gated+=(18010 18011)
for port in "${gated[@]}"; do
    [ "$(status "${auth[@]}" "http://127.0.0.1:$port/open")" = 200 ] ||
        { echo "127.0.0.1:$port does not let the token through (200)" >&2; exit 1; }
    [ "$(status "http://127.0.0.1:$port/open")" = 401 ] ||
        { echo "127.0.0.1:$port does not refuse a request without a token (401)" >&2; exit 1; }
done

declare -A rps p99
: >"$work/errors"
orig=(-H "X-Original-Method: GET" -H "X-Original-URI: /open" "${auth[@]}")
for _ in $(seq "$runs"); do
    for t in "${targets[@]}"; do
        wrk_cmd=(wrk)
        case $t in
            ungated) r=$(measure "$t" http://127.0.0.1:18001/open) ;;
            tcp) r=$(measure "$t" http://127.0.0.1:18000/open "${auth[@]}") ;;
            unix) r=$(measure "$t" http://127.0.0.1:18002/open "${auth[@]}") ;;
            ha_ungated) r=$(measure "$t" http://127.0.0.1:18012/open) ;;
            ha_tcp) r=$(measure "$t" http://127.0.0.1:18010/open "${auth[@]}") ;;
            ha_unix) r=$(measure "$t" http://127.0.0.1:18011/open "${auth[@]}") ;;
            nofile) wrk_cmd=(taskset -c 0 wrk); r=$(measure "$t" http://127.0.0.1:18091/verify "${orig[@]}") ;;
            file) wrk_cmd=(taskset -c 0 wrk); r=$(measure "$t" http://127.0.0.1:18092/verify "${orig[@]}") ;;
        esac
        rps[$t]+=" ${r% *}"; p99[$t]+=" ${r#* }"
    done
done
declare -A R P
for t in "${targets[@]}"; do
    R[$t]=$(echo ${rps[$t]} | median); P[$t]=$(echo ${p99[$t]} | median)
done
peak_kb=$(rss_kb "$file_gate_pid" VmHWM)
row() { # label target baseline
    echo "| $1 | ${R[$2]} | $(ratio "${R[$2]}" "${R[$3]}") | ${P[$2]} | $(ratio "${P[$2]}" "${P[$3]}") |"
}
echo "medians of $runs runs of ${secs}s, $conns connections, one worker each"
echo "| target | req/s | ratio | p99 ms | p99 ratio |"
echo "|---|---|---|---|---|"
row "nginx → app (no gate)" ungated ungated
row "nginx → gate → app (README snippet, gate over TCP)" tcp ungated
row "nginx → gate → app (README snippet, gate on a Unix socket)" unix ungated
if [ -n "${R[ha_tcp]:-}" ]; then
    row "HAProxy → app (no gate)" ha_ungated ha_ungated
    row "HAProxy → gate → app (README blocks, gate over TCP)" ha_tcp ha_ungated
    row "HAProxy → gate → app (README blocks, gate on a Unix socket)" ha_unix ha_ungated
fi
row "reauth serve /verify, no policy file" nofile nofile
row "reauth serve /verify, 20-route policy file" file nofile
echo
echo "the Unix socket's effect (socket / TCP), nginx: req/s $(ratio "${R[unix]}" "${R[tcp]}"), p99 $(ratio "${P[unix]}" "${P[tcp]}")"
[ -n "${R[ha_tcp]:-}" ] &&
    echo "the Unix socket's effect (socket / TCP), HAProxy: req/s $(ratio "${R[ha_unix]}" "${R[ha_tcp]}"), p99 $(ratio "${P[ha_unix]}" "${P[ha_tcp]}")"
echo "reauth serve (with the file) peak RSS (VmHWM): $((peak_kb / 1024)) MiB"
if grep -q . "$work/errors"; then
    echo; echo "wrk reported errors (the figures above count them as requests):"; cat "$work/errors"
    exit 1
fi
