#!/usr/bin/env python3
"""Botnet-drill load generator for bench/sticktable.sh (Python 3.11 stdlib only).

Opens one keep-alive HTTP/1.1 connection per client, each bound to its own
loopback source address, and runs for a fixed time, then exits by itself:

  * abusive clients: sources 127.1.X.Y (X = i // 250, Y = i % 250 + 1), each
    sends its next request as soon as the previous answer is in (closed loop,
    "as fast as it can");
  * polite clients: sources 127.2.X.Y (same numbering), one request per
    --polite-interval seconds each, with start phases spread over the interval.

A connection the server closes (e.g. after a tarpit 500) is reopened from the
same source address. Abusive clients are split over --procs worker processes
(epoll loops); polite clients get their own process, so their latency is not
inflated by a busy Python loop. Prints one JSON object with the totals.

Bounded: at most abusive + polite sockets at once; every worker stops sending
at the deadline, and the parent kills (by PID) any worker that is still alive
--grace seconds after it.
"""
import argparse
import errno
import json
import os
import selectors
import signal
import socket
import sys
import time

ABUSIVE, POLITE = 0, 1


def src_addr(net, i):
    return f"{net}.{i // 250}.{i % 250 + 1}"


class Client:
    __slots__ = ("kind", "src", "sock", "state", "buf", "sent_at", "next_due", "reconnect_at")

    def __init__(self, kind, src):
        self.kind = kind
        self.src = src
        self.sock = None
        self.state = "down"  # down | connecting | idle | busy
        self.buf = bytearray()
        self.sent_at = 0.0
        self.next_due = 0.0
        self.reconnect_at = 0.0


def new_stats():
    return {
        "sent": 0,            # requests written
        "responses": 0,       # complete responses read
        "status": {},         # status code -> count
        "errors": {},         # kind -> count (connect, reset, closed, timeout, parse)
        "connects": 0,        # successful TCP connects
        "inflight_end": 0,    # requests still unanswered at the deadline
        "lat_ms": [],         # per-response latency (polite only)
        "ok_per_s": [],       # 200s per second of the window
    }


def parse_response(buf):
    """Returns (consumed, status, close) for one complete response, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("bad status line")
    status = int(parts[1])
    clen, chunked, close = None, False, parts[0] == "HTTP/1.0"
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        k = k.strip().lower()
        v = v.strip().lower()
        if k == "content-length":
            clen = int(v)
        elif k == "transfer-encoding" and "chunked" in v:
            chunked = True
        elif k == "connection":
            if "close" in v:
                close = True
            elif "keep-alive" in v:
                close = False
    body = end + 4
    if chunked:
        t = buf.find(b"\r\n0\r\n\r\n", body - 2)
        if t < 0:
            return None
        return t + 7, status, close
    if clen is None:
        clen = 0 if status in (204, 304) or 100 <= status < 200 else None
    if clen is None:  # delimited by close: caller handles EOF
        return None
    if len(buf) < body + clen:
        return None
    return body + clen, status, close


def worker(args, kind, indices, t0, deadline, out_fd):
    net = args.abusive_net if kind == ABUSIVE else args.polite_net
    st = new_stats()
    nsec = int(args.seconds + 0.999)
    st["ok_per_s"] = [0] * nsec
    req = f"GET {args.path} HTTP/1.1\r\nHost: {args.host_header}\r\nUser-Agent: bw-drill\r\n\r\n".encode()
    target = (args.host, args.port)
    timeout = args.timeout
    sel = selectors.DefaultSelector()
    clients = [Client(kind, src_addr(net, i)) for i in indices]
    if kind == POLITE:
        n = max(1, len(clients))
        for k, c in enumerate(clients):
            c.next_due = t0 + args.polite_interval * k / n

    def err(k):
        st["errors"][k] = st["errors"].get(k, 0) + 1

    def close(c, delay=0.0):
        if c.sock is not None:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            c.sock = None
        c.state = "down"
        c.buf = bytearray()
        c.reconnect_at = time.monotonic() + delay

    def connect(c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.bind((c.src, 0))
        except OSError:
            s.close()
            err("bind")
            c.reconnect_at = time.monotonic() + 0.5
            return
        rc = s.connect_ex(target)
        c.sock = s
        if rc in (0, errno.EINPROGRESS):
            c.state = "connecting"
            sel.register(s, selectors.EVENT_WRITE, c)
            c.sent_at = time.monotonic()  # connect timer
        else:
            err("connect")
            close(c, 0.2)

    def send(c, now):
        try:
            n = c.sock.send(req)
        except OSError:
            err("reset")
            close(c, 0.05)
            return
        if n != len(req):  # never happens for a ~60-byte request on a fresh buffer
            err("short-send")
            close(c, 0.05)
            return
        st["sent"] += 1
        c.sent_at = now
        c.state = "busy"
        sel.modify(c.sock, selectors.EVENT_READ, c)

    def done(c, status, now):
        st["responses"] += 1
        k = str(status)
        st["status"][k] = st["status"].get(k, 0) + 1
        if status == 200:
            sec = int(now - t0)
            if 0 <= sec < nsec:
                st["ok_per_s"][sec] += 1
        if kind == POLITE:
            st["lat_ms"].append((round(c.sent_at - t0, 3), round((now - c.sent_at) * 1000, 3)))
        c.state = "idle"

    def maybe_send(c, now):
        if now >= deadline:
            return
        if kind == ABUSIVE:
            send(c, now)
        elif now >= c.next_due:
            c.next_due += args.polite_interval
            if c.next_due < now:  # fell behind (slow answer): don't burst
                c.next_due = now + args.polite_interval
            send(c, now)

    # sleep until the common start time
    while (d := t0 - time.monotonic()) > 0:
        time.sleep(min(d, 0.05))
    for c in clients:
        connect(c)

    last_scan = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        wait = min(0.05, deadline - now)
        if kind == POLITE:
            for c in clients:
                if c.state == "idle":
                    wait = min(wait, max(0.0, c.next_due - now))
        events = sel.select(wait)
        now = time.monotonic()
        for key, mask in events:
            c = key.data
            if c.state == "connecting":
                e = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e:
                    err("connect")
                    close(c, 0.2)
                    continue
                st["connects"] += 1
                c.state = "idle"
                sel.modify(c.sock, selectors.EVENT_READ, c)
                maybe_send(c, now)
                continue
            try:
                data = c.sock.recv(65536)
            except (ConnectionResetError, OSError):
                data = None
            if not data:
                if c.state == "busy":
                    # an answer delimited by EOF (no content-length) counts as done
                    if c.buf and c.buf.find(b"\r\n\r\n") >= 0:
                        try:
                            status = int(bytes(c.buf[:c.buf.find(b"\r\n")]).split(b" ")[1])
                            done(c, status, now)
                        except (ValueError, IndexError):
                            err("parse")
                    else:
                        err("reset" if data is None else "closed")
                close(c)
                continue
            if c.state != "busy":
                err("unsolicited")
                close(c, 0.05)
                continue
            c.buf += data
            try:
                r = parse_response(c.buf)
            except ValueError:
                err("parse")
                close(c, 0.05)
                continue
            if r is None:
                continue
            consumed, status, want_close = r
            del c.buf[:consumed]
            done(c, status, now)
            if want_close:
                close(c)
            else:
                maybe_send(c, now)
        # reconnects, polite sends, timeouts
        for c in clients:
            if c.state == "down":
                if now >= c.reconnect_at and now < deadline:
                    connect(c)
            elif c.state == "idle" and kind == POLITE:
                maybe_send(c, now)
        if now - last_scan >= 0.25:
            last_scan = now
            for c in clients:
                if c.state in ("busy", "connecting") and now - c.sent_at > timeout:
                    err("timeout" if c.state == "busy" else "connect-timeout")
                    close(c)
    for c in clients:
        if c.state == "busy":
            st["inflight_end"] += 1
        close(c)
    os.write(out_fd, json.dumps(st).encode())
    os.close(out_fd)


def merge(a, b):
    for k in ("sent", "responses", "connects", "inflight_end"):
        a[k] += b[k]
    for k in ("status", "errors"):
        for kk, v in b[k].items():
            a[k][kk] = a[k].get(kk, 0) + v
    a["lat_ms"].extend(b["lat_ms"])
    if not a["ok_per_s"]:
        a["ok_per_s"] = list(b["ok_per_s"])
    else:
        a["ok_per_s"] = [x + y for x, y in zip(a["ok_per_s"], b["ok_per_s"])]


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(q / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/64")
    ap.add_argument("--host-header", default="bench")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--abusive", type=int, default=1000)
    ap.add_argument("--abusive-net", default="127.1")
    ap.add_argument("--polite", type=int, default=50)
    ap.add_argument("--polite-net", default="127.2")
    ap.add_argument("--polite-interval", type=float, default=1.0)
    ap.add_argument("--procs", type=int, default=1, help="worker processes for the abusive clients")
    ap.add_argument("--timeout", type=float, default=15.0, help="per-request timeout, s")
    ap.add_argument("--grace", type=float, default=10.0, help="kill workers this long after the deadline")
    ap.add_argument("--settle", type=float, default=10.0,
                    help="polite p99_settled_ms counts only requests sent this long after the start")
    args = ap.parse_args()
    if args.abusive > 250 * 256 or args.polite > 250 * 256:
        ap.error("at most 64000 clients per class")

    t0 = time.monotonic() + 0.5 + 0.002 * (args.abusive + args.polite) / max(1, args.procs)
    deadline = t0 + args.seconds
    jobs = []  # (pid, read fd, kind)
    shares = []
    procs = max(1, min(args.procs, args.abusive)) if args.abusive else 0
    for p in range(procs):
        shares.append((ABUSIVE, list(range(p, args.abusive, procs))))
    if args.polite:
        shares.append((POLITE, list(range(args.polite))))
    for kind, idx in shares:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            rc = 0
            try:
                worker(args, kind, idx, t0, deadline, w)
            except BaseException as e:  # report, never hang the parent
                print(f"drill worker: {e!r}", file=sys.stderr)
                rc = 1
            os._exit(rc)
        os.close(w)
        jobs.append((pid, r, kind))

    def kill_all(*_):
        for pid, _, _ in jobs:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        sys.exit(130)
    signal.signal(signal.SIGTERM, kill_all)
    signal.signal(signal.SIGINT, kill_all)

    totals = {ABUSIVE: new_stats(), POLITE: new_stats()}
    hard = deadline + args.grace
    failed = 0
    for pid, r, kind in jobs:
        chunks = []
        os.set_blocking(r, False)
        while True:
            left = hard - time.monotonic()
            if left <= 0:
                break
            sel = selectors.DefaultSelector()
            sel.register(r, selectors.EVENT_READ)
            if sel.select(min(left, 1.0)):
                try:
                    b = os.read(r, 1 << 20)
                except BlockingIOError:
                    continue
                if not b:
                    break
                chunks.append(b)
            sel.close()
        os.close(r)
        # the worker exits right after closing its pipe: give it until the hard deadline
        while True:
            try:
                done_pid, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done_pid:
                if status:
                    failed += 1
                break
            if time.monotonic() >= hard:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                failed += 1
                break
            time.sleep(0.01)
        try:
            merge(totals[kind], json.loads(b"".join(chunks)))
        except ValueError:
            failed += 1

    res = {"seconds": args.seconds, "failed_workers": failed}
    for kind, name in ((ABUSIVE, "abusive"), (POLITE, "polite")):
        s = totals[kind]
        pairs = s.pop("lat_ms")
        lat = sorted(ms for _, ms in pairs)
        s["p99_settled_ms"] = pct(sorted(ms for t, ms in pairs if t >= args.settle), 99)
        s["clients"] = args.abusive if kind == ABUSIVE else args.polite
        s["ok"] = s["status"].get("200", 0)
        s["p50_ms"] = pct(lat, 50)
        s["p99_ms"] = pct(lat, 99)
        s["max_ms"] = lat[-1] if lat else None
        s["nerrors"] = sum(s["errors"].values()) + sum(v for k, v in s["status"].items() if k != "200")
        res[name] = s
    print(json.dumps(res))


if __name__ == "__main__":
    main()
