import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Free-port finder and small socket helpers on 127.0.0.1.
enum Ports {
    /// Binds 127.0.0.1:0, reads the port the kernel chose, closes. Racy by nature but good enough on
    /// loopback; each test asks for its own port.
    static func free() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket() failed")
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        precondition(rc == 0, "bind() failed: \(errno)")
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True if a TCP connect to 127.0.0.1:port succeeds right now.
    static func accepts(_ port: Int) -> Bool {
        guard let fd = connectedSocket(port) else { return false }
        close(fd)
        return true
    }

    /// A blocking TCP socket connected to 127.0.0.1:port (the caller closes it), or nil.
    static func connectedSocket(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc == 0 { return fd }
        close(fd)
        return nil
    }
}

/// A tiny lock-protected box (the target has no NIOConcurrencyHelpers dependency).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    var current: Value { withLock { $0 } }
}

/// Monotonic milliseconds.
func nowMs() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
@discardableResult
func waitUntil(timeout: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = nowMs() + timeout * 1000
    while nowMs() < deadline {
        if condition() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return condition()
}

/// 64-bit FNV-1a, streaming; used to compare large bodies without keeping them.
struct FNV1a: Sendable, Equatable {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func update(_ p: UnsafeRawBufferPointer) {
        guard let base = p.baseAddress else { return }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var h = hash
        var i = 0
        let n = p.count
        while i < n {
            h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01b3
            i += 1
        }
        hash = h
    }
    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }
}

/// Deterministic payload made of 64 KiB blocks: a fixed pseudo-random block with the block's index
/// stamped into its first 8 bytes, so reordering or duplication changes the hash.
enum Payload {
    static let blockSize = 64 * 1024
    static let base: [UInt8] = {
        var out = [UInt8](repeating: 0, count: blockSize)
        var x: UInt64 = 0x1234_5678_9abc_def1
        for k in 0..<blockSize {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            out[k] = UInt8(truncatingIfNeeded: x)
        }
        return out
    }()
    static func block(_ index: Int) -> [UInt8] {
        var b = base
        var i = UInt64(index)
        for k in 0..<8 { b[k] = UInt8(truncatingIfNeeded: i); i >>= 8 }
        return b
    }
    /// Hash of the first `total` bytes of the stream (`total` a multiple of the block size).
    static func hash(total: Int) -> FNV1a {
        var h = FNV1a()
        for i in 0..<(total / blockSize) { h.update(block(i)) }
        return h
    }
}
