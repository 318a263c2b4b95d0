"""Per-operation function costs from two callgrind profiles (bench/callgrind.sh CALLGRIND_KEEP).

usage: callgrind_diff.py FULL.out BASE.out OPERATIONS [TOP] [--inclusive] [--group]

Runs callgrind_annotate on both profiles and prints, per function, (Ir(FULL) - Ir(BASE)) / OPERATIONS:
self cost by default, inclusive with --inclusive. With --group, functions are summed into groups by
object and name (libcrypto, libssl, libc malloc, NIO, Breakwater TLS glue, ...), so that two proxies'
profiles over the same libssl can be compared line by line.
"""
import re, subprocess, sys

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?)\s*$")
RUN_DIR = re.compile(r"/tmp/bw-bench-callgrind\.[^/]+/")  # each run's own copy of the binary


def costs(path, inclusive):
    args = ["callgrind_annotate", "--threshold=100", f"--inclusive={'yes' if inclusive else 'no'}", path]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    table, started = {}, False
    for line in out.splitlines():
        if not started:
            started = line.startswith("Ir") and "file:function" in line
            continue
        m = LINE.match(line)
        if m:
            name = RUN_DIR.sub("", m.group(2))
            table[name] = table.get(name, 0) + int(m.group(1).replace(",", ""))
    return table


GROUPS = [  # (group, pattern over "file:function [object]"), first match wins
    ("libcrypto: AES-GCM / ChaCha record crypto", r"libcrypto.*(gcm|aesni|aes_|ghash|chacha|poly1305|ctr32)"),
    ("libcrypto: EC / bignum (handshake)", r"libcrypto.*(ecp_|ec_|EC_|bn_|BN_|x25519|X25519|ossl_ec|ecdsa|nistz256|mul_mont|sqr_mont)"),
    ("libcrypto: SHA / HMAC / KDF", r"libcrypto.*(sha|SHA|hmac|HMAC|kdf|KDF|digest|EVP_Digest|EVP_MD)"),
    ("libcrypto: providers, params, names, locks", r"libcrypto.*(OSSL_|ossl_|provider|param|namemap|property|lock|CRYPTO_THREAD|lh_|OPENSSL_LH|OPENSSL_sk|sk_)"),
    ("libcrypto: malloc wrappers / cleanse", r"libcrypto.*(CRYPTO_malloc|CRYPTO_zalloc|CRYPTO_free|CRYPTO_realloc|CRYPTO_clear_free|OPENSSL_cleanse)"),
    ("libcrypto: other", r"libcrypto"),
    ("libssl: record layer (SSL_read/SSL_write)", r"libssl.*(ssl3_read|ssl3_write|do_ssl3_write|tls1_enc|tls13_enc|ssl3_get_record|ssl_read|ssl_write|SSL_read|SSL_write|rbuf|wbuf|ssl3_setup|ssl3_release|tls_write_records|tls_get_more|ssl3_read_n|ssl3_write_bytes|ssl3_read_bytes|record)"),
    ("libssl: other (handshake, session, tickets)", r"libssl"),
    ("libc: malloc/free", r"(malloc|free|calloc|realloc|_int_|memalign|tcache)"),
    ("libc: memcpy/memmove/memset", r"(memcpy|memmove|memset|mempcpy)"),
    ("libc: other", r"libc[.-]"),
    ("Breakwater TLS glue", r"(BreakwaterTLS|CiphertextBIO|OpenSSLServerHandler|bw_|cipherBIO)"),
    ("Swift runtime / retain-release", r"(swift_|libswiftCore|swift::)"),
    ("NIO", r"(NIO|nio)"),
    ("Breakwater other", r"(Breakwater|breakwater)"),
    ("haproxy", r"haproxy"),
    ("kernel / vdso / ld.so / other", r".*"),
]


def group(name):
    for g, pat in GROUPS:
        if re.search(pat, name):
            return g
    return "other"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    full, base, ops = args[0], args[1], int(args[2])
    top = int(args[3]) if len(args) > 3 else 40
    inclusive, grouped = "--inclusive" in sys.argv, "--group" in sys.argv
    f, b = costs(full, inclusive), costs(base, inclusive)
    diff = {k: (f.get(k, 0) - b.get(k, 0)) / ops for k in set(f) | set(b)}
    if grouped:
        g = {}
        for k, v in diff.items():
            g[group(k)] = g.get(group(k), 0) + v
        diff = g
    total = sum(v for v in diff.values()) if not inclusive else None
    for k, v in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        share = f" {100 * v / total:5.1f}%" if total else ""
        print(f"{v:12,.0f}{share}  {k}")
    if total:
        print(f"{total:12,.0f}  total (self)")


main()
