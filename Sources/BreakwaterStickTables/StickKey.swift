#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BreakwaterConfigModel

/// A key sample as produced by a tracking fetch (`src`, `hdr(X)` …), before conversion to the
/// table's key type.
public enum StickKey: Sendable, Hashable {
    /// An IPv4 address, numeric (host order): 127.0.0.1 = 0x7F00_0001.
    case ipv4(UInt32)
    /// An IPv6 address as its 16 network-order bytes split in two big-endian halves.
    case ipv6(hi: UInt64, lo: UInt64)
    case integer(Int64)
    case string(String)
    case binary([UInt8])

    /// An address from its network-order bytes (4 or 16); nil for any other length.
    public static func address(bytes: some Collection<UInt8>) -> StickKey? {
        let b = Array(bytes)
        switch b.count {
        case 4:
            return .ipv4(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
        case 16:
            var hi: UInt64 = 0, lo: UInt64 = 0
            for i in 0..<8 { hi = hi << 8 | UInt64(b[i]) }
            for i in 8..<16 { lo = lo << 8 | UInt64(b[i]) }
            return .ipv6(hi: hi, lo: lo)
        default:
            return nil
        }
    }

    /// Parses a textual IPv4 or IPv6 address (no port, no brackets).
    public static func address(_ text: String) -> StickKey? {
        if let v4 = parseIPv4(text) { return .ipv4(v4) }
        if let v6 = parseIPv6(text) { return .address(bytes: v6) }
        return nil
    }
}

// MARK: - Address text helpers

func parseIPv4(_ text: String) -> UInt32? {
    var addr = in_addr()
    guard inet_pton(AF_INET, text, &addr) == 1 else { return nil }
    return UInt32(bigEndian: addr.s_addr)
}

func parseIPv6(_ text: String) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: 16)
    let ok = bytes.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) }
    return ok == 1 ? bytes : nil
}

func formatIPv4(_ bytes: UnsafeRawBufferPointer) -> String {
    "\(bytes[0]).\(bytes[1]).\(bytes[2]).\(bytes[3])"
}

/// inet_ntop(AF_INET6) as HAProxy prints it (`::ffff:127.0.0.1` for mapped addresses).
func formatIPv6(_ bytes: UnsafeRawBufferPointer) -> String {
    var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    let text: String? = out.withUnsafeMutableBufferPointer { buf in
        guard inet_ntop(AF_INET6, bytes.baseAddress, buf.baseAddress, socklen_t(buf.count)) != nil else { return nil }
        return String(cString: buf.baseAddress!)
    }
    return text ?? "::"
}

// MARK: - Key encoding

/// How a table stores keys: a fixed number of 32-bit words holding the key's bytes in memory
/// order (so a byte-wise comparison is HAProxy's `memcmp` order used by `show table`).
struct KeyCodec: Sendable {
    let type: StickTableConfig.KeyType
    /// Key bytes stored (4, 16, 4, len, len).
    let byteCount: Int
    let words: Int

    init(_ type: StickTableConfig.KeyType) {
        self.type = type
        switch type {
        case .ip: byteCount = 4
        case .ipv6: byteCount = 16
        case .integer: byteCount = 4
        case .string(let len), .binary(let len): byteCount = max(1, len)
        }
        words = (byteCount + 3) / 4
    }

    /// Converts a sample to this table's key bytes; nil when it cannot be converted (not tracked).
    func encode(_ key: StickKey) -> [UInt8]? {
        switch (type, key) {
        case (.ip, .ipv4(let v)):
            return be32(v)
        case (.ip, .ipv6(let hi, let lo)):
            // Only IPv4-mapped addresses (::ffff:a.b.c.d) convert.
            guard hi == 0, lo >> 32 == 0xFFFF else { return nil }
            return be32(UInt32(truncatingIfNeeded: lo))
        case (.ip, .string(let s)):
            guard let v = parseIPv4(s) else { return nil }
            return be32(v)
        case (.ipv6, .ipv4(let v)):
            return be64(0) + be64(0xFFFF_0000_0000 | UInt64(v))
        case (.ipv6, .ipv6(let hi, let lo)):
            return be64(hi) + be64(lo)
        case (.ipv6, .string(let s)):
            guard let k = StickKey.address(s) else { return nil }
            return encode(k)
        case (.integer, .integer(let v)):
            return le32(UInt32(truncatingIfNeeded: v))
        case (.integer, .string(let s)):
            guard let v = Int64(s) else { return nil }
            return le32(UInt32(truncatingIfNeeded: v))
        case (.integer, .ipv4(let v)):
            return le32(v)
        case (.string, _):
            let bytes: [UInt8]
            switch key {
            case .string(let s): bytes = Array(s.utf8)
            case .integer(let v): bytes = Array(String(v).utf8)
            case .ipv4(let v): bytes = Array(ipv4Text(v).utf8)
            case .ipv6(let hi, let lo):
                let raw = be64(hi) + be64(lo)
                bytes = Array(raw.withUnsafeBytes { formatIPv6($0) }.utf8)
            case .binary(let b): bytes = b
            }
            return padded(bytes)
        case (.binary, .binary(let b)):
            return padded(b)
        case (.binary, .string(let s)):
            return padded(Array(s.utf8))
        case (.binary, .ipv4(let v)):
            return padded(be32(v))
        case (.binary, .ipv6(let hi, let lo)):
            return padded(be64(hi) + be64(lo))
        case (.binary, .integer(let v)):
            return padded(le64(UInt64(bitPattern: v)))
        default:
            return nil
        }
    }

    /// Parses a key typed on the CLI (`show table t key K`); nil if it does not parse.
    func parseCLI(_ text: String) -> [UInt8]? {
        switch type {
        case .ip:
            guard let v = parseIPv4(text) else { return nil }
            return be32(v)
        case .ipv6:
            guard let b = parseIPv6(text) else { return nil }
            return b
        case .integer:
            // strtoul base 10, at most 32 bits.
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = UInt64(text),
                  v <= UInt64(UInt32.max) else { return nil }
            return le32(UInt32(v))
        case .string:
            return padded(Array(text.utf8))
        case .binary:
            return nil
        }
    }

    /// The text after `key=` in `show table` (inet_ntop, `%u`, dump_text, dump_binary).
    func format(_ bytes: UnsafeRawBufferPointer) -> String {
        switch type {
        case .ip:
            return formatIPv4(bytes)
        case .ipv6:
            return formatIPv6(bytes)
        case .integer:
            let v = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
            return String(v)
        case .string:
            return dumpText(bytes)
        case .binary:
            let hex: [Character] = Array("0123456789ABCDEF")
            var s = ""
            s.reserveCapacity(bytes.count * 2)
            for b in bytes {
                s.append(hex[Int(b >> 4)])
                s.append(hex[Int(b & 0xF)])
            }
            return s
        }
    }

    private func padded(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count >= byteCount { return Array(bytes.prefix(byteCount)) }
        return bytes + [UInt8](repeating: 0, count: byteCount - bytes.count)
    }
}

@inline(__always) func be32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
}

@inline(__always) func le32(_ v: UInt32) -> [UInt8] {
    [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v >> 16), UInt8(v >> 24)]
}

func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

func ipv4Text(_ v: UInt32) -> String { "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)" }

/// HAProxy's dump_text(): stops at NUL; escapes space, `=`, `\`, \t \n \r \e; other non-printables as \xHH.
func dumpText(_ bytes: UnsafeRawBufferPointer) -> String {
    let hex: [Character] = Array("0123456789ABCDEF")
    var out = ""
    for c in bytes {
        if c == 0 { break }
        switch c {
        case 0x20: out += "\\ "
        case 0x3D: out += "\\="
        case 0x5C: out += "\\\\"
        case 0x09: out += "\\t"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x1B: out += "\\e"
        case 0x21...0x7E: out.append(Character(Unicode.Scalar(c)))
        default:
            out += "\\x"
            out.append(hex[Int(c >> 4)])
            out.append(hex[Int(c & 0xF)])
        }
    }
    return out
}
