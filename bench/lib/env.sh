# shellcheck shell=bash disable=SC2034
# Set-up helpers shared by the bench scripts, on top of
# common.sh (source that first): Debian packages, the Breakwater binary, a
# private network namespace, the RLIMIT_NOFILE clamp and the machine line.

# ensure_pkgs CMD:PKG ... : apt-get install the packages whose command is missing.
ensure_pkgs() {
    local need=() spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null || need+=("${spec#*:}")
    done
    ((${#need[@]})) || return 0
    [[ $(id -u) == 0 ]] || die "missing ${need[*]}; run as root or install them: apt-get install -y ${need[*]}"
    log "installing ${need[*]} from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
    for spec in "$@"; do command -v "${spec%%:*}" >/dev/null || die "${spec%%:*} still not found after installing ${spec#*:}"; done
}

# resolve_breakwater REPO_ROOT: sets BREAKWATER_BIN (default .build/release/breakwater)
# and BREAKWATER_REAL=1 unless it is the HAProxy stand-in. Never builds.
resolve_breakwater() {
    BREAKWATER_BIN=${BREAKWATER_BIN:-$1/.build/release/breakwater}
    [[ -x $BREAKWATER_BIN ]] || die "BREAKWATER_BIN=$BREAKWATER_BIN is not an executable file; build it with \`swift build -c release --product breakwater\` (in $1) or point BREAKWATER_BIN at a binary (bench/lib/standin-breakwater.sh runs HAProxy in its place)"
    BREAKWATER_BIN=$(cd "$(dirname "$BREAKWATER_BIN")" && pwd)/$(basename "$BREAKWATER_BIN")
    BREAKWATER_REAL=1
    if [[ $(basename "$BREAKWATER_BIN") == standin-breakwater.sh ]]; then BREAKWATER_REAL=0; fi
    export BREAKWATER_BIN
}

# enter_netns SCRIPT ARGS... : re-exec SCRIPT in a private network namespace
# (own loopback: no port clashes with other proxies on this machine, no foreign
# traffic) unless NETNS=0 or it is not possible; sets NETNS_NOTE. unshare
# without --fork keeps our PID, so Ctrl-C and signals still reach the script.
enter_netns() {
    local script=$1; shift
    NETNS=${NETNS:-1}
    if [[ -n ${BENCH_IN_NETNS:-} ]]; then
        NETNS_NOTE="private network namespace (own loopback)"
        return 0
    fi
    if [[ $NETNS == 1 ]] && command -v unshare >/dev/null && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
        log "re-running in a private network namespace (NETNS=0 to disable)"
        export BENCH_IN_NETNS=1
        exec unshare -n -- bash -c 'ip link set lo up && exec "$@"' bench-netns "$script" "$@"
    fi
    if [[ $NETNS == 1 ]]; then log "WARNING: cannot create a network namespace (needs root); using the host's loopback"; fi
    NETNS_NOTE="host network namespace"
}

# clamp_maxconn WANT RESERVE: sets MAXCONN and MAXCONN_NOTE. HAProxy needs
# ~2 fds per maxconn (+RESERVE) and refuses to start if it cannot raise
# RLIMIT_NOFILE that far; both peers get the same clamped value.
clamp_maxconn() {
    local want=$1 reserve=$2 hard
    MAXCONN=$want
    MAXCONN_NOTE=
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    hard=$(ulimit -Hn)
    if [[ $hard != unlimited ]] && ((hard < 2 * want + reserve)); then
        MAXCONN=$(((hard - reserve) / 2))
        MAXCONN_NOTE="maxconn clamped from $want to $MAXCONN in every config: RLIMIT_NOFILE hard limit is $hard and HAProxy refuses to start if it cannot get 2 fds per maxconn."
        log "$MAXCONN_NOTE"
    fi
}

# machine_line EXTRA... : one line describing the box and tool versions.
machine_line() {
    local cpu
    cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    [[ -n $cpu ]] || cpu=$(awk -F': *' '/^(Hardware|cpu model|Processor)/ {print $2; exit}' /proc/cpuinfo)
    local IFS='|'
    printf '%s | nproc %s | %s | %s | load %s' "$(uname -srm)" "$(nproc)" "${cpu:-unknown CPU}" \
        "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
    local x
    for x in "$@"; do printf ' | %s' "$x"; done
    printf '\n'
}

# tool_version CMD ARGS... : first line of a tool's version output, trimmed.
tool_version() { ("$@" 2>&1 || true) | sed -n 1p | sed 's/ *Copyright.*//; s/ - https.*//'; }

# wait_port PORT TIMEOUT_S [PID]: poll until something listens on 127.0.0.1:PORT.
wait_port() {
    local port=$1 timeout_us=$(($2 * 1000000)) pid=${3:-} start
    start=$(now_us)
    while :; do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        [[ -n $pid ]] && ! alive "$pid" && return 1
        (($(now_us) - start > timeout_us)) && return 1
        sleep 0.02
    done
}

# start_nginx_64 WORK PORT WORKER_CONNECTIONS: one nginx worker on 127.0.0.1:PORT serving $WORK/www/64
# (64 bytes, keep-alive without limit) from $WORK/nginx; waits for its first 200; sets NGX_PID.
# /c64 is the same 64 bytes sent chunked (the SSI filter drops the length: one 0x40 chunk, then
# the last chunk), for the chunked-body cells.
start_nginx_64() {
    local work=$1 port=$2 conns=$3
    mkdir -p "$work/www" "$work/nginx/tmp"
    head -c 64 /dev/zero | tr '\0' 'a' >"$work/www/64"
    cp "$work/www/64" "$work/www/c64"
    chmod 644 "$work/www/64" "$work/www/c64"
    chmod 755 "$work/www"
    cat >"$work/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections $conns; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $work/www;
        location = /64 { }
        location = /c64 { ssi on; ssi_types *; }
        location / { return 404; }
    }
}
NGX
    spawn nginx "$work/nginx/stdout.log" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
    NGX_PID=$SPAWNED_PID
    wait_http "http://127.0.0.1:$port/64" 10 "$NGX_PID" || die "nginx did not come up ($(tail -3 "$work/nginx/error.log" 2>/dev/null))"
}

# make_tls_site DIR: a self-signed EC P-256 certificate for localhost/127.0.0.1 with its key in
# DIR/site.pem (also DIR/cert.pem, DIR/key.pem) and three ticket keys in DIR/tickets.key.
make_tls_site() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log" ||
        { cat "$dir/openssl.log" >&2; die "openssl could not make the certificate"; }
    cat "$dir/cert.pem" "$dir/key.pem" >"$dir/site.pem"
    for _ in 1 2 3; do openssl rand -base64 48; done >"$dir/tickets.key"
    chmod 600 "$dir/site.pem" "$dir/tickets.key" "$dir/key.pem"
}
