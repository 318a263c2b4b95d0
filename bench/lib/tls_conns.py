"""N TLS connections, one after another, each with one GET (bench/callgrind.sh PROTO=handshake|resumed).

Each connection completes a TLS 1.3 handshake (ALPN http/1.1, no certificate check), sends one GET,
reads the complete answer (Content-Length framed) and closes. MODE `new` makes every handshake a full
one; `resumed` offers the session ticket of the previous connection, so all but the first resume
(the ticket arrives after the handshake, hence the read before taking it). Prints
"<completed> <resumed>" and exits 1 unless all N completed and, for `resumed`, N - 1 resumed.
"""
import socket, ssl, sys

import bench_http

host, port, path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
req = bench_http.get_request(host, path)
ctx = bench_http.tls_client_context()


def one(session):
    with socket.create_connection((host, port), timeout=30) as raw:
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        s.sendall(req)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return None, False
            buf += chunk
            if bench_http.complete(buf):
                reused = s.session_reused
                sess = s.session if mode == "resumed" else None
                s.close()
                return sess, reused


done = resumed = 0
session = None
for _ in range(n):
    try:
        sess, reused = one(session)
    except (OSError, ssl.SSLError) as e:
        print(f"connection failed: {e}", file=sys.stderr)
        continue
    if sess is None and mode == "resumed":
        continue
    done += 1
    resumed += reused
    session = sess
print(done, resumed)
ok = done == n and (resumed == n - 1 if mode == "resumed" else resumed == 0)
sys.exit(0 if ok else 1)
