/// What went wrong on the wire, in words a log reader can act on.
public enum MySQLWireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field ran past the end of its packet.
    case truncated(String)
    /// A field or packet broke the protocol's rules.
    case malformed(String)
    /// A message larger than the configured limit.
    case packetTooLarge(size: Int, limit: Int)
    /// Something the peer asked for that Breakwater does not speak (compression, LOCAL INFILE…).
    case unsupported(String)
    /// The connection ended before the exchange finished.
    case connectionClosed(String)
    /// The peer answered with an ERR packet.
    case server(MySQLErrorPacket)

    public var description: String {
        switch self {
        case .truncated(let what): "MySQL protocol error: packet ended inside a \(what)"
        case .malformed(let what): "MySQL protocol error: \(what)"
        case .packetTooLarge(let size, let limit):
            "MySQL protocol error: a \(size)-byte message exceeds the \(limit)-byte limit"
        case .unsupported(let what): "MySQL protocol feature not supported by Breakwater: \(what)"
        case .connectionClosed(let when): "MySQL connection closed \(when)"
        case .server(let err): "MySQL server error \(err.code) (\(err.sqlState)): \(err.message)"
        }
    }
}
