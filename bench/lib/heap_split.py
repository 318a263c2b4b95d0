"""Split the live heap bytes of N idle connections by who allocated them (bench/conn-heap.sh).

Input: two heaptrack collapsed-stack files (`heaptrack_print --flamegraph-cost-type leaked -F`), one of a
run with no clients (baseline) and one with N; each line is "outer;...;inner BYTES". Every stack is put
in the first layer whose pattern matches a frame, scanning from the allocation outwards, so a handler's
own object counts as that handler and the context NIO wraps it in counts as the pipeline.
"""
import collections, re, subprocess, sys

base_file, run_file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

# (layer, regex over a demangled frame); first match from the innermost frame wins.
LAYERS = [
    ("receive buffers (NIO's pooled recv allocator, kept per channel)", r"closure #1 in BaseStreamSocketChannel\.readFromSocket|NIOPooledRecvBufferAllocator|RecvByteBufferAllocator"),
    ("ByteToMessageHandler cumulation buffers", r"ByteToMessageHandler"),
    ("HTTP/1 codec handlers (request/response decoders, encoders)", r"HTTP1(Request|Response)(Decoder|Encoder)|HTTP1HeadParser|HTTP1MessageScanner|HTTPRequestDecoder|HTTPResponseEncoder|llhttp|HTTPDecoder"),
    ("H2PrefaceDetector", r"H2PrefaceDetector"),
    ("HTTPProxyHandler (+ request/log state)", r"HTTPProxyHandler|ProxyRequest|HTTPLogRecord"),
    ("ClientIOHandler", r"ClientIOHandler"),
    ("UpstreamHandler", r"UpstreamHandler"),
    ("UpstreamPool entries", r"UpstreamPool"),
    ("ConnectionRegistry + accept accounting (closeFuture callback)", r"ConnectionRegistry|AcceptLimitHandler"),
    ("timers (scheduled tasks)", r"scheduleTask|ScheduledTask|scheduleRepeated"),
    ("pipeline: handler contexts", r"ChannelHandlerContext|ChannelPipeline|addHandler"),
    ("futures/promises (close future callbacks)", r"EventLoopFuture|EventLoopPromise|CallbackList"),
    ("NIO channel: socket, write queue, addresses, selector registration", r"SocketChannel|BaseSocketChannel|BaseStreamSocketChannel|Socket\.init|PendingStreamWrites|PendingWrites|SelectableEventLoop|Selector|SocketAddress|ServerBootstrap|ClientBootstrap|withConnectedSocket|AcceptHandler"),
    ("malloc'd by libc/kernel glue", r"^(__)?libc|^_dl_"),
    ("other state allocated while handling a read", r"readFromSocket|fireChannelRead|invokeChannelRead"),
]


def read(path):
    stacks = collections.Counter()
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        stack, _, cost = line.rpartition(" ")
        if cost.isdigit():
            stacks[stack] += int(cost)
    return stacks


base, run = read(base_file), read(run_file)
frames = sorted({f for s in list(base) + list(run) for f in s.split(";") if f.startswith("$s")})
names = {}
if frames:
    try:
        out = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(frames),
                             capture_output=True, text=True, check=True).stdout.split("\n")
        names = dict(zip(frames, out))
    except (OSError, subprocess.CalledProcessError):
        pass


def layer(stack):
    for f in reversed(stack.split(";")):
        name = names.get(f, f)
        for label, rx in LAYERS:
            if re.search(rx, name):
                return label
    return "other"


split = collections.Counter()
other = collections.Counter()
for stacks, sign in ((run, 1), (base, -1)):
    for s, cost in stacks.items():
        split[layer(s)] += sign * cost
        if layer(s) == "other":
            inner = ";".join(names.get(f, f) for f in s.split(";")[-5:])
            other[inner] += sign * cost

total = sum(split.values())
print(f"\nlive heap per idle client connection: {total / n / 1024:.2f} KiB ({total} B over {n} clients, baseline subtracted)\n")
print("| layer | bytes per connection | share |")
print("|---|---:|---:|")
for label, cost in split.most_common():
    if abs(cost) / n >= 8:
        print(f"| {label} | {cost / n:.0f} | {100 * cost / total:.1f} % |")
print("\nlargest unclassified stacks (innermost 5 frames), bytes per connection:")
for s, cost in other.most_common(8):
    if cost / n >= 8:
        print(f"  {cost / n:6.0f}  {s}")
