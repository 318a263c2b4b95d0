#!/usr/bin/env python3
"""Connection storm for bench/mysql-mux.sh: N clients connect at once (asyncio, one process), each logs in with
mysql_native_password, runs one query and quits. Prints errors by code and the connect latency percentiles
(TCP connect until the server's OK to the login), so a client past max_connections is an error, never a hang.

usage: mysql-storm.py HOST PORT USER PASSWORD CLIENTS [QUERY] [TIMEOUT_S]
"""
import asyncio
import hashlib
import struct
import sys
import time
from collections import Counter


def native_password(password: bytes, scramble: bytes) -> bytes:
    if not password:
        return b""
    h1 = hashlib.sha1(password).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(scramble + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


async def read_packet(reader):
    header = await reader.readexactly(4)
    length = header[0] | header[1] << 8 | header[2] << 16
    return header[3], await reader.readexactly(length)


def write_packet(writer, seq, payload):
    writer.write(struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload)


def error_of(payload):
    code = struct.unpack("<H", payload[1:3])[0]
    return f"ERR {code} {payload[9:].decode(errors='replace')[:80]}"


async def one_client(host, port, user, password, query, results):
    start = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        _, greeting = await read_packet(reader)
        if greeting[0] == 0xFF:
            raise RuntimeError(error_of(greeting))
        pos = greeting.index(0, 1) + 1  # after the version string
        pos += 4  # connection id
        scramble = greeting[pos:pos + 8]
        pos += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
        scramble += greeting[pos:pos + 12]
        caps = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x80000  # LONG_PASSWORD, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION, PLUGIN_AUTH
        auth = native_password(password.encode(), scramble)
        payload = struct.pack("<IIB23x", caps, 1 << 24, 45) + user.encode() + b"\0" + bytes([len(auth)]) + auth
        payload += b"mysql_native_password\0"
        write_packet(writer, 1, payload)
        await writer.drain()
        _, answer = await read_packet(reader)
        if answer[0] == 0xFE:  # auth switch: answer with the new scramble
            plugin_end = answer.index(0, 1)
            new_scramble = answer[plugin_end + 1:].rstrip(b"\0")
            write_packet(writer, 3, native_password(password.encode(), new_scramble))
            await writer.drain()
            _, answer = await read_packet(reader)
        if answer[0] == 0xFF:
            raise RuntimeError(error_of(answer))
        connected = time.monotonic() - start
        write_packet(writer, 0, b"\x03" + query.encode())
        await writer.drain()
        # OK, or column count, definitions, EOF, rows, EOF (no CLIENT_DEPRECATE_EOF); an ERR anywhere.
        eofs = 0
        while True:
            _, p = await read_packet(reader)
            if p[0] == 0xFF:
                raise RuntimeError(error_of(p))
            if p[0] == 0x00 and eofs == 0:
                break
            if p[0] == 0xFE and len(p) < 9:
                eofs += 1
                if eofs == 2:
                    break
        write_packet(writer, 0, b"\x01")
        await writer.drain()
        results["connect"].append(connected)
    except Exception as e:  # noqa: BLE001 - every failure is counted by its text
        text = str(e)
        results["errors"][" ".join(text.split(" ")[:2]) if text.startswith("ERR") else type(e).__name__] += 1
    finally:
        if writer is not None:
            writer.close()


async def main():
    host, port, user, password, clients = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    query = sys.argv[6] if len(sys.argv) > 6 else "SELECT 1"
    timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 60
    results = {"connect": [], "errors": Counter()}
    start = time.monotonic()
    tasks = [asyncio.create_task(one_client(host, port, user, password, query, results)) for _ in range(clients)]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for t in pending:
        t.cancel()
    wall = time.monotonic() - start
    lat = sorted(results["connect"])
    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")
    errors = sum(results["errors"].values()) + len(pending)
    detail = ", ".join(f"{k}: {v}" for k, v in results["errors"].most_common()) + (f", hung: {len(pending)}" if pending else "")
    print(f"clients={clients} ok={len(lat)} errors={errors} connect_p50_ms={pct(0.5):.1f} "
          f"connect_p99_ms={pct(0.99):.1f} wall_s={wall:.2f} {detail}")


if __name__ == "__main__":
    asyncio.run(main())
