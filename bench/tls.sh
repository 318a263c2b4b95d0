#!/usr/bin/env bash
# TLS termination benchmark: Breakwater vs HAProxy (Debian's 2.6), same
# certificate (EC P-256), same ticket keys, same config file, one proxy at a
# time, in front of one nginx serving 64 bytes. See bench/README.md.
#
# Env knobs:
#   DURATION        seconds per measurement                         (default 10)
#   RUNS            rounds (HAProxy then Breakwater each round)     (default 1)
#   TLS_VER         1.3 or 1.2, for the s_time handshake tests      (default 1.3)
#   HS_CLIENTS      parallel `openssl s_time` processes             (default 1)
#   H2_CONNS        h2load connections (-c)                          (default 32)
#   H2_STREAMS      h2load max concurrent streams per conn (-m)      (default 10)
#   WRK_CONNS       wrk connections for HTTP/1.1 over TLS            (default 64)
#   IDLE_CONNS      idle TLS keep-alive clients for the memory cell, 0 = skip (default 500)
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
# shellcheck source-path=SCRIPTDIR source=lib/proc.sh
source "$BENCH_DIR/lib/proc.sh"

DURATION=${DURATION:-10}
RUNS=${RUNS:-1}
TLS_VER=${TLS_VER:-1.3}
HS_CLIENTS=${HS_CLIENTS:-1}
H2_CONNS=${H2_CONNS:-32}
H2_STREAMS=${H2_STREAMS:-10}
WRK_CONNS=${WRK_CONNS:-64}
IDLE_CONNS=${IDLE_CONNS:-500}
WARMUP=2 # seconds of wrk before each proxy's measurements

for v in DURATION RUNS HS_CLIENTS H2_CONNS H2_STREAMS WRK_CONNS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v must be a positive integer"
done
((WRK_CONNS >= 2)) || die "WRK_CONNS must be >= 2 (wrk -t2)"
[[ $IDLE_CONNS =~ ^[0-9]+$ ]] || die "IDLE_CONNS must be a non-negative integer"
case $TLS_VER in 1.3) STIME_VER=-tls1_3 ;; 1.2) STIME_VER=-tls1_2 ;; *) die "TLS_VER must be 1.3 or 1.2" ;; esac

ensure_pkgs haproxy:haproxy nginx:nginx wrk:wrk h2load:nghttp2-client openssl:openssl curl:curl python3:python3
resolve_breakwater "$REPO_ROOT"
enter_netns "$BENCH_DIR/tls.sh" "$@"

# ------------------------------------------------------------- workdir ----
WORK=$(mktemp -d /tmp/bw-bench-tls.XXXXXX)
chmod 755 "$WORK" # nginx workers run as nobody and must read the docroot

install_cleanup_traps

clamp_maxconn 10000 200
mapfile -t PORTS < <(free_ports 2)
NGX_PORT=${PORTS[0]}
FE_PORT=${PORTS[1]} # one proxy at a time, so both run the very same file
URL=https://127.0.0.1:$FE_PORT/64

# ------------------------------------------------- certificate and keys ----
TLS=$WORK/tls
make_tls_site "$TLS"
CERT_DESC=$(openssl x509 -in "$TLS/cert.pem" -noout -text | awk '/Public Key Algorithm|NIST CURVE|ASN1 OID/ {sub(/^ +/, ""); printf "%s; ", $0}')

# ------------------------------------------------------------- backend ----
start_nginx_64 "$WORK" "$NGX_PORT" 8192
log "nginx backend on 127.0.0.1:$NGX_PORT"

# -------------------------------------------------------------- config ----
CFG=$WORK/tls.cfg
cat >"$CFG" <<CFG
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

frontend https-in
    bind 127.0.0.1:$FE_PORT ssl crt $TLS/site.pem alpn h2,http/1.1 tls-ticket-keys $TLS/tickets.key
    default_backend be

backend be
    server ngx 127.0.0.1:$NGX_PORT
CFG
haproxy -c -q -f "$CFG" >"$WORK/haproxy-check.log" 2>&1 ||
    { cat "$WORK/haproxy-check.log" >&2; die "haproxy -c rejects the config"; }
if [[ $BREAKWATER_REAL == 1 ]]; then
    "$BREAKWATER_BIN" check -f "$CFG" >"$WORK/bw-check.log" 2>&1 ||
        { cat "$WORK/bw-check.log" >&2; die "'breakwater check' rejects the config ($BREAKWATER_BIN)"; }
fi

PROXIES=(HAProxy Breakwater)
proxy_cmd() { # proxy_cmd NAME -> sets CMD array
    case $1 in
    HAProxy) CMD=(haproxy -f "$CFG" -db) ;;
    Breakwater) CMD=("$BREAKWATER_BIN" proxy -f "$CFG") ;;
    esac
}
https_code() { curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$@" 2>/dev/null || true; }

# --------------------------------------------------------- machine line ----
MACHINE=$(machine_line "$(tool_version haproxy -v)" "$(tool_version nginx -v)" "$(tool_version openssl version)" \
    "$(tool_version h2load --version)" "$(tool_version wrk -v)")
read -r LOAD_START _ </proc/loadavg

# --------------------------------------------------------------- tests ----
RESULTS=$WORK/results.tsv # proxy run test rate lat_a lat_b errors info
: >"$RESULTS"
RAW=$WORK/raw.txt
: >"$RAW"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }
CPU=$WORK/cpu.tsv # proxy run test cpu_ticks operations (connections or requests)
: >"$CPU"
# write_syscalls PID: write-type syscalls so far, all threads (syscw of /proc/PID/io): one per flush
# that reached the socket, so per request it shows whether streams share their flushes.
write_syscalls() { awk '/^syscw:/ {print $2; f=1} END {if (!f) print 0}' "/proc/$1/io" 2>/dev/null || echo 0; }
cpu_mark() { CPU_T0=$(cpu_total_ticks "${PROXY_PID[$1]}"); SYSCW_T0=$(write_syscalls "${PROXY_PID[$1]}"); }
cpu_record() { # cpu_record NAME RUN TEST OPS
    local ticks=$(($(cpu_total_ticks "${PROXY_PID[$1]}") - CPU_T0))
    local writes=$(($(write_syscalls "${PROXY_PID[$1]}") - SYSCW_T0))
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$ticks" "$4" "$writes" >>"$CPU"
    log "$1 $3: CPU $(cpu_per_k "$ticks" "$4") s per 1,000 ($4 operations), $writes write syscalls"
}

# s_time_test NAME RUN MODE(new|reuse): HS_CLIENTS parallel s_time processes.
# -www /64 makes each connection send one request and read the answer; under
# TLS 1.3 the server's session tickets arrive after the handshake, so without
# a read s_time never holds a ticket and -reuse silently does full handshakes.
s_time_test() {
    local p=$1 r=$2 mode=$3 i pids=() t0 t1 conns=0 reused=0 full=0 f n
    cpu_mark "$p"
    t0=$(now_us)
    for ((i = 0; i < HS_CLIENTS; i++)); do
        spawn s_time "$WORK/stime-$p-$r-$mode-$i.txt" \
            openssl s_time -connect "127.0.0.1:$FE_PORT" "-$mode" -time "$DURATION" "$STIME_VER" -www /64
        pids+=("$SPAWNED_PID")
    done
    for i in "${pids[@]}"; do reap "$i" || log "s_time exited non-zero ($p $mode)"; done
    t1=$(now_us)
    for ((i = 0; i < HS_CLIENTS; i++)); do
        f=$WORK/stime-$p-$r-$mode-$i.txt
        n=$(awk '/connections in .*s;/ {print $1; exit}' "$f")
        [[ -n $n ]] || { log "unparsable s_time output ($p $mode):"; cat "$f" >&2; n=0; }
        conns=$((conns + n))
        reused=$((reused + $(grep -E '^[rt3*]+$' "$f" | tr -cd r | wc -c)))
        full=$((full + $(grep -E '^[rt3*]+$' "$f" | tr -cd '*t3' | wc -c)))
        { echo "== s_time -$mode $p run $r client $i"; grep -v -E '^[rt3*]+$' "$f"; } >>"$RAW"
    done
    alive "${PROXY_PID[$p]}" || proxy_failed "$p" "exited during s_time -$mode"
    local rate
    rate=$(awk -v c="$conns" -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", c * 1e6 / d}')
    # errors column: connections of the wrong kind (a full handshake in the reuse
    # test, a resumed one in the new test)
    local wrong=$full
    [[ $mode == new ]] && wrong=$reused
    cpu_record "$p" "$r" "hs_$mode" "$conns"
    record "$p" "$r" "hs_$mode" "$rate" NA NA "$wrong" "conns=$conns resumed=$reused full=$full"
    log "$p s_time -$mode: $rate conn/s ($conns connections, $reused resumed, $full full)"
}

h2_test() {
    local p=$1 r=$2
    local out=$WORK/h2load-$p-$r.txt
    local reqlog=$WORK/h2load-$p-$r.log
    cpu_mark "$p"
    spawn h2load "$out" h2load -c"$H2_CONNS" -m"$H2_STREAMS" -n 200000 -D "$DURATION" --log-file="$reqlog" "$URL"
    reap "$SPAWNED_PID" || { log "h2load exited non-zero ($p):"; tail -n 20 "$out" >&2; }
    cpu_record "$p" "$r" h2 "$(awk '/^requests:/ {print $8; exit}' "$out")"
    alive "${PROXY_PID[$p]}" || proxy_failed "$p" "exited during h2load"
    local rps mean_ms err alpn tlsinfo
    read -r rps mean_ms err < <(awk '
        function ms(v, n) { n = v + 0; if (v ~ /us$/) return n / 1000; if (v ~ /ms$/) return n; if (v ~ /s$/) return n * 1000; return "NA" }
        BEGIN { rps = "NA"; mean = "NA"; err = 0 }
        /^finished in/ { rps = $4 + 0 }
        /^requests:/ { for (i = 2; i <= NF; i++) if ($(i+1) ~ /^(failed|errored|timeout)/) err += $i }
        /^status codes:/ { for (i = 3; i <= NF; i++) if ($(i+1) ~ /^[345]xx/) err += $i }
        /^time for request:/ { mean = ms($6) }
        END { printf "%s %s %d\n", rps, mean, err }' "$out")
    alpn=$(awk -F': ' '/^Application protocol:/ {print $2; exit}' "$out")
    tlsinfo=$(awk -F': ' '/^TLS Protocol:|^Cipher:|^Server Temp Key:/ {printf "%s%s", s, $2; s=", "}' "$out")
    [[ $alpn == h2 ]] || log "WARNING: $p negotiated '${alpn:-nothing}' instead of h2"
    { echo "== h2load $p run $r"; grep -v '^progress' "$out" | sed -n '/^TLS Protocol/,$p'; } >>"$RAW"
    # h2load prints only a mean; p50/p99 come from its per-request log (3rd column: µs)
    local p50 p99
    read -r p50 p99 < <(python3 -c '
import sys
d = sorted(int(l.split()[2]) for l in open(sys.argv[1]) if len(l.split()) >= 3)
q = lambda f: f"{d[min(len(d) - 1, int(f * len(d)))] / 1000:.3f}" if d else "NA"
print(q(0.50), q(0.99))' "$reqlog")
    record "$p" "$r" h2 "$rps" "$p50" "$p99" "$err" "alpn=${alpn:-none}; $tlsinfo; mean ${mean_ms} ms"
    log "$p h2load: $rps req/s, mean $mean_ms ms, errors $err, ALPN ${alpn:-none}"
}

h1_test() {
    local p=$1 r=$2 secs=$3 out=$4
    spawn wrk "$out" wrk -t2 -c"$WRK_CONNS" -d"$secs"s --latency "$URL"
    reap "$SPAWNED_PID" || { log "wrk exited non-zero ($p):"; cat "$out" >&2; }
    alive "${PROXY_PID[$p]}" || proxy_failed "$p" "exited during wrk"
}

# idle_test NAME RUN: RSS growth of the proxy while IDLE_CONNS TLS clients that each finished a
# handshake and one GET sit idle. Runs first, on a fresh process (a warm one reuses memory freed by
# the load tests and shows less), after 20 such connections opened and closed once.
IDLE=$WORK/idle.tsv # proxy run before_kb after_kb opened
: >"$IDLE"
idle_test() {
    local p=$1 r=$2 fifo holder before=NA after=NA opened=0 n pid=${PROXY_PID[$1]}
    ((IDLE_CONNS > 0)) || return 0
    for n in 20 "$IDLE_CONNS"; do
        fifo=$(mktemp -u "$WORK/idle.XXXXXX")
        mkfifo "$fifo"
        [[ $n == 20 ]] || before=$(rss_kb "$pid")
        spawn idle-holder "$WORK/idle-$p-$r-$n.log" python3 "$BENCH_DIR/lib/tls_idle_conns.py" 127.0.0.1 "$FE_PORT" /64 "$n" "$fifo"
        holder=$SPAWNED_PID
        opened=$(timeout 90 head -n 1 "$fifo" || echo 0)
        sleep 1 # let the proxy settle its per-connection state
        [[ $n == 20 ]] || after=$(rss_kb "$pid")
        stop_pid "$holder"
        rm -f "$fifo"
        sleep 1
    done
    printf '%s\t%s\t%s\t%s\t%s\n' "$p" "$r" "$before" "$after" "${opened:-0}" >>"$IDLE"
    log "$p idle: RSS $before -> $after KiB with ${opened:-0} idle TLS clients"
}

declare -A PROXY_PID=() RSS_KB=()
proxy_failed() { # proxy_failed NAME MSG
    log "--- last lines of $1's output ---"
    tail -n 30 "$WORK/$1.log" >&2 || true
    die "$1: $2"
}

est=$((RUNS * 2 * (WARMUP + 4 * DURATION + 3)))
log "$RUNS round(s) x 2 proxies x 4 tests x ${DURATION}s: ~${est}s"

for ((r = 1; r <= RUNS; r++)); do
    for p in "${PROXIES[@]}"; do
        proxy_cmd "$p"
        spawn "$p" "$WORK/$p.log" "${CMD[@]}"
        PROXY_PID[$p]=$SPAWNED_PID
        ok=
        for ((i = 0; i < 500; i++)); do
            [[ $(https_code "$URL") == 200 ]] && { ok=1; break; }
            alive "$SPAWNED_PID" || break
            sleep 0.02
        done
        [[ -n $ok ]] || proxy_failed "$p" "no 200 over TLS on $URL within 10 s (${CMD[*]})"
        [[ $(curl -sk -o /dev/null -w '%{http_version}' --http2 "$URL") == 2 ]] ||
            log "WARNING: $p does not answer curl --http2 with HTTP/2"
        log "$p up on 127.0.0.1:$FE_PORT (pid $SPAWNED_PID), round $r/$RUNS"

        idle_test "$p" "$r"
        h1_test "$p" "$r" "$WARMUP" "$WORK/warm-$p-$r.txt"
        s_time_test "$p" "$r" new
        s_time_test "$p" "$r" reuse
        h2_test "$p" "$r"
        out=$WORK/wrk-$p-$r.txt
        cpu_mark "$p"
        h1_test "$p" "$r" "$DURATION" "$out"
        cpu_record "$p" "$r" h1 "$(wrk_requests "$out")"
        read -r rps p50 p99 err < <(parse_wrk "$out")
        record "$p" "$r" h1 "$rps" "$p50" "$p99" "$err" ""
        { echo "== wrk $p run $r"; cat "$out"; } >>"$RAW"
        log "$p wrk https: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err"

        RSS_KB[$p]=$(awk '/^VmHWM:/ {print $2}' "/proc/${PROXY_PID[$p]}/status" 2>/dev/null || echo NA)
        stop_pid "${PROXY_PID[$p]}"
        sleep 0.5
    done
done
read -r LOAD_END _ </proc/loadavg
stop_all

# -------------------------------------------------------------- report ----
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/tls-$(date -u +%Y%m%dT%H%M%SZ).md
python3 - "$RESULTS" "$RAW" "$MACHINE" "$DURATION" "$RUNS" "$TLS_VER" "$HS_CLIENTS" "$H2_CONNS" "$H2_STREAMS" \
    "$WRK_CONNS" "$BREAKWATER_BIN" "$BREAKWATER_REAL" "$CFG" "$CERT_DESC" "$NETNS_NOTE" "$MAXCONN_NOTE" \
    "$LOAD_START" "$LOAD_END" "${RSS_KB[HAProxy]:-NA}" "${RSS_KB[Breakwater]:-NA}" "$CPU" "$CLK_TCK" "$IDLE" >"$REPORT" <<'PY'
import sys, statistics as st
(results, raw, machine, duration, runs, tls_ver, hs_clients, h2c, h2m, wrkc, bw_bin, bw_real, cfg,
 cert, netns, maxconn_note, load0, load1, rss_h, rss_b, cpu_file, clk_tck, idle_file) = sys.argv[1:]
cpu, writes = {}, {}
for line in open(cpu_file):
    p, r, t, ticks, ops, nw = line.rstrip("\n").split("\t")
    if ops.isdigit() and int(ops) > 0:
        cpu.setdefault((t, p), []).append(int(ticks) / int(clk_tck) / int(ops) * 1000)
        writes.setdefault((t, p), []).append(int(nw) / int(ops))
P = ["HAProxy", "Breakwater"]
def num(s):
    try: return float(s)
    except ValueError: return None
rows, info = {}, {}
for line in open(results):
    p, r, t, rate, a, b, err, inf = line.rstrip("\n").split("\t")
    rows.setdefault((t, p), []).append((num(rate), num(a), num(b), int(err)))
    if inf: info.setdefault((t, p), []).append(inf)
def med(v):
    v = [x for x in v if x is not None]
    return st.median(v) if v else None
def f(v, nd=0): return "n/a" if v is None else f"{v:,.{nd}f}"
def ratio(a, b): return "n/a" if a is None or not b else f"{a / b:.2f}x"
TESTS = [
    ("hs_new", f"full handshakes/s (s_time -new, TLS {tls_ver})", "conn/s"),
    ("hs_reuse", f"resumed handshakes/s (s_time -reuse, TLS {tls_ver})", "conn/s"),
    ("h2", f"HTTP/2 req/s (h2load -c{h2c} -m{h2m})", "req/s"),
    ("h1", f"HTTP/1.1 over TLS req/s (wrk -t2 -c{wrkc})", "req/s"),
]
o = [f"machine: {machine}", "",
     "# Breakwater vs HAProxy: TLS termination (loopback, nginx 64-byte backend)", "",
     f"Same certificate ({cert.strip('; ')}), same ticket-key file (3 keys), same config file, "
     f"one proxy at a time, `nbthread 2`. {duration}s per measurement, median of {runs} round(s). "
     f"Handshake tests: {hs_clients} `openssl s_time` process(es), each connection sends `GET /64` "
     f"(HTTP/1.0) and reads the answer (`-www /64`), so a handshake figure includes one proxied request; "
     f"rate = connections / wall time. Errors: handshake tests count connections of the wrong kind "
     f"(a full handshake during -reuse, a resumption during -new); h2load counts failed/errored/timeout "
     f"requests and non-2xx; wrk counts socket errors and non-2xx/3xx. Ratio above 1: Breakwater is faster; "
     f"latency ratio above 1: Breakwater is slower. {netns}. Load average {load0} at start, {load1} at end.", "",
     "| test | HAProxy | Breakwater | Breakwater/HAProxy | latency HAProxy | latency Breakwater | latency ratio | errors H / B | CPU s/1k HAProxy | CPU s/1k Breakwater | CPU ratio |",
     "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for t, title, unit in TESTS:
    m = {}
    for p in P:
        rs = rows.get((t, p), [])
        m[p] = (med(x[0] for x in rs), med(x[1] for x in rs), med(x[2] for x in rs), sum(x[3] for x in rs))
    h, b = m["HAProxy"], m["Breakwater"]
    if t in ("h1", "h2"):
        lh, lb, lr = f"p99 {f(h[2], 2)} ms", f"p99 {f(b[2], 2)} ms", ratio(b[2], h[2])
    else:
        lh = lb = lr = ""
    if t in ("h1", "h2"):
        lh, lb = f"p50 {f(h[1], 2)} / {lh}", f"p50 {f(b[1], 2)} / {lb}"
    ch, cb = med(cpu.get((t, "HAProxy"), [])), med(cpu.get((t, "Breakwater"), []))
    o.append(f"| {title} | {f(h[0])} | {f(b[0])} | **{ratio(b[0], h[0])}** | {lh} | {lb} | {lr} | {h[3]} / {b[3]} "
             f"| {f(ch, 4)} | {f(cb, 4)} | **{ratio(cb, ch)}** |")
o.append("")
o.append("CPU = utime+stime of the proxy process (all threads) during the measurement, from /proc/PID/stat, per "
         "1,000 connections (handshake tests: each connection is one handshake plus one GET) or 1,000 requests.")
o.append("")
o.append("Write syscalls per operation (syscw of /proc/PID/io, all threads; includes the write to the server; it counts "
         "write/writev only, not send/sendto, which is all HAProxy uses, so compare Breakwater with itself): "
         + "; ".join(f"{t} HAProxy {f(med(writes.get((t, 'HAProxy'), [])), 2)} / Breakwater "
                     f"{f(med(writes.get((t, 'Breakwater'), [])), 2)}" for t, _, _ in TESTS) + ".")
o.append("")
def mib(kb): return "n/a" if num(kb) is None else f"{float(kb) / 1024:.1f} MiB"
o.append(f"Peak RSS (VmHWM at the end of the last round): HAProxy {mib(rss_h)}, Breakwater {mib(rss_b)}.")
idle = {}
for line in open(idle_file):
    p, r, before, after, opened = line.rstrip("\n").split("\t")
    if before.isdigit() and after.isdigit() and opened.isdigit() and int(opened) > 0:
        idle.setdefault(p, []).append((int(after) - int(before)) / int(opened))
if idle:
    ih, ib = med(idle.get("HAProxy", [])), med(idle.get("Breakwater", []))
    o.append("")
    o.append(f"RSS per idle TLS client (VmRSS growth over the clients of the first cell of a fresh process, each "
             f"after a TLS 1.3 handshake and one GET, keep-alive; includes the idle server connection each leaves "
             f"under `http-reuse safe`): HAProxy {f(ih, 1)} KiB, Breakwater {f(ib, 1)} KiB ({ratio(ib, ih)}).")
o.append("")
for p in P:
    hs = "; ".join(info.get(("hs_new", p), []) + info.get(("hs_reuse", p), []))
    o.append(f"- {p}: s_time new/reuse: {hs}; h2load: {'; '.join(sorted(set(info.get(('h2', p), []))))}")
o.append("")
o.append(f"Breakwater binary: `{bw_bin}`" + ("" if bw_real == "1" else
         " (**stand-in: this runs HAProxy, so this is an A/A run and the ratios show the noise floor**)"))
if maxconn_note: o += ["", f"Note: {maxconn_note}"]
o += ["", "<details><summary>Raw runs and config</summary>", "",
      "| test | proxy | round | rate | lat a (ms) | lat b (ms) | errors | info |", "|---|---|---:|---:|---:|---:|---:|---|"]
for line in open(results):
    p, r, t, rate, a, b, err, inf = line.rstrip("\n").split("\t")
    o.append(f"| {t} | {p} | {r} | {rate} | {a} | {b} | {err} | {inf} |")
o += ["", "lat a: p50 (h2load: from its per-request log); lat b: p99.", "", "```"]
o += open(raw).read().rstrip("\n").split("\n")
o += ["```", "", "Config (both proxies run this file):", "", "```"]
o += open(cfg).read().rstrip("\n").split("\n")
o += ["```", "</details>"]
print("\n".join(o))
PY

cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
