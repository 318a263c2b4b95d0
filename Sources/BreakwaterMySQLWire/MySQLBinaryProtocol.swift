import NIOCore

/// The parts of the binary (prepared statement) protocol Breakwater builds or reads itself.
public enum MySQLBinaryProtocol {
    /// COM_STMT_EXECUTE with no cursor, one iteration, every parameter typed VAR_STRING.
    public static func executePayload(statementID: UInt32, parameters: [String?]) -> ByteBuffer {
        var buf = ByteBufferAllocator().buffer(capacity: 16 + parameters.count * 8)
        buf.writeInteger(MySQLCommand.statementExecute.rawValue)
        buf.writeInteger(statementID, endianness: .little)
        buf.writeInteger(UInt8(0))  // flags: CURSOR_TYPE_NO_CURSOR
        buf.writeInteger(UInt32(1), endianness: .little)  // iteration count
        guard !parameters.isEmpty else { return buf }
        var bitmap = [UInt8](repeating: 0, count: (parameters.count + 7) / 8)
        for (i, p) in parameters.enumerated() where p == nil { bitmap[i / 8] |= 1 << (i % 8) }
        buf.writeBytes(bitmap)
        buf.writeInteger(UInt8(1))  // new-params-bound flag
        for _ in parameters {
            buf.writeInteger(MySQLColumnType.varString.rawValue)
            buf.writeInteger(UInt8(0))
        }
        for case let p? in parameters { buf.writeMySQLLengthEncodedString(p) }
        return buf
    }

    /// The statement id of a COM_STMT_EXECUTE/CLOSE/RESET/SEND_LONG_DATA payload (bytes 1–4).
    public static func statementID(of payload: ByteBuffer) -> UInt32? {
        payload.getInteger(at: payload.readerIndex + 1, endianness: .little, as: UInt32.self)
    }

    /// A copy of `payload` with its statement id replaced (the mux maps client ids to backend ids).
    public static func replacingStatementID(in payload: ByteBuffer, with id: UInt32) -> ByteBuffer {
        var copy = payload
        copy.setInteger(id, at: copy.readerIndex + 1, endianness: .little)
        return copy
    }

    /// Reads a binary row's string-like columns (every column the test tables use is a string or NULL).
    public static func decodeStringRow(payload: ByteBuffer, columnCount: Int) throws(MySQLWireError) -> [String?] {
        var buf = payload
        guard buf.readInteger(as: UInt8.self) == 0x00 else { throw .malformed("binary row without its 0x00 header") }
        guard let bitmap = buf.readBytes(length: (columnCount + 9) / 8) else { throw .truncated("NULL bitmap") }
        var values: [String?] = []
        for i in 0..<columnCount {
            let bit = i + 2
            if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
                values.append(nil)
            } else {
                values.append(try buf.readMySQLLengthEncodedString())
            }
        }
        return values
    }
}
