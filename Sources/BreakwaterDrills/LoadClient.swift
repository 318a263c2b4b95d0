#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// What a bounded load run saw.
public struct LoadResult: Sendable {
    public var statuses: [Int: Int] = [:]
    /// Connect or read failures (no HTTP status).
    public var failures = 0
    public var latenciesMs: [Double] = []

    public var total: Int { statuses.values.reduce(0, +) + failures }
    public func count(_ status: Int) -> Int { statuses[status] ?? 0 }
    public func percentile(_ p: Double) -> Double {
        guard !latenciesMs.isEmpty else { return 0 }
        let sorted = latenciesMs.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
    mutating func merge(_ o: LoadResult) {
        for (k, v) in o.statuses { statuses[k, default: 0] += v }
        failures += o.failures
        latenciesMs += o.latenciesMs
    }
}

/// Blocking HTTP/1.1 clients on their own threads: `clients` loops for `seconds`, each sending `GET path`
/// (keep-alive or one connection per request), optionally from a given loopback source address and with a
/// pause between requests. Bounded in time, count (`maxRequestsPerClient`) and memory.
public struct LoadClient: Sendable {
    public var port: Int
    public var path = "/"
    public var clients = 4
    public var seconds = 2.0
    public var keepAlive = true
    public var pauseMs = 0
    public var sourceAddresses: [String] = []
    public var maxRequestsPerClient = 100_000
    public var timeoutSeconds = 10

    public init(port: Int) { self.port = port }

    public func run() -> LoadResult {
        let results = Mutex<LoadResult>(LoadResult())
        let deadline = Date().addingTimeInterval(seconds)
        var threads: [Thread] = []
        for i in 0..<clients {
            let source = sourceAddresses.isEmpty ? nil : sourceAddresses[i % sourceAddresses.count]
            let t = Thread { [self] in
                let r = self.loop(source: source, deadline: deadline)
                results.withLock { $0.merge(r) }
            }
            t.stackSize = 256 << 10
            threads.append(t)
            t.start()
        }
        // Thread has no join: poll until every client has stopped (each stops at the deadline).
        while !threads.allSatisfy(\.isFinished) { usleep(20_000) }
        return results.withLock { $0 }
    }

    func loop(source: String?, deadline: Date) -> LoadResult {
        var r = LoadResult()
        var fd: Int32 = -1
        var sent = 0
        while Date() < deadline, sent < maxRequestsPerClient {
            if fd < 0 {
                fd = connect(source: source)
                if fd < 0 { r.failures += 1; usleep(10_000); continue }
            }
            let start = Date()
            let req = "GET \(path) HTTP/1.1\r\nHost: drill\r\n\(keepAlive ? "" : "Connection: close\r\n")\r\n"
            sent += 1
            guard writeAll(fd, req), let (status, close) = readResponse(fd) else {
                r.failures += 1
                Glibc.close(fd)
                fd = -1
                continue
            }
            r.statuses[status, default: 0] += 1
            r.latenciesMs.append(Date().timeIntervalSince(start) * 1000)
            if close || !keepAlive {
                Glibc.close(fd)
                fd = -1
            }
            if pauseMs > 0 { usleep(UInt32(pauseMs) * 1000) }
        }
        if fd >= 0 { Glibc.close(fd) }
        return r
    }

    func connect(source: String?) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let ok = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if ok != 0 { Glibc.close(fd); return -1 }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { Glibc.close(fd); return -1 }
        return fd
    }

    func writeAll(_ fd: Int32, _ s: String) -> Bool {
        let bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads one response (headers, then a Content-Length body); returns the status and whether it closes.
    func readResponse(_ fd: Int32) -> (Int, Bool)? {
        var buf = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buf += chunk[0..<n]
            if buf.count > 65536 { return nil }
            if let r = findHeaderEnd(buf) { headerEnd = r }
        }
        let head = String(decoding: buf[0..<headerEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let first = lines.first, first.split(separator: " ").count >= 2,
              let status = Int(first.split(separator: " ")[1]) else { return nil }
        var length = 0
        var close = false
        for l in lines.dropFirst() {
            let lower = l.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if lower.hasPrefix("connection:") && lower.contains("close") { close = true }
        }
        var have = buf.count - (headerEnd! + 4)
        while have < length {
            let n = recv(fd, &chunk, min(chunk.count, length - have), 0)
            if n <= 0 { return nil }
            have += n
        }
        return (status, close)
    }

    func findHeaderEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}
