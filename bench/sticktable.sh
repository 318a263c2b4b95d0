#!/usr/bin/env bash
# Stick tables and abuse control: Breakwater vs HAProxy (Debian's 2.6) on
# loopback, one proxy at a time, same config. See bench/README.md.
#   part 1  tracking overhead: wrk throughput with and without
#           `track-sc0 src` + the two ACLs + tarpit (limits never reached)
#   part 2  memory per stick-table entry (string keys, filled via wrk)
#   part 3  botnet drill: 1,000 abusive + 50 polite clients on distinct
#           127.x source addresses against the incident write-up's config
#
# Env knobs:
#   PARTS           which parts to run                       (default "1 2 3")
#   DURATION        part 1: seconds per wrk run               (default 10)
#   RUNS            part 1: runs per variant and proxy        (default 3)
#   CONNS           part 1: wrk connections                   (default 64)
#   FILL_KEYS       part 2: target entry count                (default 2000000)
#   FILL_SECONDS    part 2: cap on the fill time per proxy    (default 120)
#   DRILL_SECONDS   part 3: seconds per attack phase          (default 60)
#   QUIET_SECONDS   part 3: polite-only reference phase       (default 20; 0 = skip)
#   DRILL_BASELINE  part 3: 1 = also run the attack without the tarpit rule (default 1)
#   ABUSIVE         part 3: abusive clients, 127.1.x.y        (default 1000)
#   POLITE          part 3: polite clients, 127.2.0.x, 1 req/s (default 50)
#   DRILL_PROCS     part 3: generator processes for the abusive clients (default 2)
#   BREAKWATER_BIN  default <repo>/.build/release/breakwater
#   NETNS           1 (default): run in a private network namespace (own loopback)
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

PARTS=${PARTS:-"1 2 3"}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-64}
FILL_KEYS=${FILL_KEYS:-2000000}
FILL_SECONDS=${FILL_SECONDS:-120}
DRILL_SECONDS=${DRILL_SECONDS:-60}
QUIET_SECONDS=${QUIET_SECONDS:-20}
DRILL_BASELINE=${DRILL_BASELINE:-1}
ABUSIVE=${ABUSIVE:-1000}
POLITE=${POLITE:-50}
DRILL_PROCS=${DRILL_PROCS:-2}
WARMUP=2
WRK_THREADS=2
START_LIMIT_S=10
HIGH_LIMIT=1000000000 # part 1 ACL thresholds: never reached

isint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in DURATION RUNS CONNS FILL_KEYS FILL_SECONDS DRILL_SECONDS DRILL_PROCS; do
    if ! isint "${!v}" || ((${!v} < 1)); then die "$v must be a positive integer (got ${!v})"; fi
done
for v in QUIET_SECONDS ABUSIVE POLITE; do isint "${!v}" || die "$v must be a non-negative integer (got ${!v})"; done
((CONNS >= WRK_THREADS)) || die "CONNS must be >= $WRK_THREADS"
((ABUSIVE <= 64000 && POLITE <= 250)) || die "ABUSIVE must be <= 64000 and POLITE <= 250"
((ABUSIVE + POLITE >= 1)) || die "ABUSIVE + POLITE must be >= 1"
[[ $DRILL_BASELINE == 0 || $DRILL_BASELINE == 1 ]] || die "DRILL_BASELINE must be 0 or 1"
for p in $PARTS; do [[ $p == 1 || $p == 2 || $p == 3 ]] || die "PARTS entries must be 1, 2 or 3 (got $p)"; done
want() { [[ " $PARTS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- tools ----
need=()
for t in haproxy nginx wrk socat; do command -v "$t" >/dev/null || need+=("$t"); done
if ((${#need[@]})); then
    [[ $(id -u) == 0 ]] || die "missing ${need[*]}; run as root or install them: apt-get install -y ${need[*]}"
    log "installing ${need[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need[@]}" >&2
fi
for t in haproxy nginx wrk socat curl python3 ss timeout; do command -v "$t" >/dev/null || die "$t not found"; done

BREAKWATER_BIN=${BREAKWATER_BIN:-$REPO_ROOT/.build/release/breakwater}
[[ -x $BREAKWATER_BIN ]] || die "BREAKWATER_BIN=$BREAKWATER_BIN is not an executable file; build it with \`swift build -c release --product breakwater\` (in $REPO_ROOT) or point BREAKWATER_BIN at a binary"
BREAKWATER_BIN=$(cd "$(dirname "$BREAKWATER_BIN")" && pwd)/$(basename "$BREAKWATER_BIN")

# Private network namespace (as in health.sh): its own loopback, so the 1,050
# drill addresses, their ephemeral ports and TIME_WAITs stay out of the host's
# way, and nothing else on the machine talks to our ports. unshare without
# --fork keeps our PID, so Ctrl-C still reaches this script.
export BREAKWATER_BIN
enter_netns "$BENCH_DIR/sticktable.sh" "$@"
if [[ -n ${BENCH_IN_NETNS:-} ]]; then NETNS_NOTE="private network namespace"; fi

# ------------------------------------------------------------- workdir ----
WORK=$(mktemp -d /tmp/bw-bench-sticktable.XXXXXX)
chmod 755 "$WORK"

install_cleanup_traps

# fds: 1,050 drill clients (+ reconnects) in the generator, ~2 per connection
# in the proxy. HAProxy refuses to start if it cannot get ~2 fds per maxconn,
# so maxconn is clamped (in both proxies' configs alike) to what the hard
# limit allows.
clamp_maxconn 100000 100
[[ -z $MAXCONN_NOTE ]] || MAXCONN_NOTE+=" The load stays far below."
nofile_hard=$(ulimit -Hn)
if [[ $nofile_hard != unlimited ]] && ((nofile_hard < 2 * (ABUSIVE + POLITE) + 200)); then
    die "RLIMIT_NOFILE hard limit $nofile_hard is too low for $((ABUSIVE + POLITE)) drill clients"
fi
((MAXCONN > 2 * (ABUSIVE + POLITE) + 200)) || die "maxconn $MAXCONN is too low for the drill"

mapfile -t PORTS < <(free_ports 6)
NGX_PORT=${PORTS[0]}
PLAIN_PORT=${PORTS[1]} # part 1, frontend without tracking
TRACK_PORT=${PORTS[2]} # part 1, frontend with tracking
FILL_PORT=${PORTS[3]}  # part 2
DRILL_PORT=${PORTS[4]} # part 3, the write-up's frontend
BASE_PORT=${PORTS[5]}  # part 3, same without the tarpit rule
SOCK=$WORK/admin.sock  # proxies run one at a time and share the path

# ------------------------------------------------------------- backend ----
NGX=$WORK/nginx
mkdir -p "$NGX/tmp"
BODY64=$(head -c 64 /dev/zero | tr '\0' 'a')
cat >"$NGX/nginx.conf" <<NGXCFG
worker_processes 2;
daemon off;
master_process on;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    default_type application/octet-stream;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT backlog=4096;
        location = /64 { return 200 "$BODY64"; }
        location / { return 404; }
    }
}
NGXCFG
spawn nginx "$NGX/stdout.log" nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log"
NGX_PID=$SPAWNED_PID
wait_http "http://127.0.0.1:$NGX_PORT/64" 10 "$NGX_PID" ||
    { cat "$NGX/error.log" "$NGX/stdout.log" >&2 || true; die "nginx did not come up"; }
log "nginx backend on 127.0.0.1:$NGX_PORT (pid $NGX_PID)"

# ------------------------------------------------------------- configs ----
cfg_head() {
    cat <<CFG
global
    nbthread 2
    maxconn $MAXCONN
    stats socket $SOCK level admin

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse safe

CFG
}
cfg_backend() {
    cat <<CFG

backend be
    server ngx 127.0.0.1:$NGX_PORT
CFG
}
CFG1=$WORK/overhead.cfg
{
    cfg_head
    cat <<CFG
backend st_req_rate
    stick-table type ip size 2m expire 30s store http_req_rate(10s),bytes_out_rate(10s)

frontend fe_plain
    bind 127.0.0.1:$PLAIN_PORT
    default_backend be

frontend fe_track
    bind 127.0.0.1:$TRACK_PORT
    http-request track-sc0 src table st_req_rate
    acl is_abusive sc_http_req_rate(0) gt $HIGH_LIMIT
    acl is_bandwidth_hog sc_bytes_out_rate(0) gt $HIGH_LIMIT
    http-request tarpit if is_abusive || is_bandwidth_hog
    timeout tarpit 5s
    default_backend be
CFG
    cfg_backend
} >"$CFG1"
CFG2=$WORK/memory.cfg
{
    cfg_head
    cat <<CFG
backend big
    stick-table type string len 32 size 2m expire 10m store http_req_rate(10s),bytes_out_rate(10s)

frontend fe_fill
    bind 127.0.0.1:$FILL_PORT
    http-request track-sc0 req.hdr(x-client) table big
    default_backend be
CFG
    cfg_backend
} >"$CFG2"
CFG3=$WORK/drill.cfg
{
    cfg_head
    cat <<CFG
# the incident write-up's block, verbatim
backend st_req_rate
    stick-table type ip size 2m expire 30s store http_req_rate(10s),bytes_out_rate(10s)

frontend https-in
    bind 127.0.0.1:$DRILL_PORT
    http-request track-sc0 src table st_req_rate
    acl is_abusive sc_http_req_rate(0) gt 50
    acl is_bandwidth_hog sc_bytes_out_rate(0) gt 52428800
    http-request tarpit if is_abusive || is_bandwidth_hog
    timeout tarpit 5s
    default_backend be

# baseline: the same without the tarpit rule (own table)
backend st_req_rate_base
    stick-table type ip size 2m expire 30s store http_req_rate(10s),bytes_out_rate(10s)

frontend baseline
    bind 127.0.0.1:$BASE_PORT
    http-request track-sc0 src table st_req_rate_base
    acl is_abusive sc_http_req_rate(0) gt 50
    acl is_bandwidth_hog sc_bytes_out_rate(0) gt 52428800
    default_backend be
CFG
    cfg_backend
} >"$CFG3"

PROXIES=(HAProxy Breakwater)
proxy_cmd() { # proxy_cmd NAME CFG -> sets CMD array
    case $1 in
    HAProxy) CMD=(haproxy -f "$2" -db) ;;
    Breakwater) CMD=("$BREAKWATER_BIN" proxy -f "$2") ;;
    esac
}
if [[ $(basename "$BREAKWATER_BIN") == breakwater ]]; then
    for c in $PARTS; do
        cf=$(eval echo "\$CFG$c")
        "$BREAKWATER_BIN" check -f "$cf" >"$WORK/check$c.log" 2>&1 ||
            { cat "$WORK/check$c.log" >&2; die "breakwater check rejects the part $c config ($cf above)"; }
    done
fi
for c in $PARTS; do
    cf=$(eval echo "\$CFG$c")
    haproxy -c -q -f "$cf" >"$WORK/hcheck$c.log" 2>&1 || { cat "$WORK/hcheck$c.log" >&2; die "haproxy -c rejects the part $c config"; }
done

proxy_failed() { # proxy_failed NAME LOG MSG [PID]
    local how=
    if [[ -n ${4:-} ]] && ! alive "$4"; then
        local rc=0
        reap "$4" || rc=$?
        how=" (exit status $rc)"
    fi
    log "--- last lines of $1's output ---"
    tail -n 30 "$2" >&2 || true
    die "$1: $3$how"
}
# start_proxy NAME CFG TAG URL... : starts it, waits for a 200 on every URL; sets PPID_ and PLOG
start_proxy() {
    local name=$1 cfg=$2 tag=$3 url
    shift 3
    proxy_cmd "$name" "$cfg"
    rm -f "$SOCK"
    PLOG=$WORK/$name.$tag.log
    spawn "$name" "$PLOG" "${CMD[@]}"
    PPID_=$SPAWNED_PID
    for url in "$@"; do
        wait_http "$url" "$START_LIMIT_S" "$PPID_" || proxy_failed "$name" "$PLOG" "no 200 from $url within ${START_LIMIT_S}s (${CMD[*]})" "$PPID_"
    done
    local i
    for ((i = 0; i < 100; i++)); do [[ -S $SOCK ]] && break; sleep 0.05; done
    [[ -S $SOCK ]] || log "WARNING: $name did not create the admin socket $SOCK"
    log "$name up (pid $PPID_, $tag)"
}
admin() { # admin CMD : one command on the admin socket
    timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK" <<<"$1" 2>/dev/null || true
}
table_used() { # table_used NAME : the used:N of `show table` (NA if absent)
    admin "show table" | awk -v t="$1" '
        index($0, "# table: " t ",") == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^used:/) { sub(/^used:/, "", $i); sub(/,$/, "", $i); print $i; f = 1; exit } }
        END { if (!f) print "NA" }'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo NA; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo NA; }

run_wrk() { # run_wrk PROXY URL SECONDS OUTFILE [wrk args...]
    local name=$1 url=$2 secs=$3 out=$4
    shift 4
    spawn wrk "$out" timeout -k 5 $((secs + 30)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"$secs"s --latency "$@" "$url"
    reap "$SPAWNED_PID" || { log "wrk exited non-zero against $name:"; cat "$out" >&2; }
    alive "$PPID_" || proxy_failed "$name" "$PLOG" "exited during wrk" "$PPID_"
}

# --------------------------------------------------------- machine line ----
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -n $cpu_model ]] || cpu_model=$(awk -F': *' '/^(Hardware|cpu model|Processor)/ {print $2; exit}' /proc/cpuinfo)
haproxy_v=$(haproxy -v 2>&1 | sed -n 1p)
nginx_v=$(nginx -v 2>&1 | sed -n 1p)
wrk_v=$( (wrk -v 2>&1 || true) | sed -n 1p | sed 's/ *Copyright.*//')
MACHINE="$(uname -srm) | nproc $(nproc) | ${cpu_model:-unknown CPU} | $(date -u '+%Y-%m-%d %H:%M:%S UTC') | $haproxy_v | $nginx_v | $wrk_v | $(python3 -V 2>&1)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }'; then
    log "WARNING: load average is $LOAD_START on $(nproc) cores; other work on the machine will skew the figures"
fi

est=0
want 1 && est=$((est + 2 * (2 * WARMUP + 2 * RUNS * (DURATION + 1))))
want 2 && est=$((est + 2 * (WARMUP + FILL_SECONDS + 5)))
want 3 && est=$((est + 2 * (QUIET_SECONDS + (1 + DRILL_BASELINE) * (DRILL_SECONDS + 5))))
log "parts: $PARTS; at most ~${est}s"

R1=$WORK/overhead.tsv # proxy variant run rps p50 p99 errors
R2=$WORK/memory.tsv   # proxy rss0 used0 rss1 used1 hwm fill_s rps target
R3=$WORK/drill.tsv    # proxy phase jsonfile
: >"$R1"
: >"$R2"
: >"$R3"
RAW=$WORK/raw.txt # admin-socket dumps for the report
: >"$RAW"

# ------------------------------------------------------ part 1: overhead ----
if want 1; then
    for p in "${PROXIES[@]}"; do
        start_proxy "$p" "$CFG1" overhead "http://127.0.0.1:$PLAIN_PORT/64" "http://127.0.0.1:$TRACK_PORT/64"
        for v in plain track; do
            port=$PLAIN_PORT
            [[ $v == track ]] && port=$TRACK_PORT
            log "part 1 $p warm-up $v ${WARMUP}s"
            run_wrk "$p" "http://127.0.0.1:$port/64" "$WARMUP" "$WORK/warm-$p-$v.txt"
        done
        for ((r = 1; r <= RUNS; r++)); do
            order="plain track"
            ((r % 2 == 0)) && order="track plain" # ABBA against drift
            for v in $order; do
                port=$PLAIN_PORT
                [[ $v == track ]] && port=$TRACK_PORT
                out=$WORK/wrk-$p-$v-$r.txt
                run_wrk "$p" "http://127.0.0.1:$port/64" "$DURATION" "$out"
                read -r rps p50 p99 err < <(parse_wrk "$out")
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$v" "$r" "$rps" "$p50" "$p99" "$err" >>"$R1"
                log "part 1 $p $v run $r/$RUNS: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err"
                [[ $rps != NA ]] || { log "--- unparsable wrk output ---"; cat "$out" >&2; }
                sleep 0.5
            done
        done
        { echo "## part 1, $p: show table st_req_rate"; admin "show table st_req_rate"; } >>"$RAW"
        stop_pid "$PPID_"
        sleep 1
    done
fi

# -------------------------------------------------------- part 2: memory ----
if want 2; then
    quota=$(((FILL_KEYS + WRK_THREADS - 1) / WRK_THREADS))
    for p in "${PROXIES[@]}"; do
        start_proxy "$p" "$CFG2" memory "http://127.0.0.1:$FILL_PORT/64"
        # warm-up with one constant key: connection buffers and pools are
        # allocated before the baseline RSS is read
        log "part 2 $p warm-up ${WARMUP}s (one key)"
        run_wrk "$p" "http://127.0.0.1:$FILL_PORT/64" "$WARMUP" "$WORK/fillwarm-$p.txt" -H "x-client: warm"
        sleep 1
        rss0=$(rss_kb "$PPID_")
        used0=$(table_used big)
        log "part 2 $p before the fill: VmRSS $rss0 kB, used $used0; filling to $FILL_KEYS keys (cap ${FILL_SECONDS}s)"
        out=$WORK/fill-$p.txt
        spawn wrk "$out" timeout -k 5 $((FILL_SECONDS + 30)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"$FILL_SECONDS"s \
            -s "$BENCH_DIR/lib/fill.lua" "http://127.0.0.1:$FILL_PORT/64" -- "$quota"
        wpid=$SPAWNED_PID
        t0=$(now_us)
        used=$used0
        next_log=10
        while alive "$wpid"; do
            sleep 1
            used=$(table_used big)
            el=$((($(now_us) - t0) / 1000000))
            if [[ $used =~ ^[0-9]+$ ]] && ((used >= FILL_KEYS)); then break; fi
            if ((el >= next_log)); then
                log "part 2 $p: ${el}s, used $used"
                next_log=$((next_log + 10))
            fi
            alive "$PPID_" || proxy_failed "$p" "$PLOG" "exited during the fill" "$PPID_"
        done
        fill_us=$(($(now_us) - t0))
        stop_pid "$wpid"
        alive "$PPID_" || proxy_failed "$p" "$PLOG" "exited during the fill" "$PPID_"
        sleep 2 # let in-flight requests finish and the allocator settle
        rss1=$(rss_kb "$PPID_")
        used1=$(table_used big)
        hwm=$(hwm_kb "$PPID_")
        rps=$(awk -v u="$used1" -v u0="$used0" -v t="$fill_us" 'BEGIN { if (u ~ /^[0-9]+$/) printf "%.0f", (u - u0) * 1e6 / t; else print "NA" }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$rss0" "$used0" "$rss1" "$used1" "$hwm" \
            "$(awk -v t="$fill_us" 'BEGIN { printf "%.1f", t / 1e6 }')" "$rps" "$FILL_KEYS" >>"$R2"
        log "part 2 $p after the fill: used $used1, VmRSS $rss1 kB (was $rss0 kB), VmHWM $hwm kB"
        { echo "## part 2, $p: show table"; admin "show table"; } >>"$RAW"
        stop_pid "$PPID_"
        sleep 1
    done
fi

# --------------------------------------------------------- part 3: drill ----
drill() { # drill PROXY PHASE PORT SECONDS ABUSIVE POLITE
    local out=$WORK/drill-$1-$2.json
    log "part 3 $1 $2: $5 abusive + $6 polite clients for $4 s"
    spawn drill "$out" timeout -k 5 $(($4 + 60)) python3 "$BENCH_DIR/lib/drill.py" --port "$3" --path /64 \
        --seconds "$4" --abusive "$5" --polite "$6" --procs "$DRILL_PROCS" --timeout 15 --grace 20
    reap "$SPAWNED_PID" || { log "drill generator failed:"; cat "$out" >&2; die "drill generator failed ($1 $2)"; }
    alive "$PPID_" || proxy_failed "$1" "$PLOG" "exited during the $2 phase" "$PPID_"
    # stdout is the JSON line; anything else in the file came from stderr
    python3 -c 'import json,sys; json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])' "$out" ||
        { cat "$out" >&2; die "drill generator output is not JSON ($1 $2)"; }
    printf '%s\t%s\t%s\n' "$1" "$2" "$out" >>"$R3"
    python3 - "$out" <<'PY' |
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
a, p = d["abusive"], d["polite"]
print("abusive sent %s, 200s %s, status %s, errors %s; polite sent %s, p50 %s ms, p99 %s ms, status %s, errors %s"
      % (a["sent"], a["ok"], a["status"], a["errors"], p["sent"], p["p50_ms"], p["p99_ms"], p["status"], p["errors"]))
PY
        while read -r l; do log "part 3 $1 $2: $l"; done
}
if want 3; then
    for p in "${PROXIES[@]}"; do
        start_proxy "$p" "$CFG3" drill "http://127.0.0.1:$DRILL_PORT/64" "http://127.0.0.1:$BASE_PORT/64"
        if ((QUIET_SECONDS > 0 && POLITE > 0)); then
            drill "$p" quiet "$DRILL_PORT" "$QUIET_SECONDS" 0 "$POLITE"
            sleep 1
        fi
        drill "$p" limited "$DRILL_PORT" "$DRILL_SECONDS" "$ABUSIVE" "$POLITE"
        { echo "## part 3, $p: show table (after the limited phase)"; admin "show table"; } >>"$RAW"
        if ((DRILL_BASELINE)); then
            sleep 2
            drill "$p" baseline "$BASE_PORT" "$DRILL_SECONDS" "$ABUSIVE" "$POLITE"
            { echo "## part 3, $p: show table (after the baseline phase)"; admin "show table"; } >>"$RAW"
        fi
        stop_pid "$PPID_"
        sleep 2
    done
fi

stop_all # nginx
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# -------------------------------------------------------------- report ----
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/sticktable-$(date -u +%Y%m%dT%H%M%SZ).md
python3 "$BENCH_DIR/lib/sticktable_report.py" "$R1" "$R2" "$R3" "$RAW" "$MACHINE" "$PARTS" "$DURATION" "$RUNS" \
    "$CONNS" "$FILL_KEYS" "$FILL_SECONDS" "$DRILL_SECONDS" "$QUIET_SECONDS" "$ABUSIVE" "$POLITE" "$DRILL_PROCS" \
    "$BREAKWATER_BIN" "$NETNS_NOTE" "$MAXCONN_NOTE" "$LOAD_START" "$LOAD_END" "$(nproc)" "$CFG1" "$CFG2" "$CFG3" >"$REPORT"
cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
