import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The raw-socket health probes (HC-5) against real loopback listeners: L4 connect closed with RST,
/// refused connects, and the L7 status-line exchange with its failure modes.
@Suite struct HealthProbeTests {
    /// A blocking loopback listener driven from a background thread.
    final class Listener: @unchecked Sendable {
        let fd: CInt
        let port: Int

        init() throws {
            let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
            self.fd = fd
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    bind(fd, sa, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, sa, &len) == 0
                }
            }
            guard ok else { port = 0; throw ProbeTestError("cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))") }
            port = Int(UInt16(bigEndian: addr.sin_port))
        }

        deinit { close(fd) }

        /// Accepts one connection (waits at most 5 s).
        func accept() throws -> CInt {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) == 1 else { throw ProbeTestError("no connection within 5 s") }
            return Glibc.accept(fd, nil, nil)
        }

        /// Reads until the end of a request head (or EOF / 5 s).
        static func readHead(_ conn: CInt) -> String {
            var data: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 1024)
            while !String(decoding: data, as: UTF8.self).contains("\r\n\r\n") {
                var pfd = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 5000) == 1 else { break }
                let n = recv(conn, &buf, buf.count, 0)
                guard n > 0 else { break }
                data += buf[..<n]
            }
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// A value shared with a server thread.
    final class Locked<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Value
        init(_ value: Value) { self.value = value }
        func withLock<R>(_ body: (inout Value) -> R) -> R {
            lock.lock()
            defer { lock.unlock() }
            return body(&value)
        }
    }

    struct ProbeTestError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func tcp(_ address: SocketAddress, timeoutMs: Int = 2000) async -> HealthProbe.TCPResult {
        await withCheckedContinuation { (c: CheckedContinuation<HealthProbe.TCPResult, Never>) in
            ProbeReactor.shared.submit {
                HealthProbe.tcp(address: address, timeoutMs: timeoutMs) { c.resume(returning: $0) }
            }
        }
    }

    static func http(_ port: Int, readTimeoutMs: Int = 2000) async throws -> HealthProbe.HTTPResult {
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let request = Array("GET /health HTTP/1.0\r\nConnection: close\r\n\r\n".utf8)
        return await withCheckedContinuation { (c: CheckedContinuation<HealthProbe.HTTPResult, Never>) in
            ProbeReactor.shared.submit {
                HealthProbe.http(address: address, connectTimeoutMs: 2000, readTimeoutMs: readTimeoutMs,
                                 request: request) { c.resume(returning: $0) }
            }
        }
    }

    /// Serves one connection on a background thread with `body(connection, requestHead)`.
    static func serveOne(_ listener: Listener, _ body: @escaping @Sendable (CInt, String) -> Void) -> Thread {
        let t = Thread {
            guard let conn = try? listener.accept(), conn >= 0 else { return }
            body(conn, Listener.readHead(conn))
            close(conn)
        }
        t.start()
        return t
    }

    @Test("L4: a listening port passes and the probe's close is an RST")
    func layer4PassesWithReset() async throws {
        let listener = try Listener()
        let result = await Self.tcp(try SocketAddress(ipAddress: "127.0.0.1", port: listener.port))
        #expect(result == .passed)
        let conn = try listener.accept()
        defer { close(conn) }
        var byte: UInt8 = 0
        var pfd = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 5000)
        let n = recv(conn, &byte, 1, 0)
        let err = errno
        #expect(n == -1 && err == ECONNRESET, "expected RST (ECONNRESET), got recv \(n) errno \(err)")
    }

    @Test("L4: a closed port is refused with the system's text")
    func layer4Refused() async throws {
        let port: Int
        do { port = try Listener().port }  // bound, then closed: nothing listens there now
        let result = await Self.tcp(try SocketAddress(ipAddress: "127.0.0.1", port: port))
        #expect(result == .refused("Connection refused"))
    }

    @Test("L4: a listener whose accept queue is full drops the SYN: the probe waits on the reactor and times out")
    func layer4TimeoutWhenSYNDropped() async throws {
        let listener = try Listener()
        #expect(listen(listener.fd, 0) == 0)  // queue of one: the next SYNs are dropped
        var fillers: [CInt] = []
        defer { for fd in fillers { close(fd) } }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(listener.port).bigEndian)
        for _ in 0..<3 {
            let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue), 0)
            fillers.append(fd)
            _ = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        usleep(50_000)  // let the fillers' handshakes land in (and overflow) the queue
        let result = await Self.tcp(try SocketAddress(ipAddress: "127.0.0.1", port: listener.port), timeoutMs: 300)
        #expect(result == .timeout)
    }

    @Test("L4: a UNIX socket server is checked on its socket")
    func layer4UnixSocket() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.sock").path
        let server = try await ServerBootstrap(group: Self.group).bind(unixDomainSocketPath: path).get()
        let up = await Self.tcp(try SocketAddress(unixDomainSocketPath: path))
        #expect(up == .passed)
        try await server.close()
        let down = await Self.tcp(try SocketAddress(unixDomainSocketPath: path))
        #expect(down != .passed)
    }

    @Test("L7: the status line of the answer, with the request sent as built")
    func layer7Status() async throws {
        let listener = try Listener()
        let seen = Locked("")
        let t = Self.serveOne(listener) { conn, head in
            seen.withLock { $0 = head }
            let answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
            _ = answer.withCString { send(conn, $0, strlen($0), 0) }
        }
        let result = try await Self.http(listener.port)
        #expect(result == .status(503, "HTTP/1.1 503 Service Unavailable"))
        while !t.isFinished { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(seen.withLock { $0 } == "GET /health HTTP/1.0\r\nConnection: close\r\n\r\n")
    }

    @Test("L7: a status line split across writes is reassembled")
    func layer7SplitStatusLine() async throws {
        let listener = try Listener()
        _ = Self.serveOne(listener) { conn, _ in
            for part in ["HT", "TP/1.0 2", "00 OK\r", "\nServer: x\r\n\r\n"] {
                _ = part.withCString { send(conn, $0, strlen($0), 0) }
                usleep(20_000)
            }
        }
        #expect(try await Self.http(listener.port) == .status(200, "HTTP/1.0 200 OK"))
    }

    @Test("L7: a non-HTTP answer, and EOF before any line, are invalid")
    func layer7Invalid() async throws {
        let garbage = try Listener()
        _ = Self.serveOne(garbage) { conn, _ in _ = "SSH-2.0-OpenSSH\r\n".withCString { send(conn, $0, strlen($0), 0) } }
        #expect(try await Self.http(garbage.port) == .invalid)
        let silent = try Listener()
        _ = Self.serveOne(silent) { _, _ in }
        #expect(try await Self.http(silent.port) == .invalid)
    }

    @Test("L7: a server that accepts and never answers is a read timeout")
    func layer7ReadTimeout() async throws {
        let listener = try Listener()
        let release = Locked(false)
        _ = Self.serveOne(listener) { _, _ in
            while !release.withLock({ $0 }) { usleep(10_000) }
        }
        #expect(try await Self.http(listener.port, readTimeoutMs: 200) == .readTimeout)
        release.withLock { $0 = true }
    }

    @Test("L7: a refused connect is an L4 failure")
    func layer7Refused() async throws {
        let port: Int
        do { port = try Listener().port }
        #expect(try await Self.http(port) == .refused("Connection refused"))
    }
}
