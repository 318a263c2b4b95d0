#!/usr/bin/env bash
# Many keep-alive clients: Breakwater vs HAProxy (Debian's 2.6), same config, same load, one run.
# Issue 10 items 5 and 6: req/s must hold from 256 to 1,000 (and 10,000) clients, no request may
# wait more than 2 s (wrk --timeout 2s counts them), and memory per idle client connection.
#
# Per cell and proxy it prints req/s, p99, wrk timeouts, other errors, CPU s per 1,000 requests
# (utime+stime from /proc/PID/stat) and the kernel's listen-queue overflows during the run
# (TcpExtListenOverflows / ListenDrops from nstat, in the script's own network namespace: a SYN
# dropped there is retried after 1 s, 3 s, ... and shows up as a wrk timeout).
#
# Env knobs:
#   DURATION   seconds per measured wrk run        (default 10)
#   CONNS      wrk connection counts               (default "256 1000"; 10000 needs ulimit -Hn >= 45000)
#   IDLE_CONNS idle clients for the RSS-per-connection figure (default 1000; 0 skips it)
#   BREAKWATER_BIN  default <repo>/.build/release/breakwater
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

enter_netns "${BASH_SOURCE[0]}" "$@"

DURATION=${DURATION:-10}
CONNS=${CONNS:-"256 1000"}
IDLE_CONNS=${IDLE_CONNS:-1000}
WARMUP=2
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || die "DURATION must be a positive integer (seconds)"
for c in $CONNS; do [[ $c =~ ^[0-9]+$ && $c -ge 2 ]] || die "CONNS entries must be integers >= 2 (got $c)"; done

ensure_pkgs haproxy:haproxy nginx:nginx wrk:wrk nstat:iproute2 curl:curl python3:python3
resolve_breakwater "$REPO_ROOT"

WORK=$(mktemp -d /tmp/bw-bench-conns.XXXXXX)
chmod 755 "$WORK"
install_cleanup_traps

clamp_maxconn 100000 100
biggest=0
for c in $CONNS; do ((c > biggest)) && biggest=$c; done
# wrk holds one fd per connection; each proxy two (client + server side).
if ((biggest * 2 + 100 > $(ulimit -n))); then
    die "CONNS $biggest needs RLIMIT_NOFILE >= $((biggest * 2 + 100)) (hard limit here: $(ulimit -Hn))"
fi

# A burst of CONNS connects overflows a listen queue shorter than CONNS for both proxies alike (their
# backlog is maxconn, capped by somaxconn). In the script's own network namespace the cap is ours
# to raise, so the cells measure the proxies, not the kernel's default of 4096.
if [[ ${BENCH_IN_NETNS:-} == 1 ]] && ((biggest + 1024 > $(cat /proc/sys/net/core/somaxconn))); then
    sysctl -qw net.core.somaxconn=$((biggest + 1024)) net.ipv4.tcp_max_syn_backlog=$((biggest + 1024)) ||
        log "WARNING: could not raise somaxconn in the namespace; cells above 4096 conns will show listen drops"
fi
SOMAXCONN=$(cat /proc/sys/net/core/somaxconn)

mapfile -t PORTS < <(free_ports 3)
NGX_PORT=${PORTS[0]}
declare -A PROXY_PORT=([HAProxy]=${PORTS[1]} [Breakwater]=${PORTS[2]})
PROXIES=(HAProxy Breakwater)

start_nginx_64 "$WORK" "$NGX_PORT" 30000

for p in "${PROXIES[@]}"; do
    cat >"$WORK/$p.cfg" <<CFG
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
    bind 127.0.0.1:${PROXY_PORT[$p]}
    default_backend be

backend be
    server ngx 127.0.0.1:$NGX_PORT
CFG
done

start_proxy() { # start_proxy NAME ; sets SPAWNED_PID
    case $1 in
    HAProxy) spawn "$1" "$WORK/$1.log" haproxy -f "$WORK/$1.cfg" -db ;;
    Breakwater) spawn "$1" "$WORK/$1.log" "$BREAKWATER_BIN" proxy -f "$WORK/$1.cfg" ;;
    esac
    wait_http "http://127.0.0.1:${PROXY_PORT[$1]}/64" 10 "$SPAWNED_PID" ||
        { tail -20 "$WORK/$1.log" >&2; die "$1 did not serve a proxied 200"; }
}

# listen_drops: TcpExtListenOverflows + TcpExtListenDrops so far in this namespace.
listen_drops() {
    nstat -az TcpExtListenOverflows TcpExtListenDrops 2>/dev/null | awk '/^TcpExt/ {s += $2} END {print s + 0}'
}

timeouts_of() { awk '/Socket errors:/ {gsub(/,/, ""); for (i = 1; i <= NF; i++) if ($i == "timeout") print $(i + 1)}' "$1" | tail -1; }

MACHINE=$(machine_line "$(tool_version haproxy -v)" "$(tool_version nginx -v)" "$(tool_version wrk -v)")
RESULTS=$WORK/results.tsv
: >"$RESULTS"
for p in "${PROXIES[@]}"; do
    start_proxy "$p"
    pid=$SPAWNED_PID
    for c in $CONNS; do
        spawn wrk "$WORK/warm.txt" wrk -t2 -c"$c" -d"$WARMUP"s --timeout 2s "http://127.0.0.1:${PROXY_PORT[$p]}/64"
        reap "$SPAWNED_PID" || true
        out=$WORK/wrk-$p-$c.txt
        drops0=$(listen_drops)
        ticks0=$(cpu_total_ticks "$pid")
        spawn wrk "$out" wrk -t2 -c"$c" -d"$DURATION"s --timeout 2s --latency "http://127.0.0.1:${PROXY_PORT[$p]}/64"
        reap "$SPAWNED_PID" || { log "wrk failed:"; cat "$out" >&2; }
        ticks=$(($(cpu_total_ticks "$pid") - ticks0))
        drops=$(($(listen_drops) - drops0))
        alive "$pid" || { tail -20 "$WORK/$p.log" >&2; die "$p exited during wrk -c$c"; }
        read -r rps p50 p99 err < <(parse_wrk "$out")
        tmo=$(timeouts_of "$out"); tmo=${tmo:-0}
        nreq=$(wrk_requests "$out")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$c" "$rps" "$p99" "$tmo" "$((err - tmo))" "$(cpu_per_k "$ticks" "$nreq")" "$drops" "$(hwm_kb "$pid")" >>"$RESULTS"
        log "$p -c$c: $rps req/s, p99 $p99 ms, timeouts $tmo, other errors $((err - tmo)), CPU $(cpu_per_k "$ticks" "$nreq") s/1k, listen drops $drops"
        sleep 1
    done
    stop_pid "$pid"
done

IDLE=$WORK/idle.tsv
: >"$IDLE"
if ((IDLE_CONNS > 0)); then
    for p in "${PROXIES[@]}"; do
        start_proxy "$p"
        read -r before after opened < <(idle_conn_rss "$SPAWNED_PID" 127.0.0.1 "${PROXY_PORT[$p]}" /64 "$IDLE_CONNS" "$WORK/idle-$p.log")
        printf '%s\t%s\t%s\t%s\n' "$p" "$before" "$after" "$opened" >>"$IDLE"
        stop_pid "$SPAWNED_PID"
    done
fi
stop_all

python3 - "$RESULTS" "$IDLE" "$MACHINE" "$DURATION" "$BREAKWATER_BIN" "$SOMAXCONN" <<'PY'
import sys
results, idle, machine, duration, bw, somaxconn = sys.argv[1:]
rows = {}
for line in open(results):
    p, c, rps, p99, tmo, err, cpu, drops, hwm = line.rstrip("\n").split("\t")
    rows[(c, p)] = (rps, p99, tmo, err, cpu, drops, hwm)
def r(a, b):
    try:
        return f"{float(a) / float(b):.2f}x"
    except (ValueError, ZeroDivisionError):
        return "n/a"
print(f"machine: {machine}")
print(f"\nwrk -t2 --timeout 2s, {duration}s per cell, one nginx (64 B), nbthread 2, http-reuse safe, somaxconn {somaxconn}; Breakwater: `{bw}`\n")
print("| conns | proxy | req/s | p99 ms | timeouts (> 2 s) | other errors | CPU s / 1k req | listen drops | VmHWM MiB |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for c in sorted({k[0] for k in rows}, key=int):
    for p in ("HAProxy", "Breakwater"):
        if (c, p) in rows:
            rps, p99, tmo, err, cpu, drops, hwm = rows[(c, p)]
            mib = f"{int(hwm) / 1024:.1f}" if hwm.isdigit() else "n/a"
            print(f"| {c} | {p} | {rps} | {p99} | {tmo} | {err} | {cpu} | {drops} | {mib} |")
    if (c, "HAProxy") in rows and (c, "Breakwater") in rows:
        h, b = rows[(c, "HAProxy")], rows[(c, "Breakwater")]
        print(f"| {c} | **Breakwater/HAProxy** | {r(b[0], h[0])} | {r(b[1], h[1])} | | | {r(b[4], h[4])} | | |")
per = {}
for line in open(idle):
    p, before, after, opened = line.rstrip("\n").split("\t")
    if before.isdigit() and after.isdigit() and int(opened) > 0:
        per[p] = ((int(after) - int(before)) / int(opened), int(opened))
if per:
    parts = ", ".join(f"{p} {per[p][0]:.1f} KiB ({per[p][1]} conns)" for p in ("HAProxy", "Breakwater") if p in per)
    ratio = r(per.get("Breakwater", ("",))[0], per.get("HAProxy", ("",))[0])
    print(f"\nRSS per idle keep-alive client connection (VmRSS delta / connections, fresh proxy): {parts} (ratio {ratio})")
PY
