"""Hold N idle HTTP/1.1 keep-alive connections to a proxy (bench/lib/proc.sh idle_conn_rss).

Each connection sends one GET and reads the complete answer (Content-Length framed), so the proxy
has finished a request on it and holds it as an idle keep-alive client. Writes the number of
connections that completed to READY_FIFO, then sleeps until it is terminated.
"""
import resource, selectors, signal, socket, sys, time

import bench_http

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

host, port, path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
sel = selectors.DefaultSelector()
socks, done = [], 0
for _ in range(n):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, bytearray())
    socks.append(s)
deadline = time.monotonic() + 30
while done < n and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        buf = key.data
        chunk = key.fileobj.recv(65536)
        if not chunk:
            sel.unregister(key.fileobj); continue
        buf += chunk
        if bench_http.complete(buf):
            sel.unregister(key.fileobj); done += 1
with open(ready, "w") as f:
    f.write(f"{done}\n")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(3600)
