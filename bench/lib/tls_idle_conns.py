"""Hold N idle TLS keep-alive connections to a proxy (bench/tls.sh, the idle-memory cell).

The TLS twin of idle_conns.py: each connection completes a TLS 1.3 handshake (ALPN http/1.1, no
certificate check), sends one GET and reads the complete answer (Content-Length framed), so the proxy
has finished a handshake and a request on it and holds it as an idle keep-alive client. Writes the
number of connections that completed to READY_FIFO, then sleeps until it is terminated.
"""
import resource, signal, socket, ssl, sys, time

import bench_http

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

host, port, path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
req = bench_http.get_request(host, path)
ctx = bench_http.tls_client_context()
socks, done = [], 0
deadline = time.monotonic() + 60
for _ in range(n):
    if time.monotonic() > deadline:
        break
    try:
        s = ctx.wrap_socket(socket.create_connection((host, port), timeout=10), server_hostname="localhost")
        s.sendall(req)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if bench_http.complete(buf):
                done += 1
                break
        socks.append(s)
    except (OSError, ssl.SSLError):
        pass
with open(ready, "w") as f:
    f.write(f"{done}\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(3600)
