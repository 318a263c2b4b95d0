#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// TIME_WAIT sockets from /proc/net/tcp and tcp6 (state 06) on a link to one of `ports` (either end: the
/// side that closes first keeps the TIME_WAIT).
enum TimeWait {
    static func count(ports: Set<Int>) -> Int {
        var n = 0
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count > 3, f[3] == "06" else { continue }
                let endPorts = [f[1], f[2]].compactMap { addr -> Int? in
                    guard let colon = addr.lastIndex(of: ":") else { return nil }
                    return Int(addr[addr.index(after: colon)...], radix: 16)
                }
                if endPorts.contains(where: ports.contains) { n += 1 }
            }
        }
        return n
    }
}

/// Polls `/__drill_stats;csv` every 200 ms and keeps the most servers of `backend` seen DOWN at once.
final class DownSampler: @unchecked Sendable {
    let port: Int
    let backend: String
    let maxDown = Mutex<Int>(0)
    let running = Mutex<Bool>(true)
    var thread: Thread?

    init(port: Int, backend: String) {
        self.port = port
        self.backend = backend
    }

    func start() {
        let t = Thread { [self] in
            while running.withLock({ $0 }) {
                if let csv = Self.fetch(port: port, path: "/__drill_stats;csv") {
                    let down = csv.split(separator: "\n").filter { line in
                        let f = line.split(separator: ",", omittingEmptySubsequences: false)
                        return f.count > 17 && f[0] == backend && f[1] != "BACKEND" && f[17].hasPrefix("DOWN")
                    }.count
                    maxDown.withLock { $0 = max($0, down) }
                }
                usleep(200_000)
            }
        }
        thread = t
        t.start()
    }

    func stop() -> Int {
        running.withLock { $0 = false }
        while let t = thread, !t.isFinished { usleep(20_000) }
        return maxDown.withLock { $0 }
    }

    /// One `GET` on a fresh connection, the body read to EOF (the request asks for close).
    static func fetch(port: Int, path: String) -> String? {
        var c = LoadClient(port: port)
        c.timeoutSeconds = 2
        let fd = c.connect(source: nil)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard c.writeAll(fd, "GET \(path) HTTP/1.1\r\nHost: drill\r\nConnection: close\r\n\r\n") else { return nil }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16384)
        while data.count < 4 << 20 {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let r = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[r.upperBound...])
    }
}
