#!/usr/bin/env bash
# HTTP proxy benchmark: Breakwater vs HAProxy (Debian's 2.6) in front of two
# nginx backends, all on loopback. See bench/README.md.
#
# Env knobs:
#   DURATION        seconds per measured wrk run            (default 10)
#   RUNS            measured runs per proxy and cell        (default 3)
#   CONNS           wrk connection counts                   (default "32 256 1000")
#   PATHS           request paths                           (default "/64 /16k"; /c64 is the
#                   64 bytes sent chunked by nginx, for a chunked-body cell)
#   IDLE_CONNS      idle keep-alive connections held open to measure RSS per
#                   idle client connection (default 1000; 0 skips it)
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater;
#                   built with `swift build -c release --product breakwater` if
#                   the default is missing)
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"
# shellcheck source-path=SCRIPTDIR source=lib/proc.sh
source "$BENCH_DIR/lib/proc.sh"

DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-"32 256 1000"}
IDLE_CONNS=${IDLE_CONNS:-1000}
PATHS=${PATHS:-"/64 /16k"}
WARMUP=2           # seconds of wrk before each proxy's runs in a cell
COLD_RUNS=5        # cold-start samples per proxy
COLD_LIMIT_S=5     # a cold start must reach its first 200 within this
WRK_THREADS=2

[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || die "DURATION must be a positive integer (seconds)"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || die "RUNS must be a positive integer"
[[ $IDLE_CONNS =~ ^[0-9]+$ ]] || die "IDLE_CONNS must be a non-negative integer"
for c in $CONNS; do [[ $c =~ ^[0-9]+$ && $c -ge $WRK_THREADS ]] || die "CONNS entries must be integers >= $WRK_THREADS"; done
for p in $PATHS; do [[ $p == /64 || $p == /16k || $p == /c64 ]] || die "PATHS entries must be /64, /16k or /c64 (got $p)"; done

# ---------------------------------------------------------------- tools ----
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
if ((${#need[@]})); then
    [[ $(id -u) == 0 ]] || die "missing ${need[*]}; run as root or install them: apt-get install -y ${need[*]}"
    log "installing ${need[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need[@]}" >&2
fi
for t in haproxy nginx wrk curl python3; do command -v "$t" >/dev/null || die "$t not found"; done

if [[ -z ${BREAKWATER_BIN:-} ]]; then
    BREAKWATER_BIN=$REPO_ROOT/.build/release/breakwater
    if [[ ! -x $BREAKWATER_BIN ]]; then
        log "$BREAKWATER_BIN missing: running 'swift build -c release --product breakwater' in $REPO_ROOT"
        (cd "$REPO_ROOT" && swift build -c release --product breakwater) >&2
    fi
fi
[[ -x $BREAKWATER_BIN ]] || die "BREAKWATER_BIN=$BREAKWATER_BIN is not an executable file"

# ------------------------------------------------------------- workdir ----
WORK=$(mktemp -d /tmp/bw-bench-proxy.XXXXXX)
chmod 755 "$WORK" # nginx workers run as nobody and must read the docroot

install_cleanup_traps

# HAProxy needs ~2 fds per maxconn and refuses to start if it cannot raise
# RLIMIT_NOFILE that far. Where the hard limit is too low (containers without
# CAP_SYS_RESOURCE) maxconn is clamped, identically for both proxies, and the
# report says so. The load here never exceeds a few hundred connections.
clamp_maxconn 100000 100

mapfile -t PORTS < <(free_ports 4)
NGX_PORTS=("${PORTS[0]}" "${PORTS[1]}")
declare -A PROXY_PORT=([HAProxy]=${PORTS[2]} [Breakwater]=${PORTS[3]})
PROXIES=(HAProxy Breakwater) # interleave order: A, B, A, B ...

# ------------------------------------------------------------ backends ----
mkdir -p "$WORK/www"
head -c 64 /dev/zero | tr '\0' 'a' >"$WORK/www/64"
cp "$WORK/www/64" "$WORK/www/c64" # served chunked (SSI drops the length)
head -c 16384 /dev/zero | tr '\0' 'b' >"$WORK/www/16k"
chmod 644 "$WORK/www/"*
chmod 755 "$WORK/www"

NGX_PIDS=()
for i in 0 1; do
    d=$WORK/nginx$i
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<NGX
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    open_file_cache max=16 inactive=60s;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:${NGX_PORTS[$i]} backlog=4096;
        root $WORK/www;
        location = /64  { }
        location = /16k { }
        location = /c64 { ssi on; ssi_types *; }
        location / { return 404; }
    }
}
NGX
    spawn "nginx$i" "$d/stdout.log" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
    NGX_PIDS+=("$SPAWNED_PID")
done
for i in 0 1; do
    wait_http "http://127.0.0.1:${NGX_PORTS[$i]}/64" 10 "${NGX_PIDS[$i]}" ||
        { cat "$WORK/nginx$i/error.log" "$WORK/nginx$i/stdout.log" >&2 || true; die "nginx$i did not come up"; }
done
log "nginx backends on 127.0.0.1:${NGX_PORTS[0]} and 127.0.0.1:${NGX_PORTS[1]}"

# -------------------------------------------------------------- config ----
write_cfg() { # write_cfg PORT FILE -- the one config both proxies run
    cat >"$2" <<CFG
global
    nbthread 2
    maxconn $MAXCONN

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse safe

frontend fe
    bind 127.0.0.1:$1
    default_backend be

backend be
    balance roundrobin
    server ngx0 127.0.0.1:${NGX_PORTS[0]}
    server ngx1 127.0.0.1:${NGX_PORTS[1]}
CFG
}
declare -A CFG=([HAProxy]=$WORK/haproxy.cfg [Breakwater]=$WORK/breakwater.cfg)
for p in "${PROXIES[@]}"; do write_cfg "${PROXY_PORT[$p]}" "${CFG[$p]}"; done

proxy_cmd() { # proxy_cmd NAME -> sets CMD array
    case $1 in
    HAProxy) CMD=(haproxy -f "${CFG[HAProxy]}" -db) ;;
    Breakwater) CMD=("$BREAKWATER_BIN" proxy -f "${CFG[Breakwater]}") ;;
    esac
}

declare -A PROXY_PID=()
start_proxy() { # start_proxy NAME LOGSUFFIX ; sets SPAWNED_PID
    proxy_cmd "$1"
    spawn "$1" "$WORK/$1.$2.log" "${CMD[@]}"
}
proxy_failed() { # proxy_failed NAME LOGSUFFIX MSG
    log "--- last lines of $1's output ---"
    tail -n 30 "$WORK/$1.$2.log" >&2 || true
    die "$1: $3"
}

# --------------------------------------------------------- machine line ----
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -n $cpu_model ]] || cpu_model=$(awk -F': *' '/^(Hardware|cpu model|Processor)/ {print $2; exit}' /proc/cpuinfo)
haproxy_v=$(haproxy -v 2>&1 | sed -n 1p)
nginx_v=$(nginx -v 2>&1 | sed -n 1p)
wrk_v=$( (wrk -v 2>&1 || true) | sed -n 1p | sed 's/ *Copyright.*//')
MACHINE="$(uname -srm) | nproc $(nproc) | ${cpu_model:-unknown CPU} | $(date -u '+%Y-%m-%d %H:%M:%S UTC') | $haproxy_v | $nginx_v | $wrk_v"

# ----------------------------------------------------------- load runs ----
RESULTS=$WORK/results.tsv # proxy conns path run rps p50 p99 errors cpu_ticks requests
: >"$RESULTS"

run_wrk() { # run_wrk NAME CONNS PATH SECONDS OUTFILE
    # in the background + wait, so Ctrl-C / SIGTERM reach our trap at once
    spawn wrk "$5" wrk -t"$WRK_THREADS" -c"$2" -d"$4"s --latency "http://127.0.0.1:${PROXY_PORT[$1]}$3"
    reap "$SPAWNED_PID" || { log "wrk exited non-zero (-c$2 $3 against $1):"; cat "$5" >&2; }
    alive "${PROXY_PID[$1]}" || proxy_failed "$1" run "exited during wrk -c$2 $3"
}

ncells=0
for _c in $CONNS; do for _p in $PATHS; do ncells=$((ncells + 1)); done; done
est=$((ncells * ${#PROXIES[@]} * (2 * WARMUP + RUNS * (2 * DURATION + 1)) / 2 + 10))
log "$ncells cells x ${#PROXIES[@]} proxies x $RUNS runs x ${DURATION}s (+${WARMUP}s warm-up each): ~${est}s"

for p in "${PROXIES[@]}"; do
    start_proxy "$p" run
    PROXY_PID[$p]=$SPAWNED_PID
    if ! wait_http "http://127.0.0.1:${PROXY_PORT[$p]}/64" 10 "$SPAWNED_PID"; then
        alive "$SPAWNED_PID" || proxy_failed "$p" run "exited before serving (${CMD[*]})"
        proxy_failed "$p" run "no proxied 200 on 127.0.0.1:${PROXY_PORT[$p]}/64 within 10 s"
    fi
    log "$p up on 127.0.0.1:${PROXY_PORT[$p]} (pid $SPAWNED_PID)"
done

for c in $CONNS; do
    for path in $PATHS; do
        for p in "${PROXIES[@]}"; do
            log "warm-up $p -c$c $path ${WARMUP}s"
            run_wrk "$p" "$c" "$path" "$WARMUP" "$WORK/warm-$p-$c${path//\//_}.txt"
        done
        for ((r = 1; r <= RUNS; r++)); do
            for p in "${PROXIES[@]}"; do
                out=$WORK/wrk-$p-$c${path//\//_}-$r.txt
                ticks0=$(cpu_total_ticks "${PROXY_PID[$p]}")
                run_wrk "$p" "$c" "$path" "$DURATION" "$out"
                ticks=$(($(cpu_total_ticks "${PROXY_PID[$p]}") - ticks0))
                nreq=$(wrk_requests "$out")
                read -r rps p50 p99 err < <(parse_wrk "$out")
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$c" "$path" "$r" "$rps" "$p50" "$p99" "$err" "$ticks" "$nreq" >>"$RESULTS"
                log "$p -c$c $path run $r/$RUNS: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err, CPU $(cpu_per_k "$ticks" "$nreq") s/1k req"
                if [[ $rps == NA ]]; then
                    log "--- unparsable wrk output ---"; cat "$out" >&2
                fi
                sleep 0.5
            done
        done
    done
done

declare -A RSS_KB=()
for p in "${PROXIES[@]}"; do
    RSS_KB[$p]=$(hwm_kb "${PROXY_PID[$p]}")
    stop_pid "${PROXY_PID[$p]}"
done

# ------------------------------------------------- RSS per idle connection ----
# A fresh proxy per measurement (so earlier load does not pre-grow its heap):
# one warm-up request, then IDLE_CONNS keep-alive clients that each finished
# one request and now sit idle; (VmRSS after - before) / connections.
IDLE=$WORK/idle.tsv # proxy before_kb after_kb opened
: >"$IDLE"
if ((IDLE_CONNS > 0)); then
    for p in "${PROXIES[@]}"; do
        start_proxy "$p" idle
        pid=$SPAWNED_PID
        wait_http "http://127.0.0.1:${PROXY_PORT[$p]}/64" 10 "$pid" || proxy_failed "$p" idle "no proxied 200 within 10 s"
        read -r before after opened < <(idle_conn_rss "$pid" 127.0.0.1 "${PROXY_PORT[$p]}" /64 "$IDLE_CONNS" "$WORK/idle-$p.log")
        printf '%s\t%s\t%s\t%s\n' "$p" "$before" "$after" "$opened" >>"$IDLE"
        log "$p idle: VmRSS $before -> $after kB with $opened idle keep-alive connections"
        stop_pid "$pid"
    done
fi

# ---------------------------------------------------------- cold start ----
# exec -> first proxied 200, polled with curl every ~2 ms. Each poll is a
# fresh curl process, so the figure includes one curl spawn + request; that
# baseline is measured against nginx directly and reported alongside.
COLD=$WORK/cold.tsv # proxy run ms
: >"$COLD"
base=()
for ((i = 0; i < 20; i++)); do
    t0=$(now_us)
    [[ $(http_code "http://127.0.0.1:${NGX_PORTS[0]}/64") == 200 ]] || die "backend stopped answering"
    base+=($(($(now_us) - t0)))
done
CURL_BASE_US=$(printf '%s\n' "${base[@]}" | sort -n | sed -n "$(((${#base[@]} + 1) / 2))p")

for ((r = 1; r <= COLD_RUNS; r++)); do
    for p in "${PROXIES[@]}"; do
        url="http://127.0.0.1:${PROXY_PORT[$p]}/64"
        proxy_cmd "$p"
        t0=$(now_us)
        spawn "$p" "$WORK/$p.cold$r.log" "${CMD[@]}"
        pid=$SPAWNED_PID
        ok=
        while :; do
            if [[ $(http_code "$url") == 200 ]]; then ok=1; break; fi
            alive "$pid" || break
            (($(now_us) - t0 > COLD_LIMIT_S * 1000000)) && break
            sleep 0.002
        done
        t1=$(now_us)
        stop_pid "$pid"
        [[ -n $ok ]] || proxy_failed "$p" "cold$r" "no proxied 200 within ${COLD_LIMIT_S}s of exec (cold start $r)"
        ms=$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", d / 1000}')
        printf '%s\t%s\t%s\n' "$p" "$r" "$ms" >>"$COLD"
        log "cold start $p #$r: $ms ms"
    done
done

stop_all # backends

# -------------------------------------------------------------- report ----
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/proxy-$(date -u +%Y%m%dT%H%M%SZ).md

python3 - "$RESULTS" "$COLD" "$MACHINE" "$DURATION" "$RUNS" "$WARMUP" "$CURL_BASE_US" \
    "${RSS_KB[HAProxy]}" "${RSS_KB[Breakwater]}" "$BREAKWATER_BIN" "${CFG[Breakwater]}" \
    "$CONNS" "$PATHS" "$MAXCONN_NOTE" "$IDLE" "$CLK_TCK" >"$REPORT" <<'PY'
import sys, statistics as st
(results, cold, machine, duration, runs, warmup, curl_base_us,
 rss_h, rss_b, bw_bin, cfg, conns, paths, maxconn_note, idle, clk_tck) = sys.argv[1:]
clk_tck = int(clk_tck)
PROXIES = ["HAProxy", "Breakwater"]

def num(s):
    try:
        return float(s)
    except ValueError:
        return None

rows = {}
for line in open(results):
    p, c, path, r, rps, p50, p99, err, ticks, nreq = line.rstrip("\n").split("\t")
    cpu_k = int(ticks) / clk_tck / int(nreq) * 1000 if int(nreq) > 0 else None
    rows.setdefault((c, path, p), []).append((num(rps), num(p50), num(p99), int(err), cpu_k))

def med(vals):
    vals = [v for v in vals if v is not None]
    return st.median(vals) if vals else None

def f(v, nd=2):
    return "n/a" if v is None else f"{v:,.{nd}f}"

def ratio(a, b):
    return "n/a" if a is None or not b else f"{a / b:.2f}x"

out = []
out.append(f"machine: {machine}")
out.append("")
out.append(f"# Breakwater vs HAProxy, HTTP/1.1 proxy to 2 nginx backends (loopback)")
out.append("")
out.append(f"wrk -t2, {duration}s per run, median of {runs} runs per cell, runs interleaved "
           f"HAProxy/Breakwater, {warmup}s warm-up per proxy per cell; errors = socket errors + "
           f"non-2xx/3xx summed over the measured runs. wrk, the proxy under test and both "
           f"nginx workers share the same cores, so absolute numbers are CPU-bound by the whole "
           f"setup; compare the ratios.")
out.append("")
out.append("CPU = utime+stime of the proxy process (all threads) over the measured run, from /proc/PID/stat, "
           "per 1,000 requests wrk completed: the figure that does not depend on who else shares the cores.")
out.append("")
out.append("| cell | proxy | req/s | p50 ms | p99 ms | errors | CPU s / 1k req |")
out.append("|---|---|---:|---:|---:|---:|---:|")
for c in conns.split():
    for path in paths.split():
        cell = f"{c} conns {path}"
        med_ = {}
        for p in PROXIES:
            rs = rows.get((c, path, p), [])
            m = (med(x[0] for x in rs), med(x[1] for x in rs), med(x[2] for x in rs),
                 sum(x[3] for x in rs), med(x[4] for x in rs))
            med_[p] = m
            out.append(f"| {cell} | {p} | {f(m[0], 0)} | {f(m[1], 3)} | {f(m[2], 3)} | {m[3]} | {f(m[4], 4)} |")
        b, h = med_["Breakwater"], med_["HAProxy"]
        out.append(f"| {cell} | **Breakwater/HAProxy** | {ratio(b[0], h[0])} | {ratio(b[1], h[1])} | "
                   f"{ratio(b[2], h[2])} | | {ratio(b[4], h[4])} |")
out.append("")

def mib(kb):
    return "n/a" if num(kb) is None else f"{float(kb) / 1024:.1f} MiB"
out.append(f"Peak RSS (VmHWM after all load runs): HAProxy {mib(rss_h)}, Breakwater {mib(rss_b)}"
           f" (ratio {ratio(num(rss_b), num(rss_h))})")
per_idle = {}
for line in open(idle):
    p, before, after, opened = line.rstrip("\n").split("\t")
    if num(before) is not None and num(after) is not None and int(opened) > 0:
        per_idle[p] = ((float(after) - float(before)) * 1024 / int(opened), int(opened))
if per_idle:
    parts = [f"{p} {per_idle[p][0] / 1024:.1f} KiB ({per_idle[p][1]} conns)" for p in PROXIES if p in per_idle]
    r = ratio(per_idle.get("Breakwater", (None,))[0], per_idle.get("HAProxy", (None,))[0])
    out.append(f"RSS per idle keep-alive client connection (VmRSS delta / connections, fresh proxy): "
               f"{', '.join(parts)} (ratio {r})")

cs = {}
for line in open(cold):
    p, r, ms = line.rstrip("\n").split("\t")
    cs.setdefault(p, []).append(float(ms))
def cold_s(p):
    v = cs.get(p, [])
    return "n/a" if not v else f"{st.median(v):.1f} ms (min {min(v):.1f}, max {max(v):.1f})"
out.append(f"Cold start (exec -> first proxied 200, median of {len(cs.get('HAProxy', []))}): "
           f"HAProxy {cold_s('HAProxy')}, Breakwater {cold_s('Breakwater')}; "
           f"includes ~{int(curl_base_us) / 1000:.1f} ms for one curl spawn+request (poll ~2 ms + curl)")
out.append("")
out.append(f"Breakwater binary: `{bw_bin}`")
if maxconn_note:
    out.append("")
    out.append(f"Note: {maxconn_note}")
out.append("")
out.append("<details><summary>Raw runs</summary>")
out.append("")
out.append("| cell | proxy | run | req/s | p50 ms | p99 ms | errors | CPU ticks | requests |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for line in open(results):
    p, c, path, r, rps, p50, p99, err, ticks, nreq = line.rstrip("\n").split("\t")
    out.append(f"| {c} conns {path} | {p} | {r} | {f(num(rps), 0)} | {f(num(p50), 3)} | {f(num(p99), 3)} | {err} | {ticks} | {nreq} |")
out.append("")
out.append("Config (HAProxy's copy differs only in the bind port):")
out.append("")
out.append("```")
out.extend(open(cfg).read().rstrip("\n").split("\n"))
out.append("```")
out.append("</details>")
print("\n".join(out))
PY

cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
