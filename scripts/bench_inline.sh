#!/usr/bin/env bash
# The gate as the front door vs nginx, loopback only (about 2 minutes with
# the defaults, plus the release build). In one run, on the same cores, wrk
# with a repeated token (the memo's case) through:
#   a. nginx, plain proxy_pass with keepalive to the app (the baseline, 1.00);
#   b. `reauth serve --upstream` with a 20-route policy file, alone in front
#      of the same app;
#   c. nginx with the README's snippet (read from README.md) asking
#      `reauth serve` /verify (same policy file) before proxying to the app;
# plus wrk straight to the app (the ceiling: no proxy can beat it), and
# through examples/bare_proxy.rs: the front door's HTTP stack (hyper server,
# hyper-util pooled client, one current-thread runtime, jemalloc) with no
# decision at all, the floor of any gate built on it. (b) against it is
# what reauth's work costs; it against (a) is what the stack costs.
# Reports requests/s (medians), ratios to (a), p99 latency (wrk --latency)
# and the peak RSS (VmHWM) of the gates. Each target runs RUNS times,
# interleaved; the table shows medians (2-core machines are noisy).
# Core budget (as in bench_gate.sh): wrk on core 0; the front (nginx with one
# worker, each gate with --workers 1) on core 1, so (a), (b) and (c) each
# get one core; the app (load_app, one worker) is left to the scheduler.
# Override with WRK_CPUS, FRONT_CPUS, APP_CPUS (taskset lists), NGINX_WORKERS.
# Needs wrk, nginx (+ libnginx-mod-http-headers-more-filter), curl, taskset.
# Usage: scripts/bench_inline.sh [SECONDS] [CONNECTIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
secs=${1:-5}
conns=${2:-32}
runs=${3:-3}
wrk_cpus=${WRK_CPUS:-0}
front_cpus=${FRONT_CPUS:-1}
need wrk nginx curl taskset
cargo build --release --quiet --features cli,testing --example load_app --example bare_proxy --bin reauth

start_work
app_pin=()
[ -n "${APP_CPUS:-}" ] && app_pin=(taskset -c "$APP_CPUS")
start_load_app "${app_pin[@]}"
write_policy "$work/policy.toml"

gate() { # port [args...]: one worker on the front's core, access log off (as nginx's)
    local port=$1; shift
    RUST_LOG=warn taskset -c "$front_cpus" "$rel/reauth" serve --issuer "$issuer" \
        --audience test-client --bind "127.0.0.1:$port" --workers 1 --config "$work/policy.toml" \
        "$@" >"$work/gate-$port.log" 2>&1 &
    pids+=($!)
}
# (b): the front door; /readyz is on the admin listener.
gate 18190 --upstream "http://$app" --admin-bind 127.0.0.1:18191
inline_pid=${pids[-1]}
ready http://127.0.0.1:18191/readyz
# The stack's floor, on the front's core.
taskset -c "$front_cpus" "$rel/examples/bare_proxy" 127.0.0.1:18194 "$app" >"$work/bare.log" 2>&1 &
pids+=($!)
ready http://127.0.0.1:18194/open
# (c): the gate nginx asks.
gate 18192
verify_pid=${pids[-1]}
ready http://127.0.0.1:18192/readyz

# nginx: the README's block, localised, plus the plain proxy (a), whose idle
# pool holds a connection per client (above its size nginx opens a new
# upstream connection per request: a baseline weaker than it need be; the
# gate's pool has no such bound).
keepalive=$((conns > 32 ? conns : 32))
mkdir -p "$work/nginx"
snippet=$(awk '/^```nginx$/ {on=1; next} /^```/ {on=0} on' README.md |
    sed -e "s/127.0.0.1:3000/$app/; s/127.0.0.1:8080/127.0.0.1:18192/; s/listen 8000/listen 127.0.0.1:18100/")
echo "$snippet" | grep -q '127.0.0.1:18192' ||
    { echo "README's nginx block no longer names the gate at 127.0.0.1:8080: adapt this script" >&2; exit 1; }
cat > "$work/nginx/nginx.conf" <<CONF
include /etc/nginx/modules-enabled/*.conf;
worker_processes ${NGINX_WORKERS:-1};
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    upstream app_direct { server $app; keepalive $keepalive; }
    server {
        listen 127.0.0.1:18101;
        location / { proxy_pass http://app_direct; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
$snippet
}
CONF
taskset -c "$front_cpus" nginx -p /usr/share/nginx/ -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
ready http://127.0.0.1:18101/open

# Each target must gate what it should before it is measured.
auth=(-H "Authorization: Bearer $token")
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
for port in 18190 18100; do
    [ "$(status "${auth[@]}" "http://127.0.0.1:$port/open")" = 200 ] ||
        { echo "127.0.0.1:$port does not let the token through (200)" >&2; exit 1; }
    [ "$(status "http://127.0.0.1:$port/open")" = 401 ] ||
        { echo "127.0.0.1:$port does not refuse a request without a token (401)" >&2; exit 1; }
done

wrk_cmd=(taskset -c "$wrk_cpus" wrk)
declare -A rps p99
: >"$work/errors"
for _ in $(seq "$runs"); do
    for t in app plain bare inline forward; do
        case $t in
            app) r=$(measure "$t" "http://$app/open" "${auth[@]}") ;;
            plain) r=$(measure "$t" http://127.0.0.1:18101/open "${auth[@]}") ;;
            bare) r=$(measure "$t" http://127.0.0.1:18194/open "${auth[@]}") ;;
            inline) r=$(measure "$t" http://127.0.0.1:18190/open "${auth[@]}") ;;
            forward) r=$(measure "$t" http://127.0.0.1:18100/open "${auth[@]}") ;;
        esac
        rps[$t]+=" ${r% *}"; p99[$t]+=" ${r#* }"
    done
done
declare -A R P
for t in app plain bare inline forward; do
    R[$t]=$(echo ${rps[$t]} | median); P[$t]=$(echo ${p99[$t]} | median)
done
inline_kb=$(rss_kb "$inline_pid" VmHWM)
verify_kb=$(rss_kb "$verify_pid" VmHWM)
echo "medians of $runs runs of ${secs}s, $conns connections; wrk on CPU $wrk_cpus, the front on CPU $front_cpus"
echo "| target | req/s | ratio to (a) | p99 ms | p99 ratio to (a) |"
echo "|---|---|---|---|---|"
echo "| app alone, no proxy (ceiling) | ${R[app]} | $(ratio "${R[app]}" "${R[plain]}") | ${P[app]} | $(ratio "${P[app]}" "${P[plain]}") |"
echo "| (a) nginx proxy_pass, keepalive (no gate) | ${R[plain]} | 1.00 | ${P[plain]} | 1.00 |"
echo "| hyper alone, no decision (examples/bare_proxy.rs: the stack's floor) | ${R[bare]} | $(ratio "${R[bare]}" "${R[plain]}") | ${P[bare]} | $(ratio "${P[bare]}" "${P[plain]}") |"
echo "| (b) reauth serve --upstream, 20-route policy | ${R[inline]} | $(ratio "${R[inline]}" "${R[plain]}") | ${P[inline]} | $(ratio "${P[inline]}" "${P[plain]}") |"
echo "| (c) nginx + README snippet + reauth serve /verify | ${R[forward]} | $(ratio "${R[forward]}" "${R[plain]}") | ${P[forward]} | $(ratio "${P[forward]}" "${P[plain]}") |"
echo
echo "(b) against the stack's floor: req/s $(ratio "${R[inline]}" "${R[bare]}"), p99 $(ratio "${P[inline]}" "${P[bare]}")"
echo "peak RSS (VmHWM): (b) reauth serve --upstream $((inline_kb / 1024)) MiB; (c) reauth serve /verify $((verify_kb / 1024)) MiB"
if grep -q . "$work/errors"; then
    echo; echo "wrk reported errors (the figures above count them as requests):"; cat "$work/errors"
    for port in 18190 18192; do grep -iE 'warn|error' "$work/gate-$port.log" | head -5 || true; done
    exit 1
fi
