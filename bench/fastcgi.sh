#!/usr/bin/env bash
# FastCGI benchmark: one php-fpm pool (pm static, 8 workers) behind Breakwater,
# HAProxy 2.6 (fcgi-app, the same config file) and nginx (fastcgi_pass), one
# peer at a time, all on loopback. See bench/README.md.
#
# Env knobs:
#   DURATION        seconds per measured wrk run on the tiny script   (default 10)
#   RUNS            rounds over the peers (median reported)           (default 3)
#   CONNS           wrk connection counts on the tiny script         (default "32 128")
#   DRILL_SECONDS   burst drill length                               (default 30)
#   DRILL_CONNS     burst drill clients                              (default 256)
#   SLOW_MS         slow.php sleep, ms                               (default 200)
#   PARTS           "tiny drill", or one of them                      (default both)
#   PEERS           any of Breakwater HAProxy nginx                  (default all three)
#   FCGI_KEEP_CONN  1 (default): `option keep-conn` + `http-reuse always` for
#                   Breakwater/HAProxy; 0: `no option keep-conn` (a new FastCGI
#                   connection per request). See bench/README.md for why.
#   NGINX_KEEPALIVE nginx upstream `keepalive` (idle conns per worker; 0 = none) (default 4)
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater;
#                   build it with `swift build -c release --product breakwater`)
#   NETNS           1 (default): run in a private network namespace; 0: don't
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-"32 128"}
DRILL_SECONDS=${DRILL_SECONDS:-30}
DRILL_CONNS=${DRILL_CONNS:-256}
SLOW_MS=${SLOW_MS:-200}
PARTS=${PARTS:-"tiny drill"}
PEERS=${PEERS:-"Breakwater HAProxy nginx"}
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-4}
FCGI_KEEP_CONN=${FCGI_KEEP_CONN:-1}
POOL=8          # php-fpm workers = server maxconn
WARMUP=2        # seconds of wrk per peer per round before its measured runs
WRK_THREADS=2

for v in DURATION RUNS DRILL_SECONDS DRILL_CONNS SLOW_MS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v must be a positive integer"
done
[[ $FCGI_KEEP_CONN == 0 || $FCGI_KEEP_CONN == 1 ]] || die "FCGI_KEEP_CONN must be 0 or 1"
[[ $NGINX_KEEPALIVE =~ ^[0-9]+$ ]] || die "NGINX_KEEPALIVE must be a non-negative integer"
for c in $CONNS; do [[ $c =~ ^[0-9]+$ && $c -ge $WRK_THREADS ]] || die "CONNS entries must be integers >= $WRK_THREADS"; done
for x in $PARTS; do [[ $x == tiny || $x == drill ]] || die "PARTS entries must be tiny or drill (got $x)"; done
for x in $PEERS; do [[ $x == Breakwater || $x == HAProxy || $x == nginx ]] || die "PEERS entries must be Breakwater, HAProxy or nginx (got $x)"; done
read -r -a PEER_LIST <<<"$PEERS"

ensure_pkgs haproxy:haproxy nginx:nginx wrk:wrk php-fpm8.2:php-fpm curl:curl python3:python3 ss:iproute2
[[ -r /etc/nginx/fastcgi_params ]] || die "/etc/nginx/fastcgi_params missing (Debian nginx-common ships it)"
if [[ " $PEERS " == *" Breakwater "* ]]; then resolve_breakwater "$REPO_ROOT"; else BREAKWATER_BIN=none BREAKWATER_REAL=0; fi
enter_netns "$BENCH_DIR/fastcgi.sh" "$@"

# ------------------------------------------------------------- workdir ----
WORK=$(mktemp -d /tmp/bw-bench-fastcgi.XXXXXX)
chmod 755 "$WORK" # php-fpm workers and nginx workers run as nobody

install_cleanup_traps

clamp_maxconn 10000 200
mapfile -t PORTS < <(free_ports 2)
FPM_PORT=${PORTS[0]}
FE_PORT=${PORTS[1]} # one peer at a time: all three listen here

# -------------------------------------------------------------- php-fpm ----
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/fpm"
TINY_BODY="hello from php-fpm"
cat >"$WWW/index.php" <<'PHP'
<?php echo "hello from php-fpm\n";
PHP
cat >"$WWW/slow.php" <<PHP
<?php usleep(${SLOW_MS}000); echo "slow\n";
PHP
chmod 644 "$WWW"/*.php
chmod 755 "$WWW"

FPM_CONF=$WORK/fpm/php-fpm.conf
{
    cat <<FPM
[global]
pid = $WORK/fpm/php-fpm.pid
error_log = $WORK/fpm/error.log
daemonize = no

[bench]
listen = 127.0.0.1:$FPM_PORT
pm = static
pm.max_children = $POOL
catch_workers_output = yes
FPM
    if [[ $(id -u) == 0 ]]; then printf 'user = nobody\ngroup = nogroup\n'; fi
} >"$FPM_CONF"
php-fpm8.2 -t -y "$FPM_CONF" >"$WORK/fpm/test.log" 2>&1 || { cat "$WORK/fpm/test.log" >&2; die "php-fpm rejects its config"; }
spawn php-fpm "$WORK/fpm/stdout.log" php-fpm8.2 -F -y "$FPM_CONF"
FPM_PID=$SPAWNED_PID
wait_port "$FPM_PORT" 10 "$FPM_PID" || { cat "$WORK/fpm/stdout.log" "$WORK/fpm/error.log" >&2 || true; die "php-fpm did not come up"; }
sleep 0.3
FPM_WORKERS=$(pgrep -c -P "$FPM_PID" || true)
log "php-fpm on 127.0.0.1:$FPM_PORT (pid $FPM_PID, $FPM_WORKERS workers)"
[[ $FPM_WORKERS == "$POOL" ]] || log "WARNING: expected $POOL php-fpm workers, found $FPM_WORKERS"

# -------------------------------------------------------------- configs ----
# One file for Breakwater and HAProxy. HAProxy's fcgi-app needs `proto fcgi`
# on the server line and `mode http`; maxconn 8 = the pool, so bursts wait in
# the proxy's queue (timeout queue 30s), not in php-fpm's listen backlog.
# keep-conn is on by default in HAProxy; a php-fpm worker then stays on its
# connection until the proxy closes it. HAProxy 2.6 counts maxconn in requests,
# not connections, and with `http-reuse safe` (the default) and 2 threads it
# opens a 9th..16th connection while 8 idle ones pin every worker: the pool
# stalls (~3 req/s). So keep-conn goes with `http-reuse always` (at most 8
# connections), or is switched off.
if [[ $FCGI_KEEP_CONN == 1 ]]; then
    KC_LINE="option keep-conn" REUSE_LINE="    http-reuse always"
else
    KC_LINE="no option keep-conn" REUSE_LINE=""
fi
CFG=$WORK/fcgi.cfg
cat >"$CFG" <<CFG
global
    nbthread 2
    maxconn $MAXCONN

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 30s
    option http-keep-alive

fcgi-app php
    docroot $WWW
    index index.php
    $KC_LINE

frontend fe
    bind 127.0.0.1:$FE_PORT
    default_backend php_fpm

backend php_fpm
    use-fcgi-app php
$REUSE_LINE
    balance leastconn
    timeout queue 30s
    server fpm1 127.0.0.1:$FPM_PORT proto fcgi maxconn $POOL
CFG
haproxy -c -q -f "$CFG" >"$WORK/haproxy-check.log" 2>&1 ||
    { cat "$WORK/haproxy-check.log" >&2; die "haproxy -c rejects the config"; }
if [[ $BREAKWATER_REAL == 1 ]]; then
    "$BREAKWATER_BIN" check -f "$CFG" >"$WORK/bw-check.log" 2>&1 ||
        { cat "$WORK/bw-check.log" >&2; die "'breakwater check' rejects the config ($BREAKWATER_BIN)"; }
fi

NGX=$WORK/nginx
mkdir -p "$NGX/tmp"
if ((NGINX_KEEPALIVE > 0)); then
    NGX_KA="keepalive $NGINX_KEEPALIVE;"
    NGX_KC="fastcgi_keep_conn on;"
else
    NGX_KA="" NGX_KC=""
fi
cat >"$NGX/nginx.conf" <<NGX
worker_processes 2;
daemon off;
master_process on;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    upstream php_fpm {
        server 127.0.0.1:$FPM_PORT;
        $NGX_KA
    }
    server {
        listen 127.0.0.1:$FE_PORT backlog=4096;
        root $WWW;
        index index.php;
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass php_fpm;
            $NGX_KC
            fastcgi_connect_timeout 5s;
            fastcgi_send_timeout 30s;
            fastcgi_read_timeout 30s;
        }
    }
}
NGX
nginx -t -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" >"$WORK/nginx-check.log" 2>&1 ||
    { cat "$WORK/nginx-check.log" >&2; die "nginx -t rejects its config"; }

peer_cmd() { # peer_cmd NAME -> sets CMD array
    case $1 in
    HAProxy) CMD=(haproxy -f "$CFG" -db) ;;
    Breakwater) CMD=("$BREAKWATER_BIN" proxy -f "$CFG") ;;
    nginx) CMD=(nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log") ;;
    esac
}

PEER_PID=
CUR_PEER=
peer_failed() { # peer_failed MSG
    log "--- last lines of $CUR_PEER's output ---"
    tail -n 30 "$WORK/$CUR_PEER.log" >&2 || true
    [[ $CUR_PEER == nginx ]] && tail -n 30 "$NGX/error.log" >&2
    die "$CUR_PEER: $1"
}
start_peer() { # start_peer NAME: start it and check that / and /index.php answer from PHP
    CUR_PEER=$1
    peer_cmd "$1"
    spawn "$1" "$WORK/$1.log" "${CMD[@]}"
    PEER_PID=$SPAWNED_PID
    wait_http "http://127.0.0.1:$FE_PORT/index.php" 10 "$PEER_PID" ||
        peer_failed "no 200 on /index.php within 10 s (${CMD[*]})"
    local body
    body=$(curl -s --max-time 5 "http://127.0.0.1:$FE_PORT/index.php")
    [[ $body == "$TINY_BODY" ]] || peer_failed "/index.php answered '$body', expected '$TINY_BODY'"
    log "$1 up on 127.0.0.1:$FE_PORT (pid $PEER_PID)"
}
stop_peer() {
    stop_pid "$PEER_PID"
    PEER_PID=
    sleep 0.5 # php-fpm workers drop the closed keep-alive connections
    alive "$FPM_PID" || die "php-fpm exited"
}

run_wrk() { # run_wrk OUTFILE WRK-ARGS... (in the background + reap, so signals reach the trap)
    local out=$1; shift
    spawn wrk "$out" wrk "$@"
    reap "$SPAWNED_PID" || { log "wrk exited non-zero ($CUR_PEER $*):"; cat "$out" >&2; }
    alive "$PEER_PID" || peer_failed "exited during wrk $*"
}

# --------------------------------------------------------- machine line ----
MACHINE=$(machine_line "$(tool_version haproxy -v)" "$(tool_version nginx -v)" "$(tool_version php-fpm8.2 -v)" \
    "$(tool_version wrk -v)")
read -r LOAD_START _ </proc/loadavg

TINY=$WORK/tiny.tsv   # peer conns run rps p50 p99 errors
DRILL=$WORK/drill.tsv # peer key value
: >"$TINY"
: >"$DRILL"

est=0
[[ " $PARTS " == *" tiny "* ]] && est=$((RUNS * ${#PEER_LIST[@]} * (WARMUP + $(wc -w <<<"$CONNS") * (DURATION + 1) + 2)))
[[ " $PARTS " == *" drill "* ]] && est=$((est + ${#PEER_LIST[@]} * (DRILL_SECONDS + 4)))
log "peers: ${PEER_LIST[*]}; parts: $PARTS; ~${est}s"

# ------------------------------------------------------- 1: tiny script ----
if [[ " $PARTS " == *" tiny "* ]]; then
    for ((r = 1; r <= RUNS; r++)); do
        # rotate the order each round so no peer is always first or last
        order=("${PEER_LIST[@]:$(((r - 1) % ${#PEER_LIST[@]}))}" "${PEER_LIST[@]:0:$(((r - 1) % ${#PEER_LIST[@]}))}")
        for p in "${order[@]}"; do
            start_peer "$p"
            first=${CONNS%% *}
            run_wrk "$WORK/warm-$p-$r.txt" -t"$WRK_THREADS" -c"$first" -d"$WARMUP"s "http://127.0.0.1:$FE_PORT/index.php"
            for c in $CONNS; do
                out=$WORK/tiny-$p-$c-$r.txt
                run_wrk "$out" -t"$WRK_THREADS" -c"$c" -d"$DURATION"s --latency "http://127.0.0.1:$FE_PORT/index.php"
                read -r rps p50 p99 err < <(parse_wrk "$out")
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$c" "$r" "$rps" "$p50" "$p99" "$err" >>"$TINY"
                log "$p -c$c round $r/$RUNS: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err"
                [[ $rps != NA ]] || { log "--- unparsable wrk output ---"; cat "$out" >&2; }
            done
            stop_peer
        done
    done
fi

# --------------------------------------------------------- 2: burst drill ----
# DRILL_CONNS clients on slow.php against a pool of 8. A sampler records, every
# 0.25 s, the connections php-fpm holds (accepted or queued) and the depth of
# its accept queue (listen socket Recv-Q): a proxy that queues keeps both <= 8.
sampler() { # sampler SECONDS: "established backlog" lines until the deadline
    local end=$(($(now_us) + $1 * 1000000)) est bl
    while (($(now_us) < end)); do
        est=$(ss -Htn state established "( sport = :$FPM_PORT )" 2>/dev/null | wc -l)
        bl=$(ss -Hltn "( sport = :$FPM_PORT )" 2>/dev/null | awk '{print $2; exit}')
        echo "$est ${bl:-0}"
        sleep 0.25
    done
}
if [[ " $PARTS " == *" drill "* ]]; then
    for p in "${PEER_LIST[@]}"; do
        start_peer "$p"
        out=$WORK/drill-$p.txt
        spawn sampler "$WORK/sampler-$p.txt" bash -c "$(declare -f now_us sampler); FPM_PORT=$FPM_PORT; sampler $((DRILL_SECONDS + 2))"
        SAMPLER_PID=$SPAWNED_PID
        log "$p burst drill: $DRILL_CONNS clients on /slow.php (${SLOW_MS} ms) for ${DRILL_SECONDS}s"
        run_wrk "$out" -t"$WRK_THREADS" -c"$DRILL_CONNS" -d"$DRILL_SECONDS"s --timeout 60s --latency \
            -s "$BENCH_DIR/lib/status.lua" "http://127.0.0.1:$FE_PORT/slow.php"
        stop_pid "$SAMPLER_PID"
        read -r rps p50 p99 err < <(parse_wrk "$out")
        reqs=$(awk '/requests in/ {print $1; exit}' "$out")
        read -r s_conn s_read s_write s_timeout < <(awk 'BEGIN {c = r = w = t = 0}
            /Socket errors:/ {gsub(/,/, ""); c = $4; r = $6; w = $8; t = $10}
            END {print c, r, w, t}' "$out")
        c200=$(awk '$1 == "status" && $2 == 200 {n += $3} END {print n + 0}' "$out")
        c504=$(awk '$1 == "status" && $2 == 504 {n += $3} END {print n + 0}' "$out")
        c5xx=$(awk '$1 == "status" && $2 >= 500 && $2 != 504 {n += $3} END {print n + 0}' "$out")
        cother=$(awk '$1 == "status" && $2 != 200 && $2 < 500 {n += $3} END {print n + 0}' "$out")
        read -r max_est max_bl < <(awk 'BEGIN {e = 0; b = 0} {if ($1 > e) e = $1; if ($2 > b) b = $2} END {print e, b}' "$WORK/sampler-$p.txt")
        for kv in "rps=$rps" "p50=$p50" "p99=$p99" "requests=${reqs:-0}" "s200=$c200" "s504=$c504" "s5xx=$c5xx" \
            "sother=$cother" "connect=$s_conn" "read=$s_read" "write=$s_write" "timeout=$s_timeout" \
            "fpm_conns=$max_est" "fpm_backlog=$max_bl"; do
            printf '%s\t%s\t%s\n' "$p" "${kv%%=*}" "${kv#*=}" >>"$DRILL"
        done
        log "$p drill: ${reqs:-0} requests, $c200 x 200, $c504 x 504, $c5xx other 5xx, socket errors c/r/w/t $s_conn/$s_read/$s_write/$s_timeout, p99 $p99 ms, php-fpm conns max $max_est, backlog max $max_bl"
        stop_peer
    done
fi
read -r LOAD_END _ </proc/loadavg
FPM_ERRLOG=$(grep -E 'WARNING|ERROR|ALERT|said into' "$WORK/fpm/error.log" | tail -n 20 || true)
stop_all

# -------------------------------------------------------------- report ----
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/fastcgi-$(date -u +%Y%m%dT%H%M%SZ).md
python3 - "$TINY" "$DRILL" "$MACHINE" "$DURATION" "$RUNS" "$CONNS" "$DRILL_SECONDS" "$DRILL_CONNS" "$SLOW_MS" \
    "$POOL" "$PEERS" "$BREAKWATER_BIN" "$BREAKWATER_REAL" "$CFG" "$NGX/nginx.conf" "$FPM_CONF" "$NETNS_NOTE" \
    "$MAXCONN_NOTE" "$LOAD_START" "$LOAD_END" "$NGINX_KEEPALIVE" "$FPM_ERRLOG" "$KC_LINE${REUSE_LINE:+, http-reuse always}" >"$REPORT" <<'PY'
import sys, statistics as st
(tiny, drill, machine, duration, runs, conns, dsec, dconns, slow_ms, pool, peers, bw_bin, bw_real, cfg,
 ngx_cfg, fpm_cfg, netns, maxconn_note, load0, load1, ngx_ka, fpm_err, kc) = sys.argv[1:]
PEERS = peers.split()
def num(s):
    try: return float(s)
    except ValueError: return None
def med(v):
    v = [x for x in v if x is not None]
    return st.median(v) if v else None
def f(v, nd=0): return "n/a" if v is None else f"{v:,.{nd}f}"
def ratio(a, b): return "n/a" if a is None or not b else f"{a / b:.2f}x"

o = [f"machine: {machine}", "",
     f"# FastCGI: one php-fpm pool (pm static, {pool} workers) behind {', '.join(PEERS)} (loopback)", "",
     f"One peer at a time; Breakwater and HAProxy run the same config file (`fcgi-app`, `server ... proto fcgi "
     f"maxconn {pool}`, `timeout queue 30s`, `{kc}`), nginx runs `fastcgi_pass` to an upstream with "
     + (f"`keepalive {ngx_ka}` per worker and `fastcgi_keep_conn on`" if ngx_ka != "0" else "no keepalive")
     + f" (2 workers; nginx has no per-server queue). {netns}. Load average {load0} at start, {load1} at end.", ""]
rows = {}
for line in open(tiny):
    p, c, r, rps, p50, p99, err = line.rstrip("\n").split("\t")
    rows.setdefault((c, p), []).append((num(rps), num(p50), num(p99), int(err)))
if rows:
    o += [f"## Tiny script (`GET /index.php`, {runs} round(s) x {duration}s, median)", "",
          "wrk -t2 --latency. Errors: socket errors + non-2xx/3xx, summed over the rounds. "
          "Ratios are against the best peer in the cell (highest req/s, lowest p99): req/s ratio 1.00x = the best, "
          "p99 ratio above 1 = slower tail than the best.", "",
          "| conns | peer | req/s | p50 ms | p99 ms | errors | req/s vs best | p99 vs best |",
          "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for c in conns.split():
        m = {}
        for p in PEERS:
            rs = rows.get((c, p), [])
            m[p] = (med(x[0] for x in rs), med(x[1] for x in rs), med(x[2] for x in rs), sum(x[3] for x in rs))
        best_rps = max((v[0] for v in m.values() if v[0] is not None), default=None)
        best_p99 = min((v[2] for v in m.values() if v[2] is not None), default=None)
        for p in PEERS:
            v = m[p]
            o.append(f"| {c} | {p} | {f(v[0])} | {f(v[1], 2)} | {f(v[2], 2)} | {v[3]} | "
                     f"{ratio(v[0], best_rps)} | {ratio(v[2], best_p99)} |")
        if "Breakwater" in m and len(PEERS) > 1:
            others = [p for p in PEERS if p != "Breakwater" and m[p][0] is not None]
            if others:
                bp = max(others, key=lambda p: m[p][0])
                o.append(f"| {c} | **Breakwater / best other ({bp})** | **{ratio(m['Breakwater'][0], m[bp][0])}** | | "
                         f"{ratio(m['Breakwater'][2], m[bp][2])} | | | |")
    o.append("")
d = {}
for line in open(drill):
    p, k, v = line.rstrip("\n").split("\t")
    d.setdefault(p, {})[k] = v
if d:
    o += [f"## Burst drill (`GET /slow.php`, {slow_ms} ms, {dconns} clients, {dsec}s, pool of {pool})", "",
          f"wrk -t2 -c{dconns} --timeout 60s --latency with a Lua status counter. Latency percentiles cover completed "
          f"requests only (a request still waiting after 60 s is a wrk timeout). The pool can serve at most "
          f"{int(pool) * 1000 / float(slow_ms):.0f} req/s. php-fpm conns / backlog: the most connections php-fpm held "
          f"(accepted + waiting) and the deepest accept queue, sampled every 0.25 s; a proxy that queues keeps both at "
          f"or below about {pool} (a closing connection can add one). p99 vs best: above 1 = slower tail than the best peer.", "",
          "| peer | requests | req/s | 200 | 504 | other 5xx | other status | socket errors c/r/w/t | p50 ms | p99 ms | p99 vs best | php-fpm conns | php-fpm backlog |",
          "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    best_p99 = min((num(v.get("p99", "NA")) for v in d.values() if num(v.get("p99", "NA")) is not None), default=None)
    for p in PEERS:
        if p not in d: continue
        v = d[p]
        o.append(f"| {p} | {v['requests']} | {f(num(v['rps']), 1)} | {v['s200']} | **{v['s504']}** | {v['s5xx']} | "
                 f"{v['sother']} | {v['connect']}/{v['read']}/{v['write']}/{v['timeout']} | {f(num(v['p50']), 0)} | "
                 f"{f(num(v['p99']), 0)} | {ratio(num(v['p99']), best_p99)} | {v['fpm_conns']} | {v['fpm_backlog']} |")
    o.append("")
o.append(f"Breakwater binary: `{bw_bin}`" + ("" if bw_real == "1" else
         " (**stand-in or not run: the Breakwater rows, if any, are HAProxy, so Breakwater vs HAProxy is an A/A comparison**)"))
if maxconn_note: o += ["", f"Note: {maxconn_note}"]
if fpm_err.strip(): o += ["", "php-fpm error log (last warnings, errors and worker output):", "", "```", fpm_err, "```"]
o += ["", "<details><summary>Raw runs and configs</summary>", "",
      "| conns | peer | round | req/s | p50 ms | p99 ms | errors |", "|---:|---|---:|---:|---:|---:|---:|"]
for line in open(tiny):
    p, c, r, rps, p50, p99, err = line.rstrip("\n").split("\t")
    o.append(f"| {c} | {p} | {r} | {rps} | {p50} | {p99} | {err} |")
for title, path in (("Breakwater and HAProxy (one file)", cfg), ("nginx", ngx_cfg), ("php-fpm", fpm_cfg)):
    o += ["", f"{title}:", "", "```"] + open(path).read().rstrip("\n").split("\n") + ["```"]
o += ["</details>"]
print("\n".join(o))
PY

cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
