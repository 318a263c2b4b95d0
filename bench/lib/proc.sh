# shellcheck shell=bash
# Per-process cost sampling shared by the bench scripts (source common.sh first):
# CPU from /proc/PID/stat (utime+stime, all threads including exited ones),
# peak and current RSS from /proc/PID/status, and the CPU-per-operation figure
# every table prints beside the wall-clock ones.

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID: prints "utime stime" in clock ticks.
cpu_ticks() {
    local s f
    s=$(<"/proc/$1/stat") || return 1
    read -ra f <<<"${s##*) }" # fields from 3 (state) on; comm may hold spaces
    echo "${f[11]} ${f[12]}"
}

# cpu_total_ticks PID: utime+stime in one number (0 if the process is gone).
cpu_total_ticks() {
    local u k
    read -r u k < <(cpu_ticks "$1" 2>/dev/null || echo "0 0")
    echo $((u + k))
}

# hwm_kb PID / rss_kb PID: VmHWM / VmRSS in kB ("NA" if the process is gone).
hwm_kb() { awk '/^VmHWM:/ {print $2; f=1} END {if (!f) print "NA"}' "/proc/$1/status" 2>/dev/null || echo NA; }
rss_kb() { awk '/^VmRSS:/ {print $2; f=1} END {if (!f) print "NA"}' "/proc/$1/status" 2>/dev/null || echo NA; }

# cpu_per_k TICKS OPS: CPU seconds per 1,000 operations ("NA" without operations).
cpu_per_k() {
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.4f\n", t / hz / n * 1000; else print "NA" }'
}

# wrk_requests FILE: the "N requests in Xs" count of a wrk report (0 if absent).
wrk_requests() { awk '/ requests in / {print $1; f=1} END {if (!f) print 0}' "$1"; }

# idle_conn_rss PID HOST PORT PATH N OUT: opens N keep-alive connections, sends one
# request on each and reads its answer, then holds them idle; prints
# "rss_before_kb rss_after_kb opened" and leaves the holder's log in OUT.
idle_conn_rss() {
    local pid=$1 host=$2 port=$3 path=$4 n=$5 out=$6 before after fifo holder opened
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/bw-idle.XXXXXX")
    mkfifo "$fifo"
    before=$(rss_kb "$pid")
    spawn idle-holder "$out" python3 "$BENCH_DIR/lib/idle_conns.py" "$host" "$port" "$path" "$n" "$fifo"
    holder=$SPAWNED_PID
    opened=$(timeout 60 head -n 1 "$fifo" || echo 0)
    sleep 1 # let both proxies settle their per-connection state
    after=$(rss_kb "$pid")
    stop_pid "$holder"
    rm -f "$fifo"
    echo "$before $after ${opened:-0}"
}
