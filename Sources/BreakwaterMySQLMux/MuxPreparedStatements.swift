import BreakwaterMySQLWire
import NIOCore

/// A statement a client prepared, under the id Breakwater gave it. Any backend connection can run it: one that
/// has not prepared its text yet prepares it first (ProxySQL's global statement id → per-connection id map).
struct MuxClientStatement: Sendable {
    var sql: String
    var parameterCount: Int
    /// The parameter types of the last COM_STMT_EXECUTE that sent them, for executes that do not repeat them.
    var parameterTypes: ByteBuffer?
}

/// What the mux reads in COM_STMT_EXECUTE (ids are mapped with `MySQLBinaryProtocol.replacingStatementID`).
enum MuxStatementPacket {
    /// Statements kept prepared per backend connection; beyond it the oldest is closed on the server.
    static let maxPerBackendConnection = 256

    /// COM_STMT_EXECUTE opening a cursor (flags byte non-zero): the cursor lives on the connection, so it pins.
    static func opensCursor(_ p: MySQLPacket) -> Bool {
        (p.payload.getInteger(at: p.payload.readerIndex + 5, as: UInt8.self) ?? 0) != 0
    }

    /// Remembers the parameter types a COM_STMT_EXECUTE sends (new-params-bound flag 1) and puts the remembered
    /// ones into an execute that omits them (flag 0), since the connection it runs on may never have seen them.
    static func executeWithTypes(_ p: MySQLPacket, statement: inout MuxClientStatement) -> MySQLPacket {
        let n = statement.parameterCount
        guard n > 0 else { return p }
        let base = p.payload.readerIndex
        let flagOffset = base + 10 + (n + 7) / 8
        guard let flag = p.payload.getInteger(at: flagOffset, as: UInt8.self) else { return p }
        if flag == 1 {
            statement.parameterTypes = p.payload.getSlice(at: flagOffset + 1, length: 2 * n)
            return p
        }
        guard var types = statement.parameterTypes else { return p }
        var out = ByteBufferAllocator().buffer(capacity: p.payload.readableBytes + 2 * n)
        var head = p.payload.getSlice(at: base, length: flagOffset - base)!
        var rest = p.payload.getSlice(at: flagOffset + 1, length: p.payload.writerIndex - flagOffset - 1)!
        out.writeBuffer(&head)
        out.writeInteger(UInt8(1))
        out.writeBuffer(&types)
        out.writeBuffer(&rest)
        return MySQLPacket(sequenceID: p.sequenceID, payload: out)
    }
}
