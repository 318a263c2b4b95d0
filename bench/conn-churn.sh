#!/usr/bin/env bash
# CPU per client connection: every request on a new connection (wrk -H 'Connection: close', so each
# request costs an accept, a client channel and pipeline, under `http-reuse safe` a server connection
# of its own or one from the pool, and the teardown). Breakwater and HAProxy (nbthread 2) in one run,
# each binary in turn ROUNDS times (the machine's load drifts; compare the rounds side by side).
#
# Env knobs: DURATION (default 8), CONNS (default 50), ROUNDS (default 3),
#            BREAKWATER_BINS (space-separated, default <repo>/.build/release/breakwater)
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
DURATION=${DURATION:-8} CONNS=${CONNS:-50} ROUNDS=${ROUNDS:-3}
BREAKWATER_BINS=${BREAKWATER_BINS:-$REPO_ROOT/.build/release/breakwater}
ensure_pkgs haproxy:haproxy nginx:nginx wrk:wrk curl:curl
clamp_maxconn 20000 100
WORK=$(mktemp -d /tmp/bw-bench-churn.XXXXXX)
chmod 755 "$WORK"
install_cleanup_traps
mapfile -t PORTS < <(free_ports 2)
NGX_PORT=${PORTS[0]} PORT=${PORTS[1]}
start_nginx_64 "$WORK" "$NGX_PORT" 30000
cat >"$WORK/proxy.cfg" <<CFG
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
    bind 127.0.0.1:$PORT
    default_backend be

backend be
    server ngx 127.0.0.1:$NGX_PORT
CFG
cell() { # cell LABEL CMD... : prints "LABEL req/s CPU-s/1k-connections"
    local label=$1 pid ticks0 ticks n rps; shift
    spawn "$label" "$WORK/$label.log" "$@"
    pid=$SPAWNED_PID
    wait_http "http://127.0.0.1:$PORT/64" 10 "$pid" || { tail -5 "$WORK/$label.log" >&2; die "$label did not serve a proxied 200"; }
    ticks0=$(cpu_total_ticks "$pid")
    spawn wrk "$WORK/wrk.txt" wrk -t2 -c"$CONNS" -d"$DURATION"s -H 'Connection: close' "http://127.0.0.1:$PORT/64"
    reap "$SPAWNED_PID" || true
    ticks=$(($(cpu_total_ticks "$pid") - ticks0))
    n=$(wrk_requests "$WORK/wrk.txt")
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk.txt")
    stop_pid "$pid"
    printf '| %s | %s | %s |\n' "$label" "$rps" "$(cpu_per_k "$ticks" "$n")"
    sleep 1
}
echo "wrk -t2 -c$CONNS -d${DURATION}s, one request per connection; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| proxy | connections/s | CPU s / 1k connections |"
echo "|---|---:|---:|"
for ((r = 1; r <= ROUNDS; r++)); do
    cell "HAProxy-r$r" haproxy -f "$WORK/proxy.cfg" -db
    for b in $BREAKWATER_BINS; do cell "$(basename "$b")-r$r" "$b" proxy -f "$WORK/proxy.cfg"; done
done
