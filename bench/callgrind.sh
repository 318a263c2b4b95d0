#!/usr/bin/env bash
# Noise-free cost per proxied request: Breakwater vs HAProxy (Debian's 2.6), the
# same config (nbthread 1) in front of one nginx serving 64 bytes, loopback.
#
# 1. Instructions: each proxy runs under `valgrind --tool=callgrind` twice, once
#    for BASE_REQUESTS and once for REQUESTS keep-alive requests (h2load --h1,
#    CLIENTS connections), and exits; instructions per request =
#    (Ir(REQUESTS) - Ir(BASE_REQUESTS)) / (REQUESTS - BASE_REQUESTS), so start-up,
#    connection set-up and shutdown cancel out. Only user space is counted.
# 2. Allocations: each proxy runs natively twice (BASE_REQUESTS, REQUESTS) with an LD_PRELOAD
#    counter of malloc/calloc/realloc/memalign calls (bench/lib/alloc_count.c); the same difference.
# 3. Syscalls: each proxy runs natively with `strace -c -f` attached for a run
#    of REQUESTS requests; reads and writes (read/recv*/readv, write/send*/writev)
#    per request, and all syscalls per request.
#
# PROTO picks what one "operation" is (same certificate, ciphers and ticket keys for both proxies):
#   h1         keep-alive HTTP/1.1 request, clear text (default)
#   h1tls      keep-alive HTTP/1.1 request over TLS 1.3 (h2load --h1, ALPN http/1.1)
#   h2c        HTTP/2 request with prior knowledge on a clear-text `proto h2` bind (h2load -m STREAMS)
#   h2         HTTP/2 request over TLS 1.3 (ALPN h2, h2load -m STREAMS)
#   handshake  one TLS 1.3 connection: full handshake + 1 GET + close (bench/lib/tls_conns.py,
#              one connection after another)
#   resumed    the same with the previous connection's session ticket (resumed handshake)
#   churn      one clear-text connection: accept, 1 GET with `Connection: close`, teardown
#              (bench/lib/churn_client.py, one connection after another)
#
# Env knobs:
#   PROTO           h1 | h1tls | h2c | h2 | handshake | resumed | churn (default h1)
#   REQUESTS        operations of the measured run         (default 10000; 300 for handshake/resumed; 2000 for churn)
#   BASE_REQUESTS   operations of the baseline run         (default 1000; 50 for handshake/resumed; 200 for churn)
#   CLIENTS         keep-alive client connections          (default 8)
#   STREAMS         HTTP/2 concurrent streams per connection (h2load -m) (default 10)
#   BODY            length (default): nginx answers with Content-Length; chunked: the same 64
#                   bytes chunked (nginx's /c64), so the proxies frame a chunked response
#   KEEP            a directory: both runs' callgrind profiles are copied there as
#                   callgrind-PROTO-PROXY-N.out (for bench/lib/callgrind_diff.py)
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater)
#   NETNS           1 (default): run in a private network namespace; 0: don't
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

PROTO=${PROTO:-h1}
case $PROTO in
h1 | h1tls | h2c | h2) UNIT=request DEF_N=10000 DEF_BASE=1000 ;;
handshake | resumed) UNIT=connection DEF_N=300 DEF_BASE=50 ;;
churn) UNIT=connection DEF_N=2000 DEF_BASE=200 ;;
*) die "PROTO must be h1, h1tls, h2c, h2, handshake, resumed or churn" ;;
esac
REQUESTS=${REQUESTS:-$DEF_N}
BASE_REQUESTS=${BASE_REQUESTS:-$DEF_BASE}
CLIENTS=${CLIENTS:-8}
STREAMS=${STREAMS:-10}
KEEP=${KEEP:-}
case ${BODY:=length} in
length) BODY_PATH=/64 ;;
chunked) BODY_PATH=/c64 ;;
*) die "BODY must be length or chunked" ;;
esac
for v in REQUESTS BASE_REQUESTS CLIENTS STREAMS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v must be a positive integer"
done
((REQUESTS > BASE_REQUESTS)) || die "REQUESTS must be larger than BASE_REQUESTS"

ensure_pkgs haproxy:haproxy nginx:nginx h2load:nghttp2-client openssl:openssl valgrind:valgrind strace:strace strip:binutils curl:curl python3:python3 gcc:gcc
resolve_breakwater "$REPO_ROOT"
enter_netns "${BASH_SOURCE[0]}" "$@"

WORK=$(mktemp -d /tmp/bw-bench-callgrind.XXXXXX)
chmod 755 "$WORK"
install_cleanup_traps
clamp_maxconn 10000 100

mapfile -t PORTS < <(free_ports 2)
NGX_PORT=${PORTS[0]} FE_PORT=${PORTS[1]}
URL=http://127.0.0.1:$FE_PORT$BODY_PATH
BIND_TLS="" CURL_PROTO=() H2LOAD_PROTO=(--h1)
case $PROTO in
h2c)
    BIND_TLS=" proto h2" CURL_PROTO=(--http2-prior-knowledge) H2LOAD_PROTO=(-m "$STREAMS")
    ;;
h1tls | h2 | handshake | resumed)
    # bench/tls.sh's certificate (EC P-256) and bind line: ALPN, ticket keys shared by both proxies.
    TLS=$WORK/tls
    make_tls_site "$TLS"
    BIND_TLS=" ssl crt $TLS/site.pem alpn h2,http/1.1 tls-ticket-keys $TLS/tickets.key"
    URL=https://127.0.0.1:$FE_PORT$BODY_PATH CURL_PROTO=(-k)
    [[ $PROTO == h2 ]] && CURL_PROTO=(-k --http2) H2LOAD_PROTO=(-m "$STREAMS")
    ;;
esac
PROXIES=(HAProxy Breakwater)
# ready URL TIMEOUT_S PID: the frontend answers 200 in the PROTO's own protocol.
ready() {
    local timeout_us=$(($2 * 1000000)) start code
    start=$(now_us)
    while :; do
        code=$(curl -s "${CURL_PROTO[@]}" -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null || true)
        [[ $code == 200 ]] && return 0
        alive "$3" || return 1
        (($(now_us) - start > timeout_us)) && return 1
        sleep 0.01
    done
}

# ------------------------------------------------------------- backend ----
start_nginx_64 "$WORK" "$NGX_PORT" 4096

CFG=$WORK/proxy.cfg # one file, both proxies
cat >"$CFG" <<CFG
global
    nbthread 1
    maxconn $MAXCONN

defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    option http-keep-alive
    http-reuse safe

frontend fe
    bind 127.0.0.1:$FE_PORT$BIND_TLS
    default_backend be

backend be
    server ngx0 127.0.0.1:$NGX_PORT
CFG

# Valgrind 3.19's DWARF reader gives up on the Swift toolchain's debug info ("Possibly corrupted
# debuginfo file"), so Breakwater runs from a copy without it (symbols stay for callgrind_annotate).
BW_RUN=$WORK/breakwater-nodebug
strip --strip-debug -o "$BW_RUN" "$BREAKWATER_BIN" || die "strip --strip-debug $BREAKWATER_BIN failed"

# Two LD_PRELOAD shims (bench/lib): one lets valgrind 3.19 run a Swift binary (libdispatch's
# read-only sigsuspend mask), one counts heap allocations for the allocations-per-request figure.
SIGSUSPEND_SHIM=$WORK/valgrind_sigsuspend.so ALLOC_SHIM=$WORK/alloc_count.so
gcc -O2 -shared -fPIC -o "$SIGSUSPEND_SHIM" "$BENCH_DIR/lib/valgrind_sigsuspend.c" || die "cannot build $SIGSUSPEND_SHIM"
gcc -O2 -shared -fPIC -o "$ALLOC_SHIM" "$BENCH_DIR/lib/alloc_count.c" || die "cannot build $ALLOC_SHIM"

proxy_cmd() { # proxy_cmd NAME -> CMD array
    case $1 in
    HAProxy) CMD=(haproxy -f "$CFG" -db) ;;
    Breakwater) CMD=("$BW_RUN" proxy -f "$CFG") ;;
    esac
}

load() { # load N OUT: N operations (PROTO); fails unless all succeed
    if [[ $PROTO == churn ]]; then
        python3 "$BENCH_DIR/lib/churn_client.py" 127.0.0.1 "$FE_PORT" "$BODY_PATH" "$1" >"$2" 2>&1 ||
            { cat "$2" >&2; log "churn_client.py: not all of $1 connections succeeded"; return 1; }
        return 0
    fi
    if [[ $UNIT == connection ]]; then
        local mode=new
        [[ $PROTO == resumed ]] && mode=resumed
        python3 "$BENCH_DIR/lib/tls_conns.py" 127.0.0.1 "$FE_PORT" "$BODY_PATH" "$1" "$mode" >"$2" 2>&1 ||
            { cat "$2" >&2; log "tls_conns.py: not all of $1 connections succeeded ($mode)"; return 1; }
        return 0
    fi
    h2load "${H2LOAD_PROTO[@]}" -n "$1" -c "$CLIENTS" -t 1 "$URL" >"$2" 2>&1 || { cat "$2" >&2; return 1; }
    local ok
    ok=$(awk '/^requests:/ {print $8; exit}' "$2")
    [[ $ok == "$1" ]] || { cat "$2" >&2; log "only ${ok:-0} of $1 requests succeeded"; return 1; }
}

# ---------------------------------------------------------- callgrind ----
declare -A IR=()
declare -A IR_NOTE=()
# callgrind_run NAME N -> prints total Ir of a whole run with N requests; on failure prints
# nothing, returns 1 and leaves the reason (valgrind's own first error line) in $WORK/$p.vgfail.
callgrind_run() {
    local p=$1 n=$2 out=$WORK/callgrind-$1-$2.out pid vlog=$WORK/$1-vg-$2.log
    proxy_cmd "$p"
    spawn "$p-vg" "$vlog" env LD_PRELOAD="$SIGSUSPEND_SHIM" valgrind --tool=callgrind --callgrind-out-file="$out" \
        --dump-instr=no --collect-jumps=no "${CMD[@]}"
    pid=$SPAWNED_PID
    if ! ready "$URL" 120 "$pid"; then
        grep -m1 -E 'INTERNAL ERROR|impossible|error' "$vlog" >"$WORK/$p.vgfail" || echo "no 200 on $URL within 120 s" >"$WORK/$p.vgfail"
        stop_pid "$pid"
        return 1
    fi
    load "$n" "$WORK/h2load-vg-$p-$n.txt" || die "$p under valgrind: load of $n requests failed"
    stop_pid "$pid"
    if [[ -n $KEEP ]]; then
        mkdir -p "$KEEP"
        cp "$out" "$KEEP/callgrind-$PROTO-$p-$n.out"
    fi
    local ir
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out" 2>/dev/null)
    [[ -n $ir ]] || { tail -n 30 "$vlog" >&2; die "$p: no callgrind totals in $out"; }
    echo "$ir"
}
for p in "${PROXIES[@]}"; do
    log "$p under callgrind: $BASE_REQUESTS then $REQUESTS requests"
    if IR[$p.base]=$(callgrind_run "$p" "$BASE_REQUESTS") && IR[$p.full]=$(callgrind_run "$p" "$REQUESTS"); then
        log "$p: Ir ${IR[$p.base]} ($BASE_REQUESTS req) / ${IR[$p.full]} ($REQUESTS req)"
    else
        IR[$p.base]=NA IR[$p.full]=NA
        IR_NOTE[$p]="$p could not run under valgrind: $(sed -n 1p "$WORK/$p.vgfail")"
        log "WARNING: ${IR_NOTE[$p]}"
    fi
done

# --------------------------------------------------------- allocations ----
declare -A AL=()
# alloc_run NAME N -> heap allocations of a whole native run with N requests
alloc_run() {
    local p=$1 n=$2 out=$WORK/allocs-$1-$2.txt pid
    proxy_cmd "$p"
    spawn "$p-alloc" "$WORK/$p-alloc-$n.log" env LD_PRELOAD="$ALLOC_SHIM" ALLOC_COUNT_OUT="$out" "${CMD[@]}"
    pid=$SPAWNED_PID
    ready "$URL" 10 "$pid" || die "$p with the allocation counter: no 200 on $URL within 10 s"
    load "$n" "$WORK/h2load-alloc-$p-$n.txt" || die "$p with the allocation counter: load of $n requests failed"
    # HAProxy leaves by exit() (running the counter's destructor) on a soft stop, not on SIGTERM.
    if [[ $p == HAProxy ]]; then
        kill -USR1 "$pid" 2>/dev/null || true
        for _ in $(seq 250); do alive "$pid" || break; sleep 0.02; done
    fi
    stop_pid "$pid"
    [[ -s $out ]] || die "$p: the allocation counter wrote nothing to $out (did the process exit by signal?)"
    cat "$out"
}
for p in "${PROXIES[@]}"; do
    AL[$p.base]=$(alloc_run "$p" "$BASE_REQUESTS")
    AL[$p.full]=$(alloc_run "$p" "$REQUESTS")
    log "$p: ${AL[$p.base]} / ${AL[$p.full]} heap allocations ($BASE_REQUESTS / $REQUESTS requests)"
done

# -------------------------------------------------------------- strace ----
declare -A SYS=()
for p in "${PROXIES[@]}"; do
    proxy_cmd "$p"
    spawn "$p" "$WORK/$p.log" "${CMD[@]}"
    pid=$SPAWNED_PID
    ready "$URL" 10 "$pid" || die "$p: no 200 on $URL within 10 s"
    load "$BASE_REQUESTS" "$WORK/h2load-warm-$p.txt" || die "$p: warm-up load failed"
    spawn strace "$WORK/strace-$p.log" strace -c -f -p "$pid" -o "$WORK/strace-$p.txt"
    spid=$SPAWNED_PID
    sleep 1 # attach to every thread before the load starts
    load "$REQUESTS" "$WORK/h2load-strace-$p.txt" || die "$p under strace: load failed"
    kill -INT "$spid" 2>/dev/null || true
    reap "$spid" || true
    stop_pid "$pid"
    # strace -c table: "% time seconds usecs/call calls errors syscall"
    read -r rw all < <(awk '
        $NF ~ /^(read|readv|recvfrom|recvmsg|recvmmsg|write|writev|sendto|sendmsg|sendmmsg)$/ { rw += $4 }
        $NF == "total" { all = $4 }
        END { printf "%d %d\n", rw, all }' "$WORK/strace-$p.txt")
    SYS[$p.rw]=$rw SYS[$p.all]=$all
    log "$p: $rw reads+writes, $all syscalls for $REQUESTS requests"
done

# -------------------------------------------------------------- report ----
MACHINE=$(machine_line "$(tool_version haproxy -v)" "$(tool_version valgrind --version)" "$(tool_version h2load --version)")
mkdir -p "$BENCH_DIR/out"
REPORT=$BENCH_DIR/out/callgrind-$(date -u +%Y%m%dT%H%M%SZ).md
python3 - "$PROTO" "$UNIT" "$MACHINE" "$REQUESTS" "$BASE_REQUESTS" "$CLIENTS" "$BREAKWATER_BIN" \
    "${IR[HAProxy.base]}" "${IR[HAProxy.full]}" "${IR[Breakwater.base]}" "${IR[Breakwater.full]}" \
    "${SYS[HAProxy.rw]}" "${SYS[HAProxy.all]}" "${SYS[Breakwater.rw]}" "${SYS[Breakwater.all]}" "$NETNS_NOTE" \
    "$WORK/strace-HAProxy.txt" "$WORK/strace-Breakwater.txt" "${IR_NOTE[HAProxy]:-}" "${IR_NOTE[Breakwater]:-}" \
    "${AL[HAProxy.base]}" "${AL[HAProxy.full]}" "${AL[Breakwater.base]}" "${AL[Breakwater.full]}" "$BODY" "$STREAMS" >"$REPORT" <<'PY'
import sys
(proto, unit, machine, n, base, clients, bw_bin, hb, hf, bb, bf, hrw, hall, brw, ball, netns, sh, sb, note_h, note_b,
 ahb, ahf, abb, abf, body, streams) = sys.argv[1:]
n, base = int(n), int(base)
def per(full, b):
    return None if "NA" in (full, b) else (int(full) - int(b)) / (n - base)
ir_h, ir_b = per(hf, hb), per(bf, bb)
TITLES = {
    "h1": "# Cost per proxied keep-alive HTTP/1.1 request (64-byte body), Breakwater vs HAProxy",
    "h1tls": "# Cost per proxied keep-alive HTTP/1.1 request over TLS 1.3 (64-byte body), Breakwater vs HAProxy",
    "h2c": "# Cost per proxied HTTP/2 request, clear text with prior knowledge (64-byte body), Breakwater vs HAProxy",
    "h2": "# Cost per proxied HTTP/2 request over TLS 1.3 (64-byte body), Breakwater vs HAProxy",
    "churn": "# Cost per clear-text connection with 1 GET and `Connection: close` (64-byte body), Breakwater vs HAProxy",
    "handshake": "# Cost per TLS 1.3 connection with a full handshake and 1 GET (64-byte body), Breakwater vs HAProxy",
    "resumed": "# Cost per TLS 1.3 connection with a resumed handshake and 1 GET (64-byte body), Breakwater vs HAProxy",
}
LOADS = {
    "h1": f"h2load --h1 with {clients} keep-alive connections",
    "h1tls": f"h2load --h1 over TLS 1.3 (EC P-256 certificate, ALPN http/1.1) with {clients} keep-alive connections",
    "h2c": f"h2load -m{streams} (prior knowledge, `bind ... proto h2`) with {clients} connections",
    "h2": f"h2load -m{streams} over TLS 1.3 (EC P-256 certificate, ALPN h2) with {clients} connections",
    "churn": "bench/lib/churn_client.py: one connection after another, each accept, 1 GET with `Connection: close`, teardown",
    "handshake": "bench/lib/tls_conns.py: one connection after another, each a full TLS 1.3 handshake "
                 "(EC P-256, X25519), one GET, close",
    "resumed": "bench/lib/tls_conns.py: one connection after another, each resuming the previous one's "
               "session ticket (TLS 1.3 PSK + ECDHE), one GET, close",
}
al_h, al_b = per(ahf, ahb), per(abf, abb)
def fmt(v): return "n/a" if v is None else f"{v:,.0f}"
def raw(v): return v if v == "NA" else f"{int(v):,}"
o = [f"machine: {machine}", "",
     TITLES[proto].replace("64-byte body", "64-byte body, chunked") if body == "chunked" else TITLES[proto], "",
     f"Same config for both (`nbthread 1`, `http-reuse safe`, one nginx server), {LOADS[proto]}. Instructions = user-space Ir under callgrind, (Ir({n}) - Ir({base})) / {n - base}. "
     f"Syscalls = `strace -c -f` attached for a {n}-request run. {netns}.", "",
     "| figure | HAProxy | Breakwater | Breakwater/HAProxy |", "|---|---:|---:|---:|",
     f"| instructions per {unit} (callgrind) | {fmt(ir_h)} | {fmt(ir_b)} | "
     f"**{'n/a' if ir_h is None or ir_b is None else f'{ir_b / ir_h:.2f}x'}** |",
     f"| heap allocations per {unit} (LD_PRELOAD counter) | {al_h:.2f} | {al_b:.2f} | "
     f"{'n/a' if al_h < 0.01 else f'{al_b / al_h:.2f}x'} |",
     f"| reads + writes per {unit} (strace) | {int(hrw) / n:.2f} | {int(brw) / n:.2f} | {int(brw) / max(1, int(hrw)):.2f}x |",
     f"| syscalls per {unit} (strace) | {int(hall) / n:.2f} | {int(ball) / n:.2f} | {int(ball) / max(1, int(hall)):.2f}x |",
     "", f"Raw Ir: HAProxy {raw(hb)} / {raw(hf)}; Breakwater {raw(bb)} / {raw(bf)} ({base} / {n} {unit}s).",
     *[f"\n**{x}**" for x in (note_h, note_b) if x],
     "", f"Breakwater binary: `{bw_bin}`", "", "<details><summary>strace -c tables</summary>", ""]
for name, f in (("HAProxy", sh), ("Breakwater", sb)):
    o += [f"{name}:", "", "```"] + open(f).read().rstrip("\n").split("\n") + ["```", ""]
o.append("</details>")
print("\n".join(o))
PY
cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
