"""N TLS connections, one after another, each with one GET (bench/callgrind.sh PROTO=handshake|resumed).

Each connection completes a TLS 1.3 handshake (ALPN http/1.1, no certificate check), sends one GET,
reads the complete answer (Content-Length framed) and closes. MODE `new` makes every handshake a full
one; `resumed` offers the session ticket of the previous connection, so all but the first resume
(the ticket arrives after the handshake, hence the read before taking it). Prints
"<completed> <resumed>" and exits 1 unless all N completed and, for `resumed`, N - 1 resumed.
"""
import socket, ssl, sys

host, port, path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.set_alpn_protocols(["http/1.1"])


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
            head, sep, body = buf.partition(b"\r\n\r\n")
            if not sep:
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            if len(body) >= length:
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
