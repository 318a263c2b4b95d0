#!/usr/bin/env python3
"""Per-request cost by function from two callgrind.out files of the same binary (a short and a long
run): (cost(long) - cost(short)) / (requests(long) - requests(short)), self and inclusive, demangled,
with a total per group of the data path. Usage:

    callgrind_diff.py SHORT.out LONG.out N_SHORT N_LONG [TOP] [--groups=tls]

The profiles come from `KEEP=DIR bench/callgrind.sh` (any PROTO; for handshake/resumed the
operations are connections). `--groups=tls` sums by object instead (libcrypto by kind, libssl,
libc, TLS glue, NIO, runtime), the view that compares two proxies over the same libssl.
"""
import re
import subprocess
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:\S*:)?(.+?)(?:\s+\[[^\]]*\])?\s*$")


def annotate(path, inclusive):
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100",
                          path], capture_output=True, text=True, check=True).stdout
    costs = defaultdict(int)
    body = False
    for line in out.splitlines():
        if re.match(r"^-+$", line.strip()) and body is False:
            continue
        if "file:function" in line:
            body = True
            continue
        if not body:
            continue
        m = LINE.match(line)
        if m:
            costs[m.group(2)] += int(m.group(1).replace(",", ""))
    return costs


def demangle(names):
    names = list(names)
    try:
        out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                             capture_output=True, text=True, check=True).stdout.splitlines()
        if len(out) == len(names):
            return dict(zip(names, out))
    except (OSError, subprocess.CalledProcessError):
        pass
    return {n: n for n in names}


# First match wins: specific data-path parts before the general NIO/runtime buckets.
GROUPS = [
    ("Swift exclusivity checks", r"swift_beginAccess|swift_endAccess|ExclusivityFlags|SwiftTLSContext|__tls_get_addr|^get\(\)$"),
    ("value copies / destroys (value witnesses, outlined copies)", r"^initializeWithCopy|^initializeBufferWithCopy|^destroy for|^outlined |^assignWithCopy|^assignWithTake|^initializeWithTake"),
    ("scanner / parser (BreakwaterHTTP1Wire)", r"HTTP1MessageScanner|HTTP1HeadParser|HTTP1Head\b|HTTP1Head\.|HTTP1ListScan|HTTP1FieldText|HTTP1ChunkedFramer|HTTP1Bytes|RequestLineVersionCheck"),
    ("head writer / edits", r"HTTP1HeadWriter|HTTP1HeadEdits|ReusableHeadBuffer|HeaderHygiene"),
    ("codec handlers (decoders/encoders)", r"HTTP1RequestDecoder|HTTP1ResponseDecoder|HTTP1RequestEncoder|HTTP1ResponseEncoder|ByteToMessageHandler|WriteObservingByteToMessageDecoder"),
    ("upstream pool / connector", r"UpstreamPool|UpstreamConnector|UpstreamPools|UpstreamHandler"),
    ("stats / log", r"StatsCollector|HTTPLogRecord|HTTPLogFormatter|Counters|countResponse|ResponseTimeHistogram|emitLog|Logger|Logging"),
    ("proxy handler logic", r"HTTPProxyHandler|ProxyRequest|ClientIOHandler|TrackedEntries|RequestTarget|BackendBalancer|BackendRuntime|FrontendRuntime|ACL|ServerRuntimeState|HealthState"),
    ("timers / scheduling", r"scheduleTask|Scheduled|PriorityQueue|Heap|ScheduledTask|NIODeadline|clock_gettime|EventLoop.*(execute|schedule)|_run|runLoop|epoll|Selector|whenReady|NIOThread|timerfd"),
    ("ByteBuffer ops", r"ByteBuffer|_Storage|ByteBufferView|NIOCore\.IOData"),
    ("NIO channel pipeline / NIOAny / socket channel", r"ChannelHandlerContext|ChannelPipeline|NIOAny|invokeChannel|invokeWrite|invokeFlush|invokeRead|fireChannel|BaseSocketChannel|SocketChannel|BaseStreamSocketChannel|PendingWrites|PendingStreamWrites|RecvByteBufferAllocator|Channel\b|ChannelOptions|EventLoopFuture|EventLoopPromise|NIOCore|NIOPosix"),
    ("Swift runtime (retain/release, casts, metadata, swift_once)", r"swift_|^_swift|swift::|objc_|Metadata|getCache|swift_beginAccess|swift_endAccess|__swift|witness|outlined|value witness|_dynamicCast|static Swift|Swift\."),
    ("libc / malloc / kernel entry", r"malloc|free|memcpy|memmove|memset|memcmp|strlen|pthread|__libc|_int_|cfree|syscall|__GI|__memcpy|__mem|__str|epoll_wait|^read$|^write|writev|readv|_dl_|__lll|tcache|arena"),
]

TLS_GROUPS = [  # --groups=tls: by object (libcrypto, libssl, libc, ...), to compare two proxies over one libssl
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


def group_of(name):
    for g, pattern in ACTIVE_GROUPS:
        if re.search(pattern, name):
            return g
    return "other"


ACTIVE_GROUPS = GROUPS


def main():
    global ACTIVE_GROUPS
    if "--groups=tls" in sys.argv:
        ACTIVE_GROUPS = TLS_GROUPS
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    short, long_, ns, nl = args[0], args[1], int(args[2]), int(args[3])
    top = int(args[4]) if len(args) > 4 else 40
    per = nl - ns
    self_s, self_l = annotate(short, False), annotate(long_, False)
    inc_s, inc_l = annotate(short, True), annotate(long_, True)
    names = set(self_l) | set(self_s) | set(inc_l)
    dm = demangle(names)
    self_d = {n: (self_l.get(n, 0) - self_s.get(n, 0)) / per for n in names}
    inc_d = {n: (inc_l.get(n, 0) - inc_s.get(n, 0)) / per for n in names}
    total = sum(self_d.values())
    groups = defaultdict(float)
    for n, v in self_d.items():
        groups[group_of(dm[n])] += v
    print(f"Total self cost per request: {total:,.0f} instructions\n")
    print("| group (self cost) | instructions / request | share |")
    print("|---|---:|---:|")
    for g, v in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"| {g} | {v:,.0f} | {100 * v / total:.1f} % |")
    def cell(n):
        name = dm[n].replace("|", "\\|")
        return f"`{name[:107]}...`" if len(name) > 110 else f"`{name}`"

    print(f"\nTop {top} functions by self cost per request (inclusive beside):\n")
    print("| # | function | self | inclusive | group |")
    print("|---:|---|---:|---:|---|")
    for i, n in enumerate(sorted(names, key=lambda n: -self_d[n])[:top], 1):
        print(f"| {i} | {cell(n)} | {self_d[n]:,.0f} | {inc_d[n]:,.0f} | {group_of(dm[n])} |")
    print(f"\nTop {top} functions by inclusive cost per request:\n")
    print("| # | function | inclusive | self |")
    print("|---:|---|---:|---:|")
    for i, n in enumerate(sorted(names, key=lambda n: -inc_d[n])[:top], 1):
        print(f"| {i} | {cell(n)} | {inc_d[n]:,.0f} | {self_d[n]:,.0f} |")

if __name__ == "__main__":
    main()
