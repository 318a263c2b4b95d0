#!/usr/bin/env bash
# Job-runner benchmark (issue 13), in one run:
#  1. throughput of trivial jobs through a `jobs` section (POST → durable queue → attempt in its own memory
#     cgroup → status): fresh process per job (max-jobs-per-worker 1) vs reused workers (max-jobs-per-worker
#     50, the framed protocol of docs/jobs.md), against a baseline shell loop spawning the same script;
#  2. the leak drill's web-tier half: ONE breakwater process runs an edge-proxy frontend (to an nginx
#     backend) beside the jobs section; wrk measures web p99 through the edge while jobs are posted at a
#     steady rate, first with no leaking job, then with 1 in 10 leaking until OOM-killed (memory-max 64M);
#     every accepted job must reach a final state (0 lost).
# CPU figures are from /proc/PID/stat (utime+stime of breakwater; cutime+cstime of its reaped children).
#
# Env knobs:
#   JOBS            trivial jobs per throughput side            (default 300)
#   WORKERS         concurrent jobs                             (default 2)
#   REUSE           max-jobs-per-worker of the reused side      (default 50)
#   DRILL_SECONDS   length of each drill phase                  (default 20; the issue's drill is 300)
#   DRILL_RATE      jobs posted per second during the drill     (default 10)
#   WRK_CONNS       wrk connections through the edge            (default 16)
#   BREAKWATER_BIN  binary (default <repo>/.build/release/breakwater, else .build/debug/breakwater)
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
install_cleanup_traps

JOBS=${JOBS:-300}
WORKERS=${WORKERS:-2}
REUSE=${REUSE:-50}
DRILL_SECONDS=${DRILL_SECONDS:-20}
DRILL_RATE=${DRILL_RATE:-10}
WRK_CONNS=${WRK_CONNS:-16}
BIN=${BREAKWATER_BIN:-$REPO_ROOT/.build/release/breakwater}
[[ -x $BIN ]] || BIN=$REPO_ROOT/.build/debug/breakwater
[[ -x $BIN ]] || die "no breakwater binary; run swift build -c release --product breakwater"
for t in python3 nginx wrk curl; do command -v "$t" >/dev/null || die "$t is needed (scripts/install-test-deps.sh)"; done
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/bw-bench-jobs.XXXXXX)
chmod 755 "$WORK"

cpu_ticks() { awk '{print $14 + $15, $16 + $17}' "/proc/$1/stat"; }   # own, reaped children

# post_and_wait PORT N: posts N trivial jobs over one keep-alive connection, waits until all are final;
# prints "seconds done dead pending".
post_and_wait() {
    python3 - "$1" "$2" <<'PY'
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
t0 = time.monotonic(); ids = []
for i in range(n):
    c.request("POST", "/v1/jobs", body="job%d" % i); r = c.getresponse(); d = r.read()
    assert r.status == 202, (r.status, d)
    ids.append(json.loads(d)["id"])
pending = set(ids); done = dead = 0
while pending and time.monotonic() - t0 < 600:
    for i in list(pending):
        c.request("GET", "/v1/jobs/" + i); r = c.getresponse(); s = json.loads(r.read())
        if s["state"] in ("done", "dead"):
            pending.discard(i); done += s["state"] == "done"; dead += s["state"] == "dead"
    if pending: time.sleep(0.05)
print("%.3f %d %d %d" % (time.monotonic() - t0, done, dead, len(pending)))
PY
}

# post_steady PORT SECONDS RATE LEAK_EVERY: posts RATE jobs/s for SECONDS (every LEAK_EVERY-th leaks, 0 =
# none), then waits (≤ 180 s) for all to be final; prints "accepted refused done dead lost oom_dead".
post_steady() {
    python3 - "$@" <<'PY'
import http.client, json, sys, time
port, secs, rate, leak = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
ids, refused, i = [], 0, 0
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    body = "leak" if leak and i % leak == leak - 1 else "job%d" % i
    c.request("POST", "/v1/jobs", body=body); r = c.getresponse(); d = r.read()
    if r.status == 202: ids.append(json.loads(d)["id"])
    else: refused += 1
    i += 1
    time.sleep(max(0, t0 + i / rate - time.monotonic()))
pending = set(ids); done = dead = oom = 0
t1 = time.monotonic()
while pending and time.monotonic() - t1 < 180:
    for j in list(pending):
        c.request("GET", "/v1/jobs/" + j); r = c.getresponse(); s = json.loads(r.read())
        if s["state"] in ("done", "dead"):
            pending.discard(j); done += s["state"] == "done"; dead += s["state"] == "dead"
            oom += s["state"] == "dead" and s.get("reason") == "oom"
    if pending: time.sleep(0.1)
print(len(ids), refused, done, dead, len(pending), oom)
PY
}

cat >"$WORK/job.sh" <<'SH'
#!/bin/sh
payload=$(cat)
case "$payload" in
leak) exec python3 -c 'a = []
while True: a.append(bytearray(1 << 20))' ;;
*) printf 'ok' ;;
esac
SH
# The same trivial job as a reused worker (docs/jobs.md framing).
cat >"$WORK/worker.sh" <<'SH'
#!/bin/sh
while read -r tag id attempt len; do
    payload=$(head -c "$len")
    printf 'BREAKWATER-RESULT 0 2\nok'
done
SH

start_breakwater() {   # NAME CONFIG_FILE PORT -> SPAWNED_PID
    spawn "breakwater-$1" "$WORK/$1.log" "$BIN" proxy -f "$2"
    wait_http "http://127.0.0.1:$3/metrics" 30 "$SPAWNED_PID" || die "breakwater ($1) did not start: $(tail -5 "$WORK/$1.log")"
}

run_throughput() {   # NAME COMMAND MAX_JOBS_PER_WORKER -> "seconds done dead pending own_ticks kids_ticks peak_rss_kb"
    local name=$1 command=$2 reuse=$3 port cfg pid
    port=$(free_ports 1)
    cfg=$WORK/$name.cfg
    cat >"$cfg" <<CFG
jobs $name
    bind 127.0.0.1:$port
    queue dir $WORK/$name-queue
    command $command
    workers $WORKERS
    memory-max 64M
    max-jobs-per-worker $reuse
CFG
    start_breakwater "$name" "$cfg" "$port"
    pid=$SPAWNED_PID
    read -r own0 kids0 < <(cpu_ticks "$pid")
    read -r secs done dead pending < <(post_and_wait "$port" "$JOBS")
    read -r own1 kids1 < <(cpu_ticks "$pid")
    local rss; rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    stop_pid "$pid"
    echo "$secs $done $dead $pending $(( own1 - own0 )) $(( kids1 - kids0 )) $rss"
}

MACHINE="$(uname -srm) | nproc $(nproc) | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') | $(date -u '+%Y-%m-%d %H:%M UTC') | $(nginx -v 2>&1) | load $(cut -d' ' -f1-3 /proc/loadavg)"
log "machine: $MACHINE; binary $BIN"

# ------------------------------------------------------------ 1. throughput ----
log "throughput: $JOBS trivial jobs, $WORKERS workers, fresh process per job"
read -r fsecs fdone fdead fpend fown fkids frss < <(run_throughput fresh "/bin/sh $WORK/job.sh" 1)
[[ $fdone == "$JOBS" && $fpend == 0 ]] || die "fresh: done=$fdone dead=$fdead pending=$fpend"
log "throughput: $JOBS trivial jobs, $WORKERS workers, reused workers (max-jobs-per-worker $REUSE)"
read -r rsecs rdone rdead rpend rown rkids rrss < <(run_throughput reused "/bin/sh $WORK/worker.sh" "$REUSE")
[[ $rdone == "$JOBS" && $rpend == 0 ]] || die "reused: done=$rdone dead=$rdead pending=$rpend"

log "baseline: the same script spawned $JOBS times by a shell loop, $WORKERS at a time (xargs -P)"
read -r _ kb0 < <(cpu_ticks $$)
t0=$(now_us)
seq "$JOBS" | xargs -P "$WORKERS" -I{} sh -c "echo job{} | /bin/sh $WORK/job.sh >/dev/null"
t1=$(now_us)
read -r _ kb1 < <(cpu_ticks $$)
base_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e6}')

awk -v n="$JOBS" -v k="$TICKS" -v fs="$fsecs" -v fo="$fown" -v fk="$fkids" -v rs="$rsecs" -v ro="$rown" -v rk="$rkids" \
    -v bs="$base_secs" -v bc="$(( kb1 - kb0 ))" -v frss="$frss" -v rrss="$rrss" 'BEGIN{
    f = n/fs; r = n/rs; b = n/bs
    printf "fresh:    %7.1f jobs/s, CPU per 1,000 jobs: %.2f s in breakwater + %.2f s in job processes, peak RSS %d MiB\n", f, fo/k/n*1000, fk/k/n*1000, frss/1024
    printf "reused:   %7.1f jobs/s, CPU per 1,000 jobs: %.2f s in breakwater + %.2f s in job processes, peak RSS %d MiB\n", r, ro/k/n*1000, rk/k/n*1000, rrss/1024
    printf "baseline: %7.1f jobs/s, CPU per 1,000 jobs: %.2f s (shell loop and job processes)\n", b, bc/k/n*1000
    printf "ratio reused / fresh jobs/s: %.2f; fresh / baseline: %.2f; reused / baseline: %.2f\n", r/f, f/b, r/b
    printf "(reused-worker job CPU counts only retired workers: live ones are not yet reaped)\n" }'

# ------------------------------------------------------------ 2. leak drill, web tier ----
{ read -r NGX_PORT; read -r EDGE_PORT; } < <(free_ports 2)
mkdir -p "$WORK/www" "$WORK/nginx/tmp"
head -c 64 /dev/zero | tr '\0' 'a' >"$WORK/www/64"
chmod 755 "$WORK/www"; chmod 644 "$WORK/www/64"
cat >"$WORK/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    server { listen 127.0.0.1:$NGX_PORT; root $WORK/www; location = /64 { } }
}
NGX
spawn nginx "$WORK/nginx/stdout.log" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
NGX_PID=$SPAWNED_PID
wait_http "http://127.0.0.1:$NGX_PORT/64" 10 "$NGX_PID" || die "nginx did not start: $(cat "$WORK/nginx/error.log")"

drill_phase() {   # NAME LEAK_EVERY -> "rps p50 p99 errors accepted refused done dead lost oom peak_rss_kb"
    local name=$1 leak=$2 jobs_port cfg pid
    jobs_port=$(free_ports 1)
    cfg=$WORK/$name.cfg
    cat >"$cfg" <<CFG
defaults
    mode http
    timeout connect 4s
    timeout client 30s
    timeout server 30s

frontend edge
    bind 127.0.0.1:$EDGE_PORT
    default_backend web

backend web
    server nginx 127.0.0.1:$NGX_PORT

jobs $name
    bind 127.0.0.1:$jobs_port
    queue dir $WORK/$name-queue
    command /bin/sh $WORK/job.sh
    workers $WORKERS
    memory-max 64M
    retries 1
    retry-backoff 200ms
CFG
    start_breakwater "$name" "$cfg" "$jobs_port"
    pid=$SPAWNED_PID
    wait_http "http://127.0.0.1:$EDGE_PORT/64" 10 "$pid" || die "edge frontend did not answer"
    post_steady "$jobs_port" "$DRILL_SECONDS" "$DRILL_RATE" "$leak" >"$WORK/$name.jobs" &
    local poster=$!
    wrk -t1 -c"$WRK_CONNS" -d"${DRILL_SECONDS}s" --latency "http://127.0.0.1:$EDGE_PORT/64" >"$WORK/$name.wrk"
    wait "$poster"
    local rss; rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    stop_pid "$pid"
    echo "$(parse_wrk "$WORK/$name.wrk") $(cat "$WORK/$name.jobs") $rss"
}

log "leak drill: edge frontend → nginx beside a jobs section in one breakwater, ${DRILL_SECONDS}s per phase, $DRILL_RATE jobs/s, wrk -c$WRK_CONNS"
read -r arps ap50 ap99 aerr aacc aref adone adead alost aoom arss < <(drill_phase calm 0)
read -r lrps lp50 lp99 lerr lacc lref ldone ldead llost loom lrss < <(drill_phase leak 10)
printf 'drill without leak: web %s req/s, p50 %s ms, p99 %s ms, %s errors; jobs accepted %s refused %s done %s dead %s lost %s; breakwater peak RSS %d MiB\n' \
    "$arps" "$ap50" "$ap99" "$aerr" "$aacc" "$aref" "$adone" "$adead" "$alost" $(( arss / 1024 ))
printf 'drill with 1 in 10 leaking: web %s req/s, p50 %s ms, p99 %s ms, %s errors; jobs accepted %s refused %s done %s dead %s (oom %s) lost %s; breakwater peak RSS %d MiB\n' \
    "$lrps" "$lp50" "$lp99" "$lerr" "$lacc" "$lref" "$ldone" "$ldead" "$loom" "$llost" $(( lrss / 1024 ))
awk -v a="$ap99" -v l="$lp99" 'BEGIN{ if (a > 0) printf "web p99 ratio leak / calm: %.2f\n", l/a }'
[[ $alost == 0 && $llost == 0 ]] || die "jobs lost: calm $alost, leak $llost"
