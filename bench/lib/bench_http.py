"""Shared by the bench clients: the GET they send, the TLS client context, and when an answer is complete."""
import ssl


def get_request(host, path):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def tls_client_context():
    """TLS 1.3 only, ALPN http/1.1, no certificate check (the bench certificates are self-signed)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def complete(buf):
    """True once buf holds a head and its whole Content-Length framed body (no length: empty body)."""
    head, sep, body = bytes(buf).partition(b"\r\n\r\n")
    if not sep:
        return False
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    return len(body) >= length
