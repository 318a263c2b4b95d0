#!/usr/bin/env python3
"""Where a proxy's instructions per request go, from the two callgrind runs of bench/callgrind.sh
(KEEP_OUT=dir): each function's Ir in the long run minus the short run, over the requests between
them, so start-up and connection set-up cancel out as in the script's total.

    callgrind_groups.py BASE.out BASE_N FULL.out FULL_N [--top K]

Prints two Markdown tables: self instructions per request by group (they add up to the total), and
the inclusive cost of the top K functions (what a call costs with everything under it). Groups are
matched on the demangled name and object file, first match wins (GROUPS below)."""
import re
import subprocess
import sys
from collections import defaultdict

GROUPS = [
    ("TLS (BoringSSL, NIOSSL)", r"NIOSSL|CNIOBoringSSL|boringssl|libssl|libcrypto"),
    ("HPACK (NIOHPACK)", r"NIOHPACK"),
    ("nio-http2 stream/connection state machines, flow control",
     r"NIOHTTP2\.[^ (]*(StateMachine|State\b|FlowControl|Window|StreamMap|StreamData|ConnectionStreams|"
     r"HTTP2Settings|ContentLength|ConcurrentStreams|DOSHeuristics|Validation|validate)"),
    ("nio-http2 frame codec and handler", r"NIOHTTP2"),
    ("Breakwater H2 (H2ConnectionHandler, H2Stream, H2MessageHeads, ...)", r"BreakwaterHTTP\.H2|H2[A-Z][a-zA-Z]+\."),
    ("HTTPProxyHandler, ProxyRequest, rules, logs", r"BreakwaterHTTP\.(HTTPProxyHandler|ProxyRequest|HeaderHygiene|"
     r"RequestTarget|HTTPLog|TrackedEntries|FrontendRuntime|BackendRuntime)|Breakwater(ACL|Observability|Balancing)"),
    ("upstream HTTP/1 side (pool, UpstreamHandler, HTTP/1 codecs, wire heads)",
     r"BreakwaterHTTP\.(Upstream|HTTP1)|BreakwaterHTTP1Wire"),
    ("NIOHTTP1 heads, HTTPHeaders", r"NIOHTTP1"),
    ("other Breakwater", r"Breakwater"),
    ("NIO core (pipeline, event loop, ByteBuffer, futures, sockets)", r"NIOCore|NIOPosix|NIOEmbedded|_NIODataStructures|NIOConcurrencyHelpers|Atomics"),
    ("Swift runtime: retain/release, alloc, casts, metadata", r"swift_(retain|release|allocObject|deallocObject|bridgeObject|"
     r"dynamicCast|getGenericMetadata|conformsTo|beginAccess|endAccess|unknownObject|weak|isUniquely|checkMetadataState|"
     r"getAssociated|getWitness|once)|libswiftCore.*(Metadata|Conformance)"),
    ("Swift stdlib (String, Array, Dictionary, hashing)", r"libswiftCore|libswift_|Foundation"),
    ("malloc/free (libc)", r"\b(malloc|free|calloc|realloc|_int_malloc|_int_free|cfree|malloc_consolidate|tcache|"
     r"memalign|posix_memalign|aligned_alloc)\b"),
    ("libc other (memcpy, syscalls wrappers, locks)", r"libc\.so|ld-linux|libpthread"),
]
COMPILED = [(name, re.compile(rx)) for name, rx in GROUPS]
LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$")


def annotate(path, inclusive):
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100",
                          "--auto=no", path], check=True, capture_output=True, text=True).stdout
    costs = {}
    started = False
    for line in out.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        m = LINE.match(line)
        if m and ":" in m.group(2):
            key = m.group(2)
            costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def demangle(names, simplified=True):
    text = "\n".join(names)
    flags = ["--simplified"] if simplified else []
    out = subprocess.run(["swift-demangle", *flags], input=text, capture_output=True, text=True).stdout
    lines = out.split("\n")
    return dict(zip(names, lines)) if len(lines) >= len(names) else {n: n for n in names}


def per_request(base_path, base_n, full_path, full_n, inclusive):
    base, full = annotate(base_path, inclusive), annotate(full_path, inclusive)
    span = full_n - base_n
    return {k: (full.get(k, 0) - base.get(k, 0)) / span for k in set(base) | set(full)}


def group_of(name):
    for group, rx in COMPILED:
        if rx.search(name):
            return group
    return "other"


def main():
    args = sys.argv[1:]
    top = 25
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    base_path, base_n, full_path, full_n = args[0], int(args[1]), args[2], int(args[3])
    selfs = per_request(base_path, base_n, full_path, full_n, False)
    # Grouped on the full names, which keep the module of each type.
    names = demangle(sorted(selfs), simplified=False)
    groups = defaultdict(float)
    for k, v in selfs.items():
        groups[group_of(names[k])] += v
    total = sum(groups.values())
    print(f"Self instructions per request by group (total {total:,.0f}):\n")
    print("| group | Ir/request | share |\n|---|---:|---:|")
    for g, v in sorted(groups.items(), key=lambda kv: -kv[1]):
        if abs(v) < 0.5:
            continue
        print(f"| {g} | {v:,.0f} | {100 * v / total:.1f}% |")
    incl = per_request(base_path, base_n, full_path, full_n, True)
    inames = demangle(sorted(incl))
    print(f"\nInclusive instructions per request, top {top} functions:\n")
    print("| function | Ir/request |\n|---|---:|")
    shown = 0
    for k, v in sorted(incl.items(), key=lambda kv: -kv[1]):
        name = inames[k].split(":", 1)[-1]
        name = re.sub(r"\s*\[[^\]]*\]$", "", name)
        if len(name) > 140:
            name = name[:137] + "..."
        print(f"| `{name}` | {v:,.0f} |")
        shown += 1
        if shown >= top:
            break


if __name__ == "__main__":
    main()
