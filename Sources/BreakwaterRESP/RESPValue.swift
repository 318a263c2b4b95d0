import NIOCore

/// A RESP2 value (https://redis.io/docs/reference/protocol-spec/).
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// `$-1` is `.bulkString(nil)`.
    case bulkString([UInt8]?)
    /// `*-1` is `.array(nil)`.
    case array([RESPValue]?)

    /// A bulk string's text (or a simple string's), for replies read as text.
    public var text: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    /// Encodes a command of binary arguments (a bulk string holds any bytes).
    public static func writeCommand(_ parts: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(parts.count)\r\n")
        for p in parts {
            buffer.writeString("$\(p.count)\r\n")
            buffer.writeBytes(p)
            buffer.writeString("\r\n")
        }
    }

    /// Encodes a command as RESP2 clients send it: an array of bulk strings.
    public static func writeCommand(_ parts: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(parts.count)\r\n")
        for p in parts {
            buffer.writeString("$\(p.utf8.count)\r\n")
            buffer.writeString(p)
            buffer.writeString("\r\n")
        }
    }
}

/// A protocol violation by the peer: the connection is closed (RESP has no resynchronisation).
public struct RESPProtocolError: Error, Equatable, CustomStringConvertible {
    public var description: String
}
