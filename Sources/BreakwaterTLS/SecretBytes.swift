import CBreakwaterOpenSSL

/// Key material on the heap, wiped when released. Never printed: `description` hides the bytes.
///
/// Immutable after construction except through `withUnsafeMutableBytes` during construction by this
/// module, so it may be shared across threads.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    let storage: UnsafeMutableRawBufferPointer
    public let count: Int

    init(count: Int) {
        self.count = count
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Copies `bytes` (the caller is responsible for wiping its own copy).
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if bytes.count > 0 { storage.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
    }

    /// `count` bytes from the kernel CSPRNG (getrandom(2) through OpenSSL's DRBG seeded by it).
    public static func random(count: Int) -> SecretBytes? {
        let s = SecretBytes(count: count)
        guard RAND_priv_bytes(s.storage.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) == 1 else { return nil }
        return s
    }

    deinit {
        bw_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// True when every byte is zero (tests of wiping use a copy through this).
    public var isAllZero: Bool { withUnsafeBytes { $0.allSatisfy { $0 == 0 } } }

    public var description: String { "SecretBytes(\(count) bytes)" }

    /// Standard base64 of the bytes (for `show tls-keys` and key files only).
    public func base64() -> String { withUnsafeBytes { Base64.encode($0) } }
}

/// Strict standard base64 (RFC 4648 §4) as HAProxy's `base64dec`: length a multiple of 4, `=` only as
/// final padding, no whitespace.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }

    /// Decodes into wiped-on-release storage; nil when the text is not valid base64.
    public static func decodeSecret(_ text: UnsafeRawBufferPointer) -> SecretBytes? {
        guard text.count % 4 == 0 else { return nil }
        var padding = 0
        if text.count >= 4 {
            if text[text.count - 1] == UInt8(ascii: "=") { padding += 1 }
            if text[text.count - 2] == UInt8(ascii: "=") { padding += 1 }
        }
        let size = text.count / 4 * 3 - padding
        let out = SecretBytes(count: size)
        let ok = out.withUnsafeMutableBytes { dst -> Bool in
            var o = 0
            var i = 0
            while i < text.count {
                let last = i + 4 == text.count
                var quad: UInt32 = 0
                for j in 0..<4 {
                    let c = text[i + j]
                    if c == UInt8(ascii: "=") {
                        guard last && j >= 4 - padding else { return false }
                        quad <<= 6
                    } else {
                        guard let v = value(c), !(last && j >= 4 - padding) else { return false }
                        quad = quad << 6 | UInt32(v)
                    }
                }
                let produced = last ? 3 - padding : 3
                if produced > 0 { dst[o] = UInt8(quad >> 16 & 0xFF) }
                if produced > 1 { dst[o + 1] = UInt8(quad >> 8 & 0xFF) }
                if produced > 2 { dst[o + 2] = UInt8(quad & 0xFF) }
                o += produced
                quad = 0
                i += 4
            }
            return o == size
        }
        return ok ? out : nil
    }

    public static func decodeSecret(_ text: String) -> SecretBytes? {
        var copy = text
        return copy.withUTF8 { decodeSecret(UnsafeRawBufferPointer($0)) }
    }
}

/// Where key files may live.
public enum KeyFileSystem {
    public static let tmpfsMagic = 0x0102_1994
    public static let ramfsMagic = 0x8584_58F6

    /// statfs(2) type of the filesystem holding `path`, nil if it cannot be examined.
    public static func type(of path: String) -> Int? {
        let t = bw_statfs_type(path)
        return t < 0 ? nil : t
    }

    /// True for tmpfs/ramfs (memory only: keys never reach a disk).
    public static func isMemoryBacked(_ path: String) -> Bool {
        guard let t = type(of: path) else { return false }
        return t == tmpfsMagic || t == ramfsMagic
    }

    /// Overwrites a buffer with zeros in a way the optimiser keeps.
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        bw_cleanse(buffer.baseAddress, buffer.count)
    }
}
