import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One health probe on the wire: a TCP connect closed with RST (HC-5), or the smallest HTTP exchange
/// that yields a status line.
///
/// A probe is a bare non-blocking socket on the `ProbeReactor` thread, not a NIO channel: no
/// pipeline, promise or selector registration per check (a `ClientBootstrap` connect cost ~190 µs of
/// CPU per check, HAProxy ~220 µs in all). On loopback `connect` usually completes at once; otherwise
/// the reactor reports the socket ready (or the deadline passes). Call on the reactor thread; `done`
/// runs there too.
enum HealthProbe {
    enum TCPResult: Equatable, Sendable { case passed, refused(String), timeout }
    enum HTTPResult: Equatable, Sendable { case status(Int, String), refused(String), connectTimeout, readTimeout, invalid }

    static func tcp(reactor: ProbeReactor = .shared, address: SocketAddress, timeoutMs: Int, done: @escaping (TCPResult) -> Void) {
        RawProbe.start(reactor: reactor, address: address, connectTimeoutMs: timeoutMs, exchange: nil) { outcome in
            switch outcome {
            case .connected: done(.passed)
            case .refused(let info): done(.refused(info))
            case .connectTimeout: done(.timeout)
            case .status, .readTimeout, .invalid: done(.timeout)  // not produced without an exchange
            }
        }
    }

    /// `request` is the complete request bytes, built once per server (see `ServerCheckLoop`).
    static func http(reactor: ProbeReactor = .shared, address: SocketAddress, connectTimeoutMs: Int, readTimeoutMs: Int,
                     request: [UInt8], done: @escaping (HTTPResult) -> Void) {
        let exchange = RawProbe.Exchange(request: request, readTimeoutMs: readTimeoutMs)
        RawProbe.start(reactor: reactor, address: address, connectTimeoutMs: connectTimeoutMs, exchange: exchange) { outcome in
            switch outcome {
            case .status(let code, let line): done(.status(code, line))
            case .refused(let info): done(.refused(info))
            case .connectTimeout: done(.connectTimeout)
            case .readTimeout: done(.readTimeout)
            case .invalid, .connected: done(.invalid)
            }
        }
    }

    /// The status code and line of the first response line, or nil if it is not `HTTP/x code ...`.
    static func parseStatusLine(_ bytes: ArraySlice<UInt8>) -> (Int, String)? {
        let line = String(decoding: bytes, as: UTF8.self).trimmingOWS().replacingCRLF()
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else { return nil }
        return (code, line)
    }
}

/// The socket of one probe; every field is touched only on the reactor thread.
private final class RawProbe {
    struct Exchange {
        let request: [UInt8]
        let readTimeoutMs: Int
    }

    enum Outcome { case connected, refused(String), connectTimeout, status(Int, String), readTimeout, invalid }

    private enum Phase { case connecting, sending(offset: Int), reading }

    /// A status line longer than this is an invalid answer (as before: 4 KiB).
    private static let maxStatusLine = 4096

    private let fd: CInt
    private let reactor: ProbeReactor
    private let exchange: Exchange?
    private let done: (Outcome) -> Void
    private var phase: Phase = .connecting
    private var deadline: ProbeReactor.Timer?
    private var received: [UInt8] = []
    private var finished = false

    private init(fd: CInt, reactor: ProbeReactor, exchange: Exchange?, done: @escaping (Outcome) -> Void) {
        self.fd = fd
        self.reactor = reactor
        self.exchange = exchange
        self.done = done
    }

    static func start(reactor: ProbeReactor, address: SocketAddress, connectTimeoutMs: Int, exchange: Exchange?,
                      done: @escaping (Outcome) -> Void) {
        let fd = openNonBlockingSocket(family: address.protocol.rawValue)
        guard fd >= 0 else {
            done(.refused(String(cString: strerror(errno))))
            return
        }
        let rc = address.withSockAddr { connect(fd, $0, socklen_t($1)) }
        let err = rc == 0 ? 0 : errno
        let probe = RawProbe(fd: fd, reactor: reactor, exchange: exchange, done: done)
        switch err {
        case 0: probe.connected()
        case EINPROGRESS, EINTR:
            probe.arm(timeoutMs: connectTimeoutMs)
            probe.wait(for: POLLOUT)
        default: probe.finish(.refused(String(cString: strerror(err))))
        }
    }

    private static func openNonBlockingSocket(family: CInt) -> CInt {
        #if os(Linux)
        return socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(family, SOCK_STREAM, 0)
        guard fd >= 0 else { return fd }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: CInt = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<CInt>.size))
        return fd
        #endif
    }

    /// (Re)starts the phase's deadline.
    private func arm(timeoutMs: Int) {
        deadline?.cancel()
        deadline = reactor.after(ms: Int64(max(1, timeoutMs))) { [self] in
            deadline = nil
            reactor.unwatch(fd)
            switch phase {
            case .connecting: finish(.connectTimeout)
            case .sending, .reading: finish(.readTimeout)
            }
        }
    }

    private func wait(for events: Int32) {
        reactor.watch(fd, events: Int16(events)) { [self] _ in step() }
    }

    private func step() {
        switch phase {
        case .connecting:
            var soError: CInt = 0
            var len = socklen_t(MemoryLayout<CInt>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) != 0 { soError = errno }
            if soError == 0 { connected() } else { finish(.refused(String(cString: strerror(soError)))) }
        case .sending(let offset):
            send(from: offset)
        case .reading:
            read()
        }
    }

    private func connected() {
        guard let exchange else { return finish(.connected) }
        arm(timeoutMs: exchange.readTimeoutMs)
        send(from: 0)
    }

    private func send(from offset: Int) {
        guard let request = exchange?.request else { return finish(.invalid) }
        var offset = offset
        while offset < request.count {
            let n = request.withUnsafeBytes { raw in
                #if os(Linux)
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, CInt(MSG_NOSIGNAL))
                #else
                Darwin.send(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                #endif
            }
            if n > 0 {
                offset += n
            } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                phase = .sending(offset: offset)
                return wait(for: POLLOUT)
            } else {
                return finish(.invalid)
            }
        }
        phase = .reading
        wait(for: POLLIN)  // the answer cannot be there yet: no recv that would say EAGAIN
    }

    private func read() {
        while true {
            let room = Self.maxStatusLine + 1 - received.count
            guard room > 0 else { return finish(.invalid) }
            let start = received.count
            var err: CInt = 0
            let n = withUnsafeTemporaryAllocation(byteCount: 512, alignment: 1) { buffer -> Int in
                let n = recv(fd, buffer.baseAddress!, min(room, buffer.count), 0)
                err = errno
                if n > 0 { received.append(contentsOf: buffer[..<n]) }
                return n
            }
            if n > 0 {
                if let nl = received[start...].firstIndex(of: 0x0A) {
                    let status = HealthProbe.parseStatusLine(received[..<nl])
                    return finish(status.map { .status($0.0, $0.1) } ?? .invalid)
                }
                continue
            }
            if n < 0, err == EAGAIN || err == EWOULDBLOCK || err == EINTR { return wait(for: POLLIN) }
            return finish(.invalid)  // EOF or reset before a status line
        }
    }

    /// SO_LINGER {on, 0}: the close sends RST, as HAProxy does.
    private func finish(_ outcome: Outcome) {
        guard !finished else { return }
        finished = true
        deadline?.cancel()
        deadline = nil
        reactor.unwatch(fd)
        var off = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, socklen_t(MemoryLayout<linger>.size))
        close(fd)
        done(outcome)
    }
}

extension String {
    func replacingCRLF() -> String {
        String(unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
    }
}
