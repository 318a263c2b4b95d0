# shellcheck shell=bash
# Helpers for bench/*.sh: logging, process tracking (stop by PID only),
# free-port allocation, HTTP readiness polling, wrk output parsing.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Every background process we start is tracked here (pid -> name) and
# stopped by PID in cleanup. Processes are untracked once reaped, so a
# recycled PID is never signalled.
declare -A BENCH_PIDS=()

# spawn NAME LOGFILE CMD... ; sets SPAWNED_PID
spawn() {
    local name=$1 logf=$2; shift 2
    "$@" >"$logf" 2>&1 </dev/null &
    SPAWNED_PID=$!
    BENCH_PIDS[$SPAWNED_PID]=$name
}

# reap PID: wait for a tracked child that is expected to exit by itself.
reap() {
    local pid=$1 rc=0
    wait "$pid" 2>/dev/null || rc=$?
    unset 'BENCH_PIDS[$pid]'
    return "$rc"
}

# stop_pid PID: TERM, wait up to ~5 s, then KILL; then reap.
stop_pid() {
    local pid=$1 i
    [[ -n ${BENCH_PIDS[$pid]:-} ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 250; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.02
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid (${BENCH_PIDS[$pid]}) ignored SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    unset 'BENCH_PIDS[$pid]'
}

stop_all() {
    local pid
    for pid in "${!BENCH_PIDS[@]}"; do stop_pid "$pid"; done
}

alive() { kill -0 "$1" 2>/dev/null; }

# free_ports N: prints N distinct free loopback TCP ports, one per line.
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
PY
}

# now_us: wall clock in microseconds (no fork).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# http_code URL: prints the status code ("000" if no response).
http_code() { curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null || true; }

# wait_http URL TIMEOUT_S [PID]: poll until 200; fails on timeout or if PID dies.
wait_http() {
    local url=$1 timeout_us=$(($2 * 1000000)) pid=${3:-} start
    start=$(now_us)
    while :; do
        [[ $(http_code "$url") == 200 ]] && return 0
        [[ -n $pid ]] && ! alive "$pid" && return 1
        (($(now_us) - start > timeout_us)) && return 1
        sleep 0.01
    done
}

# parse_wrk FILE: prints "rps p50_ms p99_ms errors" (NA for missing fields).
# errors = socket errors (connect+read+write+timeout) + non-2xx/3xx responses.
parse_wrk() {
    awk '
    function ms(v,   n) {
        n = v + 0
        if (v ~ /us$/) return n / 1000
        if (v ~ /ms$/) return n
        if (v ~ /s$/)  return n * 1000
        if (v ~ /m$/)  return n * 60000
        if (v ~ /h$/)  return n * 3600000
        return "NA"
    }
    BEGIN { rps = "NA"; p50 = "NA"; p99 = "NA"; err = 0 }
    /Latency Distribution/ { ld = 1; next }
    ld && $1 == "50%" { p50 = ms($2) }
    ld && $1 == "99%" { p99 = ms($2); ld = 0 }
    /^Requests\/sec:/ { rps = $2 }
    /Socket errors:/ {
        line = $0; gsub(/,/, "", line); split(line, f, " ")
        # Socket errors: connect A read B write C timeout D
        for (i = 1; i <= length(f); i++) if (f[i] ~ /^(connect|read|write|timeout)$/) err += f[i+1]
    }
    /Non-2xx or 3xx responses:/ { err += $NF }
    END { printf "%s %s %s %d\n", rps, p50, p99, err }
    ' "$1"
}

# Every bench script's exit path: stop everything it started (by PID), remove $WORK, and say why
# it ended (failure line, Ctrl-C, SIGTERM).
_bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_all
    rm -rf "$WORK"
    exit "$rc"
}

install_cleanup_traps() {
    trap _bench_cleanup EXIT
    trap 'log "failed (rc $?) at line $LINENO: $BASH_COMMAND"' ERR
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated"; exit 143' TERM
}
