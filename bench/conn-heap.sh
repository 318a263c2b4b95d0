#!/usr/bin/env bash
# Where the heap bytes of an idle keep-alive client connection go (issue 10 item 5).
#
# Runs Breakwater (nbthread 2, one nginx behind it, the config of bench/connections.sh) under heaptrack,
# opens IDLE_CONNS keep-alive clients that each finish one request (bench/lib/idle_conns.py), holds them
# 2 s, then kills the proxy with SIGKILL so nothing is freed: heaptrack's "leaked" bytes are then what
# was live at that moment. The same run with 0 clients is the baseline; the difference, divided by the
# clients, is split by who allocated it (the innermost frame of a known layer, bench/lib/heap_split.py).
# Under `http-reuse safe` each client also leaves its own idle server connection in the pool; REUSE=never
# measures the client connection alone.
#
# Env knobs:
#   IDLE_CONNS  idle clients (default 1000)
#   REUSE       http-reuse mode (default safe)
#   OUT         a directory to keep the collapsed stacks in (leaked-0.txt, leaked-N.txt)
#   BREAKWATER_BIN  default <repo>/.build/release/breakwater
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

enter_netns "${BASH_SOURCE[0]}" "$@"

IDLE_CONNS=${IDLE_CONNS:-1000}
REUSE=${REUSE:-safe}
ensure_pkgs heaptrack:heaptrack nginx:nginx curl:curl python3:python3
resolve_breakwater "$REPO_ROOT"

WORK=$(mktemp -d /tmp/bw-bench-heap.XXXXXX)
chmod 755 "$WORK"
install_cleanup_traps
mapfile -t PORTS < <(free_ports 2)
NGX_PORT=${PORTS[0]}
PORT=${PORTS[1]}
start_nginx_64 "$WORK" "$NGX_PORT" 30000
cat >"$WORK/bw.cfg" <<CFG
global
    nbthread 2
    maxconn 20000

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse $REUSE

frontend fe
    bind 127.0.0.1:$PORT
    default_backend be

backend be
    server ngx 127.0.0.1:$NGX_PORT
CFG

# run N: one heaptrack run holding N idle clients; leaves $WORK/heap-N.zst
run() {
    local n=$1 tracker pid i
    spawn heaptrack "$WORK/heaptrack-$n.log" heaptrack -o "$WORK/heap-$n" "$BREAKWATER_BIN" proxy -f "$WORK/bw.cfg"
    tracker=$SPAWNED_PID
    wait_http "http://127.0.0.1:$PORT/64" 60 "$tracker" || { tail -20 "$WORK/heaptrack-$n.log" >&2; die "no proxied 200 under heaptrack"; }
    # heaptrack's script runs the proxy as a descendant: the process whose executable is ours.
    pid=""
    for ((i = 0; i < 50; i++)); do
        [[ -z $pid ]] || break
        for p in $(pgrep -f -- "-f $WORK/bw.cfg" || true); do
            [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$BREAKWATER_BIN" ]] && pid=$p
        done
        [[ -n $pid ]] || sleep 0.1
    done
    [[ -n $pid ]] || die "cannot find the proxy under heaptrack (pid $tracker)"
    if ((n > 0)); then
        fifo="$WORK/ready-$n"
        mkfifo "$fifo"
        spawn idle-holder "$WORK/idle-$n.log" python3 "$BENCH_DIR/lib/idle_conns.py" 127.0.0.1 "$PORT" /64 "$n" "$fifo"
        holder=$SPAWNED_PID
        opened=$(timeout 120 head -n 1 "$fifo" || echo 0)
        log "$opened idle clients held"
    fi
    sleep 2
    kill -KILL "$pid" # nothing freed: "leaked" = live now (a descendant of this script's own heaptrack)
    reap "$tracker" || true
    ((n > 0)) && stop_pid "$holder"
    ls "$WORK"/heap-"$n"*.zst >/dev/null
}

run 0
run "$IDLE_CONNS"
for n in 0 "$IDLE_CONNS"; do
    heaptrack_print -f "$(ls "$WORK"/heap-"$n"*.zst | head -1)" --flamegraph-cost-type leaked -F "$WORK/leaked-$n.txt" >/dev/null
done
stop_all
echo "Breakwater: $BREAKWATER_BIN, http-reuse $REUSE, $IDLE_CONNS idle clients"
python3 "$BENCH_DIR/lib/heap_split.py" "$WORK/leaked-0.txt" "$WORK/leaked-$IDLE_CONNS.txt" "$IDLE_CONNS"
if [[ -n ${OUT:-} ]]; then mkdir -p "$OUT" && cp "$WORK"/leaked-*.txt "$OUT"/ && log "stacks kept in $OUT"; fi
