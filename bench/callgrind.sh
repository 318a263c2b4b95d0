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
# Env knobs:
#   REQUESTS        requests of the measured run           (default 10000)
#   BASE_REQUESTS   requests of the baseline run           (default 1000)
#   CLIENTS         keep-alive client connections          (default 8)
#   CHURN           1: one request per connection instead (bench/lib/churn_client.py, connections one
#                   after another, `Connection: close`): every figure is then per connection
#                   (accept, set-up, request, teardown); REQUESTS/BASE_REQUESTS count connections
#                   (defaults 2000 / 200)
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater)
#   OUT             a directory to keep the callgrind profiles in (for callgrind_annotate)
#   NETNS           1 (default): run in a private network namespace; 0: don't
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

CHURN=${CHURN:-0}
if [[ $CHURN == 1 ]]; then
    REQUESTS=${REQUESTS:-2000} BASE_REQUESTS=${BASE_REQUESTS:-200}
else
    REQUESTS=${REQUESTS:-10000} BASE_REQUESTS=${BASE_REQUESTS:-1000}
fi
CLIENTS=${CLIENTS:-8}
for v in REQUESTS BASE_REQUESTS CLIENTS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v must be a positive integer"
done
((REQUESTS > BASE_REQUESTS)) || die "REQUESTS must be larger than BASE_REQUESTS"

ensure_pkgs haproxy:haproxy nginx:nginx h2load:nghttp2-client valgrind:valgrind strace:strace strip:binutils curl:curl python3:python3 gcc:gcc
resolve_breakwater "$REPO_ROOT"
enter_netns "${BASH_SOURCE[0]}" "$@"

WORK=$(mktemp -d /tmp/bw-bench-callgrind.XXXXXX)
chmod 755 "$WORK"
install_cleanup_traps
clamp_maxconn 10000 100

mapfile -t PORTS < <(free_ports 2)
NGX_PORT=${PORTS[0]} FE_PORT=${PORTS[1]}
URL=http://127.0.0.1:$FE_PORT/64
PROXIES=(HAProxy Breakwater)

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
    bind 127.0.0.1:$FE_PORT
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

load() { # load N OUT: N keep-alive requests over CLIENTS connections; fails unless all succeed
    if [[ $CHURN == 1 ]]; then
        python3 "$BENCH_DIR/lib/churn_client.py" 127.0.0.1 "$FE_PORT" /64 "$1" >"$2" 2>&1 || { cat "$2" >&2; return 1; }
        return 0
    fi
    h2load --h1 -n "$1" -c "$CLIENTS" -t 1 "$URL" >"$2" 2>&1 || { cat "$2" >&2; return 1; }
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
    if ! wait_http "$URL" 120 "$pid"; then
        grep -m1 -E 'INTERNAL ERROR|impossible|error' "$vlog" >"$WORK/$p.vgfail" || echo "no 200 on $URL within 120 s" >"$WORK/$p.vgfail"
        stop_pid "$pid"
        return 1
    fi
    load "$n" "$WORK/h2load-vg-$p-$n.txt" || die "$p under valgrind: load of $n requests failed"
    stop_pid "$pid"
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
    wait_http "$URL" 10 "$pid" || die "$p with the allocation counter: no 200 on $URL within 10 s"
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
    wait_http "$URL" 10 "$pid" || die "$p: no 200 on $URL within 10 s"
    load 1000 "$WORK/h2load-warm-$p.txt" || die "$p: warm-up load failed"
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
python3 - "$MACHINE" "$REQUESTS" "$BASE_REQUESTS" "$CLIENTS" "$BREAKWATER_BIN" \
    "${IR[HAProxy.base]}" "${IR[HAProxy.full]}" "${IR[Breakwater.base]}" "${IR[Breakwater.full]}" \
    "${SYS[HAProxy.rw]}" "${SYS[HAProxy.all]}" "${SYS[Breakwater.rw]}" "${SYS[Breakwater.all]}" "$NETNS_NOTE" \
    "$WORK/strace-HAProxy.txt" "$WORK/strace-Breakwater.txt" "${IR_NOTE[HAProxy]:-}" "${IR_NOTE[Breakwater]:-}" \
    "${AL[HAProxy.base]}" "${AL[HAProxy.full]}" "${AL[Breakwater.base]}" "${AL[Breakwater.full]}" >"$REPORT" <<'PY'
import sys
(machine, n, base, clients, bw_bin, hb, hf, bb, bf, hrw, hall, brw, ball, netns, sh, sb, note_h, note_b,
 ahb, ahf, abb, abf) = sys.argv[1:]
n, base = int(n), int(base)
def per(full, b):
    return None if "NA" in (full, b) else (int(full) - int(b)) / (n - base)
ir_h, ir_b = per(hf, hb), per(bf, bb)
al_h, al_b = per(ahf, ahb), per(abf, abb)
def fmt(v): return "n/a" if v is None else f"{v:,.0f}"
def raw(v): return v if v == "NA" else f"{int(v):,}"
o = [f"machine: {machine}", "",
     "# Cost per proxied keep-alive HTTP/1.1 request (64-byte body), Breakwater vs HAProxy", "",
     f"Same config for both (`nbthread 1`, `http-reuse safe`, one nginx server), h2load --h1 with {clients} "
     f"keep-alive connections. Instructions = user-space Ir under callgrind, (Ir({n}) - Ir({base})) / {n - base}. "
     f"Syscalls = `strace -c -f` attached for a {n}-request run. {netns}.", "",
     "| figure | HAProxy | Breakwater | Breakwater/HAProxy |", "|---|---:|---:|---:|",
     f"| instructions per request (callgrind) | {fmt(ir_h)} | {fmt(ir_b)} | "
     f"**{'n/a' if ir_h is None or ir_b is None else f'{ir_b / ir_h:.2f}x'}** |",
     f"| heap allocations per request (LD_PRELOAD counter) | {al_h:.2f} | {al_b:.2f} | "
     f"{'n/a' if al_h < 0.01 else f'{al_b / al_h:.2f}x'} |",
     f"| reads + writes per request (strace) | {int(hrw) / n:.2f} | {int(brw) / n:.2f} | {int(brw) / max(1, int(hrw)):.2f}x |",
     f"| syscalls per request (strace) | {int(hall) / n:.2f} | {int(ball) / n:.2f} | {int(ball) / max(1, int(hall)):.2f}x |",
     "", f"Raw Ir: HAProxy {raw(hb)} / {raw(hf)}; Breakwater {raw(bb)} / {raw(bf)} ({base} / {n} requests).",
     *[f"\n**{x}**" for x in (note_h, note_b) if x],
     "", f"Breakwater binary: `{bw_bin}`", "", "<details><summary>strace -c tables</summary>", ""]
for name, f in (("HAProxy", sh), ("Breakwater", sb)):
    o += [f"{name}:", "", "```"] + open(f).read().rstrip("\n").split("\n") + ["```", ""]
o.append("</details>")
print("\n".join(o))
PY
if [[ $CHURN == 1 ]]; then
    sed -i '3i **CHURN=1: one request per connection (`bench/lib/churn_client.py`, `Connection: close`, connections one after another): read every "per request" below as per connection.**\n' "$REPORT"
fi
if [[ -n ${OUT:-} ]]; then mkdir -p "$OUT" && cp "$WORK"/callgrind-*.out "$OUT"/ && log "callgrind profiles kept in $OUT"; fi
cat "$REPORT"
log "report saved to ${REPORT#"$REPO_ROOT"/}"
