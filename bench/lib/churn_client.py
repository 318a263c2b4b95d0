"""One request per connection, N connections one after another (bench/callgrind.sh PROTO=churn).

Each connection sends `GET PATH` with `Connection: close` and reads until the proxy closes it, so
every request costs the proxy an accept, a client connection's set-up and its teardown. Prints the
number of 200 answers; exits 1 unless all N were.
"""
import socket, sys

host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
ok = 0
for _ in range(n):
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(req)
        data = bytearray()
        while chunk := s.recv(65536):
            data += chunk
        ok += data.startswith(b"HTTP/1.1 200")
print(ok)
sys.exit(0 if ok == n else 1)
