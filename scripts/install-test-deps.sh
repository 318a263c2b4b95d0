#!/usr/bin/env bash
# Installs the Debian packages the tests talk to (real peers: curl, h2load, openssl, haproxy,
# nginx, php-fpm, socat; iproute2 for `ss`) and the OpenSSL headers the TLS target builds against.
set -euo pipefail
"$(dirname "$0")/install-build-deps.sh"
need=()
for pkg in curl haproxy nginx socat procps iproute2 nghttp2-client openssl libssl-dev php-fpm php-cli \
    chromium python3-websocket `# live dashboard browser test (Tests/BreakwaterDashboardTests)` \
    mariadb-server mariadb-client libsqlite3-dev `# mysql-mux: real MariaDB peer, admin tables in SQLite` \
    ; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# telemetry: GRDB links the system SQLite; sqlite3 is the bench peer; Redis 7 for state redis tests
for pkg in libsqlite3-dev sqlite3 redis-server redis-tools; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
# telemetry log kafka: librdkafka headers and library (the build links it; its mock cluster serves the tests)
for pkg in librdkafka-dev pkg-config; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
# drills: heartbeat-storm's 3-node Galera cluster (galera-4; rsync carries the joiners' IST announcement)
for pkg in galera-4 rsync; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
# jobs section: the leaking job of BreakwaterJobsTests allocates with python3 until OOM-killed
dpkg -s python3 >/dev/null 2>&1 || need+=(python3)
# jobs `queue amqp`: librabbitmq (the C client the BreakwaterAMQP target links) and a real RabbitMQ for AMQPJobsTests
for pkg in librabbitmq-dev rabbitmq-server; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# nginx and haproxy may be started by their packages; tests start their own copies.
systemctl stop nginx haproxy php8.2-fpm >/dev/null 2>&1 || true
systemctl stop mariadb >/dev/null 2>&1 || true  # mysql-mux tests start their own mariadbd
systemctl stop rabbitmq-server >/dev/null 2>&1 || true  # jobs tests start their own broker and epmd
command -v haproxy >/dev/null || { echo "haproxy missing after install" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl missing after install" >&2; exit 1; }
command -v chromium >/dev/null || { echo "chromium missing after install" >&2; exit 1; }
