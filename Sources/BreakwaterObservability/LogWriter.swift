import BreakwaterConfigModel
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends framed log messages to their targets from one background queue, so the event loops never
/// block on a slow terminal or a full socket buffer. The backlog is bounded: past it messages are
/// dropped and counted (`DroppedLogs` in `show info`).
public final class LogWriter: Sendable {
    public static let maxBacklog = 10_000

    private let queue = DispatchQueue(label: "breakwater.log-writer")
    private let pending = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let sockets: Mutex<[String: Int32]> = Mutex([:])

    public init() {}

    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// Queues a framed message for a destination. Never blocks.
    public func send(_ bytes: [UInt8], to destination: LogTarget.Destination) {
        if pending.add(1, ordering: .relaxed).newValue > Self.maxBacklog {
            pending.subtract(1, ordering: .relaxed)
            dropped.add(1, ordering: .relaxed)
            return
        }
        queue.async {
            self.deliver(bytes, destination)
            self.pending.subtract(1, ordering: .relaxed)
        }
    }

    /// Waits until everything queued so far is written (shutdown, tests).
    public func flush() {
        queue.sync {}
    }

    private func deliver(_ bytes: [UInt8], _ destination: LogTarget.Destination) {
        switch destination {
        case .stdout: writeAll(1, bytes)
        case .stderr: writeAll(2, bytes)
        case .udp(let host, let port): sendUDP(bytes, host: host, port: port)
        case .unixDatagram(let path): sendUnix(bytes, path: path)
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    private func socketFor(key: String, family: Int32) -> Int32 {
        sockets.withLock { table in
            if let fd = table[key] { return fd }
            #if canImport(Glibc)
            let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            #else
            let fd = socket(family, SOCK_DGRAM, 0)
            #endif
            if fd >= 0 { table[key] = fd }
            return fd
        }
    }

    private func sendUDP(_ bytes: [UInt8], host: String, port: Int) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return }
        defer { freeaddrinfo(result) }
        let fd = socketFor(key: "udp\(info.pointee.ai_family)", family: info.pointee.ai_family)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { raw in
            sendto(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), info.pointee.ai_addr, info.pointee.ai_addrlen)
        }
    }

    private func sendUnix(_ bytes: [UInt8], path: String) {
        let fd = socketFor(key: "unix", family: AF_UNIX)
        guard fd >= 0 else { return }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
            raw[pathBytes.count] = 0
        }
        _ = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { raw in
                    sendto(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), sa, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }
}
