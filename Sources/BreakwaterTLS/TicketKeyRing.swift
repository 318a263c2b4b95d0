#if canImport(Glibc)
import Glibc
#endif
import CBreakwaterOpenSSL

/// Why a ticket-key file or a new key was refused (spec TLS-6, CLI-10).
public enum TicketKeyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String)
    case badBase64(path: String, line: Int)
    case wrongSize(path: String, line: Int)
    case tooFewKeys(path: String)

    public var description: String {
        switch self {
        case .unreadable(let p): return "'\(p)' : unable to load ssl tickets keys file"
        case .badBase64(let p, let n): return "'\(p)' : unable to decode base64 key on line \(n)"
        case .wrongSize(let p, let n): return "'\(p)' : wrong sized key on line \(n)"
        case .tooFewKeys(let p): return "'\(p)' : please supply at least \(TicketKeyRing.slots) keys in the tls-tickets-file"
        }
    }
}

/// The three-slot session-ticket key ring of one `tls-ticket-keys` file, with HAProxy 2.6 semantics:
/// slot .0 previous (decrypts), .1 current (encrypts new tickets), .2 next (decrypts) — TLS-7.
/// The keys live in C memory owned by the ring, behind a read-write lock taken by every handshake's
/// ticket callback (any event loop) and by `rotate` (admin socket). Keys overwritten by a rotation or
/// freed with the ring are wiped.
public final class TicketKeyRing: @unchecked Sendable {
    public static let slots = 3
    /// 48-byte keys: AES-128-CBC tickets; 80-byte keys: AES-256-CBC.
    public static let validKeySizes: Set<Int> = [48, 80]

    /// The path exactly as written on the bind line (`set ssl tls-key` looks it up verbatim).
    public let path: String
    /// `show tls-keys` id (reverse order of first appearance, CLI-9).
    public let id: Int
    public let keySize: Int
    let ring: OpaquePointer

    /// keys: previous, current, next.
    init(path: String, id: Int, keys: [SecretBytes]) {
        precondition(keys.count == Self.slots)
        let size = keys[0].count
        let joined = SecretBytes(count: size * Self.slots)
        joined.withUnsafeMutableBytes { dst in
            for (i, k) in keys.enumerated() {
                k.withUnsafeBytes { dst.baseAddress!.advanced(by: i * size).copyMemory(from: $0.baseAddress!, byteCount: size) }
            }
        }
        self.path = path
        self.id = id
        keySize = size
        ring = joined.withUnsafeBytes { bw_ticket_ring_new(Int32(size), $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }!
    }

    /// Loads `path` (TLS-6). Must not run on an event loop (file I/O).
    public convenience init(loading path: String, id: Int) throws(TicketKeyError) {
        let keys = try Self.readKeyFile(path)
        self.init(path: path, id: id, keys: keys)
    }

    deinit { bw_ticket_ring_free(ring) }

    /// `set ssl tls-key`: the new key replaces the previous one; current → previous, next → current,
    /// new → next (TLS-7). Safe while handshakes run on other threads.
    public func rotate(_ key: SecretBytes) throws(RotateError) {
        guard key.count == keySize else { throw .wrongSize }
        key.withUnsafeBytes { bw_ticket_ring_rotate(ring, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    public enum RotateError: Error, Equatable { case wrongSize }

    /// A copy of slot 0 (previous), 1 (current) or 2 (next); wiped when released.
    public func key(slot: Int) -> SecretBytes {
        precondition((0..<Self.slots).contains(slot))
        let out = SecretBytes(count: keySize)
        out.withUnsafeMutableBytes { bw_ticket_ring_copy_slot(ring, Int32(slot), $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        return out
    }

    /// Tickets encrypted, decrypted with the current key, decrypted with another slot (renewed),
    /// presented with an unknown key name.
    public var statistics: (encrypted: Int, resumedCurrent: Int, resumedOther: Int, unknown: Int) {
        var s: (UInt, UInt, UInt, UInt) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &s) { bw_ticket_ring_stats(ring, $0.baseAddress!.assumingMemoryBound(to: UInt.self)) }
        return (Int(s.0), Int(s.1), Int(s.2), Int(s.3))
    }

    /// Installs HAProxy's ticket construction on `ctx`, keyed by this ring (TLS-8).
    func install(on ctx: OpaquePointer) -> Bool {
        bw_ssl_ctx_use_ticket_ring(ctx, ring) == 1
    }

    // MARK: - File format (TLS-6)

    /// Parses a key file: one base64 key per line (`\n` or `\r\n`), all 48 or all 80 bytes, at least
    /// three lines; the last three are returned as previous, current, next.
    public static func readKeyFile(_ path: String) throws(TicketKeyError) -> [SecretBytes] {
        guard let contents = readSecretFile(path) else { throw .unreadable(path: path) }
        return try parseKeyFile(contents, path: path)
    }

    public static func parseKeyFile(_ contents: SecretBytes, path: String) throws(TicketKeyError) -> [SecretBytes] {
        var last: [SecretBytes?] = [nil, nil, nil]
        var size = 0
        var lines = 0
        let result: TicketKeyError? = contents.withUnsafeBytes { buf -> TicketKeyError? in
            var start = 0
            while start < buf.count {
                var end = start
                while end < buf.count && buf[end] != UInt8(ascii: "\n") { end += 1 }
                var stop = end
                if stop > start && buf[stop - 1] == UInt8(ascii: "\r") { stop -= 1 }
                lines += 1
                guard let key = Base64.decodeSecret(UnsafeRawBufferPointer(rebasing: buf[start..<stop])) else {
                    return .badBase64(path: path, line: lines)
                }
                if size == 0 {
                    guard validKeySizes.contains(key.count) else { return .wrongSize(path: path, line: lines) }
                    size = key.count
                } else if key.count != size {
                    return .wrongSize(path: path, line: lines)
                }
                last[(lines - 1) % slots] = key
                start = end + 1
            }
            return nil
        }
        if let result { throw result }
        guard lines >= slots else { throw .tooFewKeys(path: path) }
        // Line i went to slot i % 3 (HAProxy); the ring starts with the second-to-last line current.
        return (0..<slots).map { last[(lines - slots + $0) % slots]! }
    }

    /// Reads a whole (small) file into wiped-on-release memory; nil if it cannot be read.
    static func readSecretFile(_ path: String, limit: Int = 1 << 20) -> SecretBytes? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= limit else { return nil }
        let buffer = SecretBytes(count: Int(st.st_size))
        var got = 0
        let ok = buffer.withUnsafeMutableBytes { dst -> Bool in
            while got < dst.count {
                let n = read(fd, dst.baseAddress!.advanced(by: got), dst.count - got)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return n == 0 }
                got += n
            }
            return true
        }
        guard ok else { return nil }
        if got == buffer.count { return buffer }
        let shorter = SecretBytes(count: got)
        shorter.withUnsafeMutableBytes { dst in buffer.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<got])) } }
        return shorter
    }
}

/// Every ticket-key ring of the running configuration, with the admin-socket views (CLI-9, CLI-10).
public final class TicketKeyRegistry: Sendable {
    /// Sorted by id.
    public let rings: [TicketKeyRing]

    public init(rings: [TicketKeyRing]) {
        self.rings = rings.sorted { $0.id < $1.id }
    }

    /// Loads each distinct file in `paths` (order of first appearance in the configuration) and
    /// numbers them as HAProxy 2.6 does: the last distinct file gets 0.
    public static func load(paths: [String]) throws(TicketKeyError) -> TicketKeyRegistry {
        var distinct: [String] = []
        for p in paths where !distinct.contains(p) { distinct.append(p) }
        var rings: [TicketKeyRing] = []
        for (i, p) in distinct.enumerated() {
            rings.append(try TicketKeyRing(loading: p, id: distinct.count - 1 - i))
        }
        return TicketKeyRegistry(rings: rings)
    }

    public func ring(path: String) -> TicketKeyRing? { rings.first { $0.path == path } }

    /// `#<id>` (digits only) or the exact path.
    public func lookup(_ reference: String) -> TicketKeyRing? {
        if reference.hasPrefix("#") {
            let digits = reference.dropFirst()
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int(digits) else { return nil }
            return rings.first { $0.id == id }
        }
        return ring(path: reference)
    }

    /// `show tls-keys [#id|file|*]` output (without the CLI's final empty line).
    public func show(_ args: [String]) -> String {
        guard let ref = args.first else {
            return "# id (file)\n" + rings.map { "\($0.id) (\($0.path))\n" }.joined()
        }
        let selected: [TicketKeyRing]
        if ref == "*" {
            selected = rings
        } else if let r = lookup(ref) {
            selected = [r]
        } else {
            return "'show tls-keys' unable to locate referenced filename\n"
        }
        var out = "# id secret\n"
        for r in selected {
            out += "# \(r.id) (\(r.path))\n"
            for slot in 0..<TicketKeyRing.slots {
                out += "\(r.id).\(slot) \(r.key(slot: slot).base64())\n"
            }
        }
        return out
    }

    /// `set ssl tls-key <#id|file> <base64>` (CLI-10).
    public func set(_ args: [String]) -> String {
        guard args.count >= 2 else {
            return "'set ssl tls-key' expects a filename and the new TLS key in base64 encoding.\n"
        }
        guard let ring = lookup(args[0]) else { return "'set ssl tls-key' unable to locate referenced filename\n" }
        guard let key = Base64.decodeSecret(args[1]) else {
            return "'set ssl tls-key' received invalid base64 encoded TLS key.\n"
        }
        do {
            try ring.rotate(key)
        } catch {
            return "'set ssl tls-key' received a key of wrong size.\n"
        }
        return "TLS ticket key updated!\n"
    }
}
