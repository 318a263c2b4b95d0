#!/usr/bin/env bash
# Active health-check cost: Breakwater vs HAProxy (Debian's 2.6), 120 pods
# served by one nginx on loopback, no client traffic. See bench/README.md.
#
# Env knobs:
#   DURATION        seconds per measurement window           (default 60)
#   MODES           check modes, any of L4 L7 NONE          (default "L4 L7")
#                   NONE = same 120 servers without `check`: idle baseline
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater;
#                   build it with `swift build -c release --product breakwater`)
#   NETNS           1 (default): re-run in a private network namespace so the
#                   TCP counters (TcpActiveOpens) see only this benchmark; 0: don't
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

DURATION=${DURATION:-60}
MODES=${MODES:-"L4 L7"}
NPODS=120
INTER_S=2          # check inter/fastinter/downinter, seconds
SPREAD_S=5         # wait after the proxy listens, before the window opens
START_LIMIT_S=10   # the proxy must be listening within this

[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || die "DURATION must be a positive integer (seconds)"
MODES=${MODES^^}
[[ -n ${MODES// /} ]] || die "MODES is empty"
for m in $MODES; do [[ $m == L4 || $m == L7 || $m == NONE ]] || die "MODES entries must be L4, L7 or NONE (got $m)"; done

# ---------------------------------------------------------------- tools ----
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
if ((${#need[@]})); then
    [[ $(id -u) == 0 ]] || die "missing ${need[*]}; run as root or install them: apt-get install -y ${need[*]}"
    log "installing ${need[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need[@]}" >&2
fi
for t in haproxy nginx curl python3 ss getconf; do command -v "$t" >/dev/null || die "$t not found"; done
[[ -r /proc/net/snmp ]] || die "/proc/net/snmp not readable (needed for TcpActiveOpens)"

BREAKWATER_BIN=${BREAKWATER_BIN:-$REPO_ROOT/.build/release/breakwater}
[[ -x $BREAKWATER_BIN ]] || die "BREAKWATER_BIN=$BREAKWATER_BIN is not an executable file; build it with \`swift build -c release --product breakwater\` (in $REPO_ROOT) or point BREAKWATER_BIN at a binary"

CLK_TCK=$(getconf CLK_TCK)

# Private network namespace (own loopback, own /proc/net/snmp): the L4 check
# count is the TcpActiveOpens delta, which is otherwise machine-wide. unshare
# without --fork keeps our PID, so signals and Ctrl-C still reach this script.
enter_netns "$BENCH_DIR/health.sh" "$@"
if [[ -n ${BENCH_IN_NETNS:-} ]]; then
    NETNS_NOTE="private network namespace (TCP counters are this benchmark's only)"
else
    NETNS_NOTE="host network namespace: TcpActiveOpens counts every connection opened on this machine, so other activity inflates the L4 check counts"
fi

# ------------------------------------------------------------- workdir ----
WORK=$(mktemp -d /tmp/bw-bench-health.XXXXXX)
chmod 755 "$WORK"

install_cleanup_traps

# Same RLIMIT_NOFILE handling as proxy.sh: HAProxy wants ~2 fds per maxconn
# plus one per server check and refuses to start if it cannot get them, so
# where the hard limit is too low maxconn is clamped in the one shared config.
clamp_maxconn 10000 $((NPODS + 200))
[[ -z $MAXCONN_NOTE ]] || MAXCONN_NOTE+=" No client traffic is sent, so this does not matter for the measurement."

mapfile -t PORTS < <(free_ports $((NPODS + 2)))
POD_PORTS=("${PORTS[@]:0:NPODS}")
STATUS_PORT=${PORTS[NPODS]}
FE_PORT=${PORTS[NPODS + 1]} # proxies run one at a time, so they share it

# ------------------------------------------------------------- backends ----
# One nginx (one worker) listening on all 120 pod ports. The access log, a
# status code per line, exists only to count L7 checks; stub_status on a
# separate port counts accepted connections (a cross-check for L4).
NGX=$WORK/nginx
mkdir -p "$NGX/tmp"
CHECK_LOG=$NGX/checks.log
{
    cat <<NGX
worker_processes 1;
daemon off;
master_process on;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
    access_log off;
    log_format chk '\$status';
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
NGX
    for p in "${POD_PORTS[@]}"; do printf '        listen 127.0.0.1:%s;\n' "$p"; done
    cat <<NGX
        access_log $CHECK_LOG chk;
        default_type text/plain;
        location = /health { return 200 "ok\n"; }
        location / { return 404; }
    }
    server {
        listen 127.0.0.1:$STATUS_PORT;
        location = /status { stub_status; }
    }
}
NGX
} >"$NGX/nginx.conf"
spawn nginx "$NGX/stdout.log" nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log"
NGX_PID=$SPAWNED_PID
for url in "http://127.0.0.1:$STATUS_PORT/status" "http://127.0.0.1:${POD_PORTS[0]}/health" \
    "http://127.0.0.1:${POD_PORTS[NPODS - 1]}/health"; do
    wait_http "$url" 10 "$NGX_PID" ||
        { cat "$NGX/error.log" "$NGX/stdout.log" >&2 || true; die "nginx did not come up ($url)"; }
done
log "nginx: $NPODS pods on 127.0.0.1:${POD_PORTS[0]}..., status on :$STATUS_PORT"

# --------------------------------------------------------------- config ----
write_cfg() { # write_cfg MODE FILE -- the one config both proxies run
    local mode=$1 i chk=
    [[ $mode == NONE ]] || chk=" check inter ${INTER_S}s fastinter ${INTER_S}s downinter ${INTER_S}s rise 2 fall 3"
    {
        cat <<CFG
global
    maxconn $MAXCONN
    nbthread 2

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s

frontend fe
    bind 127.0.0.1:$FE_PORT
    default_backend pods

backend pods
    balance leastconn
CFG
        case $mode in
        L4) echo "    option tcp-check" ;;
        L7) printf '    option httpchk GET /health\n    http-check expect status 200\n' ;;
        esac
        for ((i = 0; i < NPODS; i++)); do
            printf '    server pod%03d 127.0.0.1:%s%s\n' $((i + 1)) "${POD_PORTS[i]}" "$chk"
        done
    } >"$2"
}

# ------------------------------------------------------------ sampling ----
# cpu_ticks (utime+stime of the whole process) comes from lib/proc.sh.
sched_ns() { # sum of per-thread on-CPU ns (live threads only): a fine-grained cross-check
    local t n sum=0
    for t in /proc/"$1"/task/*/schedstat; do
        read -r n _ <"$t" 2>/dev/null && sum=$((sum + n))
    done
    echo "$sum"
}
tcp_opens() { # "ActiveOpens PassiveOpens" from /proc/net/snmp
    awk '/^Tcp:/ {
        if (h) { print $a, $p; exit }
        for (i = 1; i <= NF; i++) { if ($i == "ActiveOpens") a = i; if ($i == "PassiveOpens") p = i }
        h = 1
    }' /proc/net/snmp
}
ngx_accepts() { # stub_status "accepts" (includes this request's own connection)
    local n
    n=$(curl -s --max-time 2 "http://127.0.0.1:$STATUS_PORT/status" | awk 'NR == 3 { print $1 }') || true
    [[ $n =~ ^[0-9]+$ ]] && echo "$n" || echo NA
}
log_lines() { [[ -f $CHECK_LOG ]] && wc -l <"$CHECK_LOG" || echo 0; }
listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

proxy_cmd() { # proxy_cmd NAME CFG -> sets CMD array
    case $1 in
    HAProxy) CMD=(haproxy -f "$2" -db) ;;
    Breakwater) CMD=("$BREAKWATER_BIN" proxy -f "$2") ;;
    esac
}
proxy_failed() { # proxy_failed NAME LOG MSG [PID]
    local how=
    if [[ -n ${4:-} ]] && ! alive "$4"; then # reap it for the exit status
        local rc=0
        reap "$4" || rc=$?
        how=" (exit status $rc"
        ((rc > 128)) && how+=", signal $((rc - 128)) = SIG$(kill -l $((rc - 128)) 2>/dev/null || echo '?')"
        how+=")"
    fi
    log "--- last lines of $1's output ---"
    tail -n 30 "$2" >&2 || true
    die "$1: $3$how"
}

# --------------------------------------------------------- machine line ----
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[[ -n $cpu_model ]] || cpu_model=$(awk -F': *' '/^(Hardware|cpu model|Processor)/ {print $2; exit}' /proc/cpuinfo)
haproxy_v=$(haproxy -v 2>&1 | sed -n 1p) # sed, not head: no SIGPIPE under pipefail
nginx_v=$(nginx -v 2>&1 | sed -n 1p)
MACHINE="$(uname -srm) | nproc $(nproc) | ${cpu_model:-unknown CPU} | $(date -u '+%Y-%m-%d %H:%M:%S UTC') | $haproxy_v | $nginx_v"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }'; then
    log "WARNING: load average is $LOAD_START on $(nproc) cores; other work on the machine will skew CPU figures"
fi

# ---------------------------------------------------------------- runs ----
PROXIES=(HAProxy Breakwater)
RESULTS=$WORK/results.tsv
: >"$RESULTS"
nmodes=$(wc -w <<<"$MODES")
log "$nmodes mode(s) x ${#PROXIES[@]} proxies x (${SPREAD_S}s spread + ${DURATION}s window): ~$((nmodes * ${#PROXIES[@]} * (SPREAD_S + DURATION + 2)))s"

for mode in $MODES; do
    cfg=$WORK/$mode.cfg
    write_cfg "$mode" "$cfg"
    for p in "${PROXIES[@]}"; do
        plog=$WORK/$p.$mode.log
        proxy_cmd "$p" "$cfg"
        listening "$FE_PORT" && die "port $FE_PORT is still in use before starting $p"
        spawn "$p" "$plog" "${CMD[@]}"
        pid=$SPAWNED_PID
        t0=$(now_us)
        until listening "$FE_PORT"; do
            alive "$pid" || proxy_failed "$p" "$plog" "exited before listening (${CMD[*]})" "$pid"
            (($(now_us) - t0 > START_LIMIT_S * 1000000)) && proxy_failed "$p" "$plog" "not listening on 127.0.0.1:$FE_PORT within ${START_LIMIT_S}s" "$pid"
            sleep 0.02
        done
        log "$mode $p listening (pid $pid); ${SPREAD_S}s startup spread, then ${DURATION}s window"
        spawn sleep /dev/null sleep "$SPREAD_S"
        reap "$SPAWNED_PID" || true
        alive "$pid" || proxy_failed "$p" "$plog" "exited during the startup spread" "$pid"

        # window open: snmp first, then our own status request (1 active open
        # inside the window, 1 accept counted at the close) ...
        read -r ao0 po0 < <(tcp_opens); w0=$(now_us)
        read -r u0 k0 < <(cpu_ticks "$pid"); s0=$(sched_ns "$pid"); l0=$(log_lines)
        a0=$(ngx_accepts)
        spawn sleep /dev/null sleep "$DURATION"
        reap "$SPAWNED_PID" || true
        # ... window close, same order
        read -r ao1 po1 < <(tcp_opens); w1=$(now_us)
        alive "$pid" || proxy_failed "$p" "$plog" "exited during the measurement window" "$pid"
        alive "$NGX_PID" || die "nginx (pid $NGX_PID) exited during the $mode $p window (killed from outside? see $NGX/error.log)"
        read -r u1 k1 < <(cpu_ticks "$pid"); s1=$(sched_ns "$pid"); l1=$(log_lines)
        a1=$(ngx_accepts)
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
        nthr=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
        kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null | wc -w)
        ((kids == 0)) || log "WARNING: $p has $kids child process(es); only pid $pid's CPU is counted"
        non200=$(awk -v s="$l0" -v e="$l1" 'NR > s && NR <= e && $1 != 200 { n++ } END { print n + 0 }' "$CHECK_LOG" 2>/dev/null || echo 0)

        # after the window: one request through the proxy (did checks leave pods UP?)
        code=$(http_code "http://127.0.0.1:$FE_PORT/health")
        stop_pid "$pid"

        acc=NA
        [[ $a0 == NA || $a1 == NA ]] || acc=$((a1 - a0 - 1))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$p" $((w1 - w0)) $((u1 - u0)) $((k1 - k0)) \
            $((s1 - s0)) $((ao1 - ao0 - 1)) $((po1 - po0 - 1)) "$acc" $((l1 - l0)) "$non200" "$hwm" "$nthr" "$code" >>"$RESULTS"
        log "$mode $p: cpu $((u1 - u0))+$((k1 - k0)) ticks (user+sys), active opens $((ao1 - ao0 - 1)), nginx accepts $acc, L7 log lines $((l1 - l0)) (non-200 $non200), VmHWM ${hwm} kB, after-window GET -> $code"
        [[ $code == 200 ]] || log "WARNING: $p answered $code (not 200) for /health after the window: pods may be marked DOWN"
        sleep 1
    done
done
stop_all # nginx
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --------------------------------------------------------------- report ----
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/health-$(date -u +%Y%m%dT%H%M%SZ).md
EXAMPLE_CFG=$WORK/$(awk '{print $1; exit}' <<<"$MODES").cfg

python3 - "$RESULTS" "$MACHINE" "$DURATION" "$CLK_TCK" "$NPODS" "$INTER_S" "$SPREAD_S" \
    "$BREAKWATER_BIN" "$MAXCONN_NOTE" "$EXAMPLE_CFG" "$MODES" "$NETNS_NOTE" "$LOAD_START" "$LOAD_END" "$(nproc)" >"$REPORT" <<'PY'
import sys
(results, machine, duration, clk_tck, npods, inter, spread,
 bw_bin, maxconn_note, example_cfg, modes, netns_note, load_start, load_end, ncpu) = sys.argv[1:]
clk_tck, npods, inter = int(clk_tck), int(npods), float(inter)
PROXIES = ["HAProxy", "Breakwater"]

rows = {}
for line in open(results):
    (mode, p, wall_us, uticks, sticks, sched, opens, popens, accepts, loglines, non200,
     hwm, nthr, code) = line.rstrip("\n").split("\t")
    wall = int(wall_us) / 1e6
    cpu = (int(uticks) + int(sticks)) / clk_tck
    checks = int(loglines) if mode == "L7" else int(opens)
    rows[(mode, p)] = dict(
        wall=wall, cpu=cpu, cpu_min=cpu / wall * 60, sched_min=int(sched) / 1e9 / wall * 60,
        utime=int(uticks) / clk_tck, stime=int(sticks) / clk_tck, popens=int(popens),
        checks=checks, cps=checks / wall, opens=int(opens), accepts=accepts,
        loglines=int(loglines), non200=int(non200),
        us_per=(cpu * 1e6 / checks if checks > 0 and mode != "NONE" else None),
        rss=(int(hwm) / 1024 if hwm.isdigit() else None), nthr=nthr, code=code)

def f(v, nd=2):
    return "n/a" if v is None else f"{v:,.{nd}f}"

def ratio(a, b):
    return "n/a" if a is None or not b else f"{a / b:.2f}x"

out = [f"machine: {machine}", ""]
out.append(f"# Active health-check cost: Breakwater vs HAProxy, {npods} pods, no client traffic (loopback)")
out.append("")
out.append(f"{npods} servers, `check inter {inter:g}s rise 2 fall 3`, all served by one nginx worker. "
           f"Per mode and proxy: start, wait {spread}s (startup spread), then a {duration}s window "
           f"with no client traffic. CPU = utime+stime of the proxy process from /proc/PID/stat "
           f"(1/{clk_tck} s ticks). Checks: L7 = nginx access-log lines, L4 = TcpActiveOpens "
           f"delta (see the network note below; only one proxy runs at a time; our own status "
           f"request is subtracted). Expected rate: {npods}/{inter:g}s = {npods / inter:g} checks/s. "
           f"Peak RSS = VmHWM at the end of the window. Proxies run one after the other.")
out.append("")
out.append("| mode | proxy | CPU s/min | checks/s | µs CPU per check | peak RSS MiB |")
out.append("|---|---|---:|---:|---:|---:|")
for mode in modes.split():
    for p in PROXIES:
        r = rows.get((mode, p))
        if r is None:
            continue
        out.append(f"| {mode} | {p} | {f(r['cpu_min'], 3)} | {f(r['cps'], 1)} | {f(r['us_per'], 1)} | {f(r['rss'], 1)} |")
    b, h = rows.get((mode, "Breakwater")), rows.get((mode, "HAProxy"))
    if b and h:
        out.append(f"| {mode} | Breakwater/HAProxy CPU ratio | {ratio(b['cpu_min'], h['cpu_min'])} | "
                   f"{ratio(b['cps'], h['cps']) if mode != 'NONE' else 'n/a'} | "
                   f"{ratio(b['us_per'], h['us_per'])} | {ratio(b['rss'], h['rss'])} |")
out.append("")

idle = {p: rows.get(("NONE", p)) for p in PROXIES}
if any(idle.values()):
    out.append("Net of idle (CPU of the same config without `check`, mode NONE, subtracted):")
    out.append("")
    for mode in modes.split():
        if mode == "NONE":
            continue
        parts = []
        for p in PROXIES:
            r, i = rows.get((mode, p)), idle.get(p)
            if r and i and r["checks"] > 0:
                net = (r["cpu_min"] - i["cpu_min"]) / 60 * r["wall"]
                parts.append(f"{p} {f((r['cpu_min'] - i['cpu_min']), 3)} s/min, "
                             f"{f(net * 1e6 / r['checks'], 1)} µs/check")
        if parts:
            out.append(f"- {mode}: " + "; ".join(parts))
    out.append("")

warn = []
if float(load_start.split()[0]) > int(ncpu) / 4 or float(load_end.split()[0]) > int(ncpu) / 4 + 0.5:
    warn.append(f"- load average was {load_start} at the start and {load_end} at the end (1/5/15 min) "
                f"on {ncpu} cores: other work on the machine skews the CPU figures")
for (mode, p), r in sorted(rows.items()):
    if r["code"] != "200":
        warn.append(f"- {mode} {p}: GET /health through the proxy after the window returned {r['code']} (pods DOWN?)")
    if mode == "L7" and r["non200"]:
        warn.append(f"- {mode} {p}: {r['non200']} check requests in the window got a non-200 from nginx")
    if mode != "NONE" and not (0.8 * npods / inter <= r["cps"] <= 1.2 * npods / inter):
        warn.append(f"- {mode} {p}: {r['cps']:.1f} checks/s, expected about {npods / inter:g}")
if warn:
    out.append("**Warnings**")
    out.append("")
    out.extend(warn)
    out.append("")

out.append(f"Breakwater binary: `{bw_bin}`; network: {netns_note}.")
if maxconn_note:
    out.append("")
    out.append(f"Note: {maxconn_note}")
out.append("")
out.append("<details><summary>Raw counters</summary>")
out.append("")
out.append("user/sys = the CPU column split. On loopback the kernel runs both ends of a TCP "
           "handshake in the connecting process's context, so sys includes work a remote pod "
           "would do. Passive opens = handshakes completed by any listener (the pods here), "
           "minus our own status request. CPU (schedstat) = sum of live threads' on-CPU time from /proc/PID/task/*/schedstat (ns "
           "resolution; misses threads that exited in the window). nginx accepts = stub_status delta "
           "(connections nginx accepted on any pod port). After-window GET = one request through the "
           "frontend after the window.")
out.append("")
out.append("| mode | proxy | window s | CPU s | user s | sys s | CPU (schedstat) s/min | TcpActiveOpens | TcpPassiveOpens | nginx accepts | L7 log lines | non-200 | threads | after-window GET |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for mode in modes.split():
    for p in PROXIES:
        r = rows.get((mode, p))
        if r:
            out.append(f"| {mode} | {p} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['utime']:.2f} | {r['stime']:.2f} | "
                       f"{r['sched_min']:.3f} | {r['opens']} | {r['popens']} | {r['accepts']} | {r['loglines']} | {r['non200']} | {r['nthr']} | {r['code']} |")
out.append("")
out.append(f"Config ({example_cfg.rsplit('/', 1)[-1][:-4]} mode, 120 servers; the other modes differ only in "
           f"the check option lines; NONE drops the `check ...` server parameters):")
out.append("")
out.append("```")
lines = open(example_cfg).read().rstrip("\n").split("\n")
srv = [i for i, l in enumerate(lines) if l.strip().startswith("server ")]
if len(srv) > 4:
    lines = lines[:srv[2]] + [f"    ... {len(srv) - 3} more servers ..."] + lines[srv[-1]:]
out.extend(lines)
out.append("```")
out.append("</details>")
print("\n".join(out))
PY

cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
