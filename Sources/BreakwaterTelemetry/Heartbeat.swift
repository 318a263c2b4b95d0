/// One field value of a heartbeat: the API accepts numbers and booleans only.
public enum FieldValue: Sendable, Equatable {
    case number(Double)
    case bool(Bool)

    /// The value as SQLite/MySQL store it (booleans as 0/1).
    public var numeric: Double {
        switch self {
        case .number(let d): return d
        case .bool(let b): return b ? 1 : 0
        }
    }
}

/// One accepted heartbeat record: `{"machine_id": ..., "ts": ..., "fields": {...}}`.
public struct Heartbeat: Sendable, Equatable {
    public var machineID: String
    /// Milliseconds since the Unix epoch (UTC).
    public var tsMillis: Int64
    public var fields: [(name: String, value: FieldValue)]

    public init(machineID: String, tsMillis: Int64, fields: [(name: String, value: FieldValue)]) {
        self.machineID = machineID
        self.tsMillis = tsMillis
        self.fields = fields
    }

    public static func == (a: Heartbeat, b: Heartbeat) -> Bool {
        a.machineID == b.machineID && a.tsMillis == b.tsMillis && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// The log's payload encoding of a heartbeat (little-endian):
/// `i64 ts | u16 keyLen | key | u16 fieldCount | { u8 nameLen | name | u8 kind (0 number, 1 bool) | f64 or u8 }`.
enum HeartbeatCodec {
    static func encode(_ h: Heartbeat, into out: inout [UInt8]) {
        appendInteger(UInt64(bitPattern: h.tsMillis), into: &out)
        let key = Array(h.machineID.utf8)
        appendInteger(UInt16(key.count), into: &out)
        out += key
        appendInteger(UInt16(h.fields.count), into: &out)
        for f in h.fields {
            let name = Array(f.name.utf8)
            out.append(UInt8(name.count))
            out += name
            switch f.value {
            case .number(let d):
                out.append(0)
                appendInteger(d.bitPattern, into: &out)
            case .bool(let b):
                out.append(1)
                out.append(b ? 1 : 0)
            }
        }
    }

    /// Decodes one payload; nil when it is not a well-formed heartbeat (the frame's CRC passed, so this is a bug or
    /// a log written by another program).
    static func decode(_ bytes: ArraySlice<UInt8>) -> Heartbeat? {
        var r = ByteReader(bytes: bytes)
        guard let ts = r.integer(UInt64.self), let keyLen = r.integer(UInt16.self),
              let key = r.string(Int(keyLen)), let count = r.integer(UInt16.self)
        else { return nil }
        var fields: [(name: String, value: FieldValue)] = []
        fields.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let nameLen = r.byte(), let name = r.string(Int(nameLen)), let kind = r.byte() else { return nil }
            switch kind {
            case 0:
                guard let bits = r.integer(UInt64.self) else { return nil }
                fields.append((name, .number(Double(bitPattern: bits))))
            case 1:
                guard let b = r.byte() else { return nil }
                fields.append((name, .bool(b != 0)))
            default:
                return nil
            }
        }
        guard r.isAtEnd else { return nil }
        return Heartbeat(machineID: key, tsMillis: Int64(bitPattern: ts), fields: fields)
    }
}

func appendInteger<T: FixedWidthInteger>(_ v: T, into out: inout [UInt8]) {
    var le = v.littleEndian
    withUnsafeBytes(of: &le) { out.append(contentsOf: $0) }
}

/// Bounds-checked little-endian reads over a byte slice.
struct ByteReader {
    var bytes: ArraySlice<UInt8>

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8? { bytes.popFirst() }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        let n = MemoryLayout<T>.size
        guard bytes.count >= n else { return nil }
        var v: T = 0
        for (i, b) in bytes.prefix(n).enumerated() { v |= T(b) << (8 * i) }
        bytes = bytes.dropFirst(n)
        return v
    }

    mutating func string(_ n: Int) -> String? {
        guard bytes.count >= n else { return nil }
        let s = String(decoding: bytes.prefix(n), as: UTF8.self)
        bytes = bytes.dropFirst(n)
        return s
    }
}
