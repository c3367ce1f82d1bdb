#!/usr/bin/env bash
# Memory of the gate as the front door (`reauth serve --upstream`), loopback
# only (about 2 minutes with the defaults, plus the release build); issue
# 26's targets:
#   (a) peak RSS (VmHWM) with 1,000 concurrent keep-alive connections doing
#       gated requests (wrk -c1000, a repeated token, the 20-route policy),
#       upstream nginx answering 200: target <= 64 MiB;
#   (b) RSS growth over the idle gate while 1 GiB request bodies (with a
#       Content-Length, and chunked) and 1 GiB response bodies stream
#       through it, one at a time, at full speed, from and to curl; the
#       upstream (a small Python server written below) reads every byte
#       of an upload, answers its count, and streams downloads of zeros:
#       target <= 16 MiB.
# Each run starts a fresh gate (so its VmHWM is its own). "Idle" is VmRSS
# after a few small gated requests; the peak of each transfer is VmHWM,
# reset to the current RSS before it (/proc/PID/clear_refs, 5), and VmRSS
# is also sampled every 50 ms. The issuer and the token come from
# `reauth dev-issuer`. The gate runs with its defaults (--workers 0: one
# runtime per CPU; --max-connections 10,000; no --upstream-max-connections)
# unless WORKERS or GATE_ARGS (more `serve` flags) is set.
# Medians of RUNS runs.
# Needs wrk, nginx, curl, python3. Raises `ulimit -n` to its hard limit.
# Usage: scripts/bench_rss.sh [SECONDS] [CONNECTIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
secs=${1:-10}
conns=${2:-1000}
runs=${3:-3}
workers=${WORKERS:-0}
read -r -a gate_args <<<"${GATE_ARGS:-}"
gib=$((1024 * 1024 * 1024))
need wrk nginx curl python3
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * conns + 512)) ] ||
    { echo "ulimit -n is $(ulimit -n): $((2 * conns + 512)) file descriptors are needed" >&2; exit 2; }
cargo build --release --quiet --features cli --bin reauth

start_work
write_policy "$work/policy.toml"

# The issuer, and one token for every request.
"$rel/reauth" dev-issuer --bind 127.0.0.1:18290 >"$work/issuer.out" 2>"$work/issuer.log" &
pids+=($!)
issuer=http://127.0.0.1:18290
token=$("$rel/reauth" dev-issuer token --issuer "$issuer" --sub bench-user)
auth=(-H "Authorization: Bearer $token")

# (a)'s upstream: nginx answering 200, keeping the gate's connections open.
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $((4 * conns + 1024));
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections $((4 * conns + 512)); }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:18282;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
CONF
nginx -p /usr/share/nginx/ -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
ready http://127.0.0.1:18282/open

# (b)'s upstream: reads every byte of a POST (Content-Length or chunked) and
# answers the count; GET /download?bytes=N streams N zeros.
cat > "$work/stream_app.py" <<'PY'
import http.server, sys

CHUNK = 1 << 18
ZEROS = bytes(CHUNK)

class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drain(self, left):
        while left:
            got = self.rfile.read(min(left, CHUNK))
            if not got:
                raise ConnectionError("body cut short")
            left -= len(got)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                self.drain(size)
                self.rfile.readline(1024)
                total += size
        total = int(self.headers.get("Content-Length") or 0)
        self.drain(total)
        return total

    def do_POST(self):
        self.reply(b"%d\n" % self.read_body())

    def do_GET(self):
        if not self.path.startswith("/download?bytes="):
            return self.reply(b"ok\n")
        left = int(self.path.split("=", 1)[1])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(left))
        self.end_headers()
        while left:
            n = min(left, CHUNK)
            self.wfile.write(ZEROS if n == CHUNK else bytes(n))
            left -= n

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
server.daemon_threads = True
with open(sys.argv[1], "w") as f:
    f.write("%d" % server.server_address[1])
server.serve_forever()
PY
python3 "$work/stream_app.py" "$work/stream_port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/stream_port" ] && break; sleep 0.1; done
stream_app=127.0.0.1:$(cat "$work/stream_port")
ready "http://$stream_app/open"
truncate -s "$gib" "$work/upload.bin" # sparse: curl reads zeros from it

start_gate() { # upstream: a fresh front door on 127.0.0.1:18280 -> gate_pid
    RUST_LOG=warn "$rel/reauth" serve --issuer "$issuer" --audience test-client \
        --config "$work/policy.toml" --workers "$workers" --bind 127.0.0.1:18280 \
        --upstream "http://$1" --admin-bind 127.0.0.1:18281 "${gate_args[@]}" >>"$work/gate.log" 2>&1 &
    gate_pid=$!
    pids+=("$gate_pid")
    ready http://127.0.0.1:18281/readyz
    for _ in $(seq 10); do curl -fs "${auth[@]}" http://127.0.0.1:18280/open >/dev/null; done
}
stop_gate() { kill "$gate_pid"; wait "$gate_pid" 2>/dev/null || true; }
sampler() { # pid file: VmRSS every 50 ms, until killed
    while :; do rss_kb "$1" VmRSS >>"$2" 2>/dev/null || return 0; sleep 0.05; done
}
max_of() { sort -g "$1" | tail -n1; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# (a) 1,000 keep-alive connections.
declare -A A
: >"$work/errors"
for run in $(seq "$runs"); do
    start_gate 127.0.0.1:18282
    idle=$(rss_kb "$gate_pid" VmRSS)
    : >"$work/samples"; sampler "$gate_pid" "$work/samples" & spid=$!
    wrk -t2 -c"$conns" -d"${secs}s" --latency "${auth[@]}" http://127.0.0.1:18280/open >"$work/wrk.out" &
    wpid=$!
    sleep "$((secs / 2))"
    open=$(ss -Htn state established '( sport = :18280 )' | wc -l)
    grep -E '^(Rss|Anonymous|Private_Dirty)' "/proc/$gate_pid/smaps_rollup" | tr -s ' ' >"$work/smaps-a-$run"
    wait "$wpid"
    kill "$spid"; wait "$spid" 2>/dev/null || true
    grep -E 'Non-2xx or 3xx responses|Socket errors' "$work/wrk.out" | sed "s/^ */run $run: /" >>"$work/errors" || true
    r=$(awk '
        /Requests\/sec/ { rps = $2 }
        $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                      p99 = v * (u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : 60000) }
        END { printf "%s %.3f\n", rps, p99 }' "$work/wrk.out")
    A[idle]+=" $idle"; A[hwm]+=" $(rss_kb "$gate_pid" VmHWM)"; A[sampled]+=" $(max_of "$work/samples")"
    A[open]+=" $open"; A[rps]+=" ${r% *}"; A[p99]+=" ${r#* }"
    stop_gate
done

# (b) 1 GiB bodies, one transfer at a time.
transfer() { # kind: one 1 GiB transfer through the gate; prints "bytes speed"
    local url=http://127.0.0.1:18280
    case $1 in
        upload) curl -fsS "${auth[@]}" -T "$work/upload.bin" -X POST -o "$work/answer" \
            -w '%{size_upload} %{speed_upload}' "$url/upload" ;;
        chunked) head -c "$gib" /dev/zero | curl -fsS "${auth[@]}" -T - -X POST -o "$work/answer" \
            -H 'Transfer-Encoding: chunked' -w '%{size_upload} %{speed_upload}' "$url/upload" ;;
        download) curl -fsS "${auth[@]}" -o /dev/null \
            -w '%{size_download} %{speed_download}' "$url/download?bytes=$gib" ;;
    esac
}
declare -A B
for run in $(seq "$runs"); do
    start_gate "$stream_app"
    # A warm path: the three kinds once with 1 MiB.
    curl -fsS "${auth[@]}" -o /dev/null "http://127.0.0.1:18280/download?bytes=1048576"
    head -c 1048576 /dev/zero | curl -fsS "${auth[@]}" -T - -X POST -o /dev/null http://127.0.0.1:18280/upload
    for kind in upload chunked download; do
        idle=$(rss_kb "$gate_pid" VmRSS)
        echo 5 >"/proc/$gate_pid/clear_refs"
        : >"$work/samples"; sampler "$gate_pid" "$work/samples" & spid=$!
        out=$(transfer "$kind")
        kill "$spid"; wait "$spid" 2>/dev/null || true
        grep -E '^(Rss|Anonymous)' "/proc/$gate_pid/smaps_rollup" | tr -s ' ' >"$work/smaps-b-$kind-$run"
        # What arrived: the upstream's count of an upload (curl's counts
        # chunk framing), curl's of a download.
        got=$([ "$kind" = download ] && echo "${out% *}" || cat "$work/answer")
        [ "$got" = "$gib" ] || { echo "$kind: $got bytes arrived, not $gib" >&2; exit 1; }
        hwm=$(rss_kb "$gate_pid" VmHWM)
        B[$kind-idle]+=" $idle"; B[$kind-growth]+=" $((hwm - idle))"
        B[$kind-sampled]+=" $(( $(max_of "$work/samples") - idle ))"
        B[$kind-speed]+=" ${out#* }"
    done
    stop_gate
done

med() { echo $1 | median; }
echo "reauth serve --upstream, --workers $workers ($( [ "$workers" = 0 ] && nproc || echo "$workers") runtime threads), medians of $runs runs; RSS in MiB"
echo
echo "(a) $conns keep-alive connections: wrk -t2 -c$conns -d${secs}s, GET /open with a repeated token, the 20-route policy, nginx upstream"
echo "| idle RSS | peak RSS (VmHWM) | peak sampled VmRSS | connections open at mid-run | req/s | p99 ms | target |"
echo "|---|---|---|---|---|---|---|"
hwm=$(med "${A[hwm]}")
verdict=$([ "$hwm" -le $((64 * 1024)) ] && echo "<= 64 MiB: met" || echo "<= 64 MiB: **not met**")
echo "| $(mib "$(med "${A[idle]}")") | $(mib "$hwm") | $(mib "$(med "${A[sampled]}")") | $(med "${A[open]}") | $(med "${A[rps]}") | $(med "${A[p99]}") | $verdict |"
echo "per run, VmHWM: $(for k in ${A[hwm]}; do printf '%s ' "$(mib "$k")"; done)"
echo
echo "(b) 1 GiB bodies through the gate, one at a time (curl <-> gate <-> Python upstream)"
echo "| transfer | idle RSS | growth (VmHWM - idle) | growth (sampled VmRSS - idle) | MB/s | target |"
echo "|---|---|---|---|---|---|"
for kind in upload chunked download; do
    case $kind in
        upload) label="1 GiB upload, Content-Length" ;;
        chunked) label="1 GiB upload, chunked" ;;
        download) label="1 GiB download" ;;
    esac
    g=$(med "${B[$kind-growth]}")
    verdict=$([ "$g" -le $((16 * 1024)) ] && echo "<= 16 MiB: met" || echo "<= 16 MiB: **not met**")
    speed=$(awk -v s="$(med "${B[$kind-speed]}")" 'BEGIN { printf "%.0f", s / 1e6 }')
    echo "| $label | $(mib "$(med "${B[$kind-idle]}")") | $(mib "$g") | $(mib "$(med "${B[$kind-sampled]}")") | $speed | $verdict |"
done
echo
echo "(a) at mid-run of the last run (/proc/PID/smaps_rollup, kB):" $(cat "$work/smaps-a-$runs")
if grep -q . "$work/errors"; then
    echo; echo "wrk reported errors (the figures above count them as requests):"; cat "$work/errors"
    grep -iE 'warn|error' "$work/gate.log" | head -5 || true
    exit 1
fi
