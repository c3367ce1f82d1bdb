# Shell shared by the bench_*.sh scripts: sourced after `cd` to the
# repository's root, never run. Loopback only.
#   rel                 where cargo puts the release build (honours
#                       CARGO_TARGET_DIR, as cargo does)
#   need BIN...         exit 2 unless each program is installed
#   start_work          $work (a temporary directory), pids+=(PID) for each
#                       process started, killed with $work removed on exit
#   start_load_app [taskset args]  examples/load_app (one worker): sets app
#                       (host:port), issuer and token (the first of its file)
#   write_policy FILE   the 20-route policy: 19 routes a request to /open
#                       passes over, then the catch-all
#   ready URL [curl args...]  wait until it answers 2xx (10 s), else exit 1
#   measure NAME URL [wrk args...]  one wrk run of $secs seconds on $conns
#                       connections (wrk_cmd, default plain wrk): prints
#                       "req/s p99_ms"; wrk's error lines go to $work/errors
#   median              the median of the numbers on stdin
#   ratio A B           A / B to two decimals
#   rss_kb PID FIELD    VmRSS or VmHWM of PID in KiB (/proc/PID/status)

rel=${CARGO_TARGET_DIR:-target}/release

need() {
    for b in "$@"; do
        command -v "$b" >/dev/null || { echo "$b is required (apt-get install $b)" >&2; exit 2; }
    done
}

start_work() {
    work=$(mktemp -d)
    pids=()
    trap cleanup EXIT
}
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }

start_load_app() {
    WORKERS=1 "$@" "$rel/examples/load_app" "$work" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/app.txt" ] && break; sleep 0.1; done
    app=$(sed 's|http://||' "$work/app.txt"); issuer=$(cat "$work/issuer.txt")
    token=$(head -n1 "$work/tokens.txt")
}

write_policy() {
    {
        echo '[defaults]'; echo 'max_age = "1h"'
        for i in $(seq 19); do
            printf '\n[[route]]\nname = "r%d"\nmethods = ["POST"]\npath = "/area%d/*/action/**"\nmax_age = "5m"\n' "$i" "$i"
        done
        printf '\n[[route]]\nname = "app"\npath = "/**"\n'
    } > "$1"
    "$rel/reauth" serve --check-config "$1" >/dev/null
}

ready() {
    local url=$1; shift
    for _ in $(seq 100); do curl -fs "$@" "$url" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "$url does not answer" >&2; exit 1
}

measure() {
    local name=$1 url=$2; shift 2
    local out
    out=$("${wrk_cmd[@]:-wrk}" -t1 -c"$conns" -d"${secs}s" --latency "$@" "$url")
    echo "$out" | grep -E 'Non-2xx or 3xx responses|Socket errors' | sed "s/^ */$name: /" >>"$work/errors" || true
    echo "$out" | awk '
        /Requests\/sec/ { rps = $2 }
        $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                      p99 = v * (u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : 60000) }
        END { printf "%s %.3f\n", rps, p99 }'
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

rss_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
