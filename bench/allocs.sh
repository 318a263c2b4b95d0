#!/usr/bin/env bash
# Heap allocations per proxied request: Breakwater vs HAProxy (Debian's 2.6), the same set-up
# as bench/callgrind.sh (nbthread 1, one nginx serving 64 bytes, h2load --h1 keep-alive).
#
# Each proxy runs natively with an LD_PRELOAD allocation counter (bench/lib/malloc_count.c:
# malloc, calloc, realloc and the aligned variants, all threads) twice, for BASE_REQUESTS and for
# REQUESTS requests, and exits on SIGTERM (the counter writes its totals at exit); allocations per
# request = (count(REQUESTS) - count(BASE_REQUESTS)) / (REQUESTS - BASE_REQUESTS), so start-up,
# connection set-up and shutdown cancel out. Bytes requested per request likewise. (valgrind's
# dhat would do too, but valgrind 3.19 aborts in Breakwater's thread creation.)
#
# Env knobs:
#   REQUESTS        requests of the measured run           (default 10000)
#   BASE_REQUESTS   requests of the baseline run           (default 1000)
#   CLIENTS         keep-alive client connections          (default 8)
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

REQUESTS=${REQUESTS:-10000}
BASE_REQUESTS=${BASE_REQUESTS:-1000}
CLIENTS=${CLIENTS:-8}
for v in REQUESTS BASE_REQUESTS CLIENTS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v must be a positive integer"
done
((REQUESTS > BASE_REQUESTS)) || die "REQUESTS must be larger than BASE_REQUESTS"

ensure_pkgs haproxy:haproxy nginx:nginx h2load:nghttp2-client cc:gcc curl:curl
resolve_breakwater "$REPO_ROOT"
enter_netns "${BASH_SOURCE[0]}" "$@"

WORK=$(mktemp -d /tmp/bw-bench-allocs.XXXXXX)
chmod 755 "$WORK"
install_cleanup_traps
clamp_maxconn 10000 100

mapfile -t PORTS < <(free_ports 2)
NGX_PORT=${PORTS[0]} FE_PORT=${PORTS[1]}
URL=http://127.0.0.1:$FE_PORT/64
PROXIES=(HAProxy Breakwater)

start_nginx_64 "$WORK" "$NGX_PORT" 4096

CFG=$WORK/proxy.cfg
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

COUNTER=$WORK/malloc_count.so
cc -O2 -shared -fPIC -o "$COUNTER" "$BENCH_DIR/lib/malloc_count.c" || die "cannot build the allocation counter"

proxy_cmd() {
    case $1 in
    HAProxy) CMD=(haproxy -f "$CFG" -db) ;;
    Breakwater) CMD=("$BREAKWATER_BIN" proxy -f "$CFG") ;;
    esac
}

load() {
    h2load --h1 -n "$1" -c "$CLIENTS" -t 1 "$URL" >"$2" 2>&1 || { cat "$2" >&2; return 1; }
    local ok
    ok=$(awk '/^requests:/ {print $8; exit}' "$2")
    [[ $ok == "$1" ]] || { cat "$2" >&2; log "only ${ok:-0} of $1 requests succeeded"; return 1; }
}

# count_run NAME N -> prints "allocations bytes" over a whole run with N requests
count_run() {
    local p=$1 n=$2 vlog=$WORK/$1-count-$2.log out=$WORK/count-$1-$2.txt pid i
    proxy_cmd "$p"
    spawn "$p-count" "$vlog" env LD_PRELOAD="$COUNTER" MALLOC_COUNT_FILE="$out" "${CMD[@]}"
    pid=$SPAWNED_PID
    wait_http "$URL" 20 "$pid" || { stop_pid "$pid"; tail -n 20 "$vlog" >&2; die "$p: no 200 with the counter"; }
    load "$n" "$WORK/h2load-count-$p-$n.txt" || die "$p: load of $n requests failed"
    # HAProxy exits through exit() on a soft stop (SIGUSR1), not on SIGTERM.
    if [[ $p == HAProxy ]]; then
        kill -USR1 "$pid" 2>/dev/null || true
        i=0
        while [[ ! -s $out ]] && ((i++ < 250)); do sleep 0.02; done
    fi
    stop_pid "$pid"
    [[ -s $out ]] || die "$p: no allocation totals (did it exit through exit()?)"
    cat "$out"
}

declare -A R=()
for p in "${PROXIES[@]}"; do
    log "$p with the allocation counter: $BASE_REQUESTS then $REQUESTS requests"
    R[$p.base]=$(count_run "$p" "$BASE_REQUESTS")
    R[$p.full]=$(count_run "$p" "$REQUESTS")
    log "$p: allocations/bytes ${R[$p.base]} ($BASE_REQUESTS req) / ${R[$p.full]} ($REQUESTS req)"
done

MACHINE=$(machine_line "$(tool_version haproxy -v)" "$(tool_version h2load --version)")
python3 - "$MACHINE" "$REQUESTS" "$BASE_REQUESTS" "$CLIENTS" "$BREAKWATER_BIN" \
    "${R[HAProxy.base]}" "${R[HAProxy.full]}" "${R[Breakwater.base]}" "${R[Breakwater.full]}" <<'PY'
import sys
machine, n, base, clients, bw = sys.argv[1:6]
n, base = int(n), int(base)
hb, hf, bb, bf = (tuple(map(int, s.split())) for s in sys.argv[6:10])
def per(f, b, i): return (f[i] - b[i]) / (n - base)
print(f"machine: {machine}\n")
print(f"Heap allocations per keep-alive HTTP/1.1 request (64-byte body, h2load --h1, {clients} connections), "
      f"LD_PRELOAD counter, (total({n}) - total({base})) / {n - base}. Breakwater binary: `{bw}`\n")
print("| figure | HAProxy | Breakwater |\n|---|---:|---:|")
print(f"| allocations per request | {per(hf, hb, 0):.2f} | {per(bf, bb, 0):.2f} |")
print(f"| bytes requested per request | {per(hf, hb, 1):,.0f} | {per(bf, bb, 1):,.0f} |")
PY
