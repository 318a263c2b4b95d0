import NIOCore

/// OK: a statement finished without a result set.
public struct MySQLOKPacket: Sendable, Equatable {
    public var affectedRows: UInt64
    public var lastInsertID: UInt64
    public var status: MySQLServerStatus
    public var warnings: UInt16
    public var info: String

    public init(
        affectedRows: UInt64 = 0, lastInsertID: UInt64 = 0, status: MySQLServerStatus = .autocommit,
        warnings: UInt16 = 0, info: String = ""
    ) {
        self.affectedRows = affectedRows
        self.lastInsertID = lastInsertID
        self.status = status
        self.warnings = warnings
        self.info = info
    }

    /// Decodes an OK (0x00) or an OK-as-EOF (0xFE) payload.
    public init(payload: ByteBuffer, capabilities: MySQLCapabilities) throws(MySQLWireError) {
        var buf = payload
        guard let header = buf.readInteger(as: UInt8.self), header == 0x00 || header == 0xfe else {
            throw .malformed("expected an OK packet")
        }
        guard let affected = try buf.readMySQLLengthEncodedInteger(),
            let insertID = try buf.readMySQLLengthEncodedInteger()
        else { throw .malformed("NULL in an OK packet") }
        affectedRows = affected
        lastInsertID = insertID
        status = MySQLServerStatus(rawValue: buf.readInteger(endianness: .little, as: UInt16.self) ?? 0)
        warnings = buf.readInteger(endianness: .little, as: UInt16.self) ?? 0
        if capabilities.contains(.sessionTrack), buf.readableBytes > 0 {
            info = (try? buf.readMySQLLengthEncodedString()) ?? ""
        } else {
            info = buf.readString(length: buf.readableBytes) ?? ""
        }
    }

    public func encode(header: UInt8 = 0x00, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 16 + info.utf8.count)
        buf.writeInteger(header)
        buf.writeMySQLLengthEncodedInteger(affectedRows)
        buf.writeMySQLLengthEncodedInteger(lastInsertID)
        buf.writeInteger(status.rawValue, endianness: .little)
        buf.writeInteger(warnings, endianness: .little)
        buf.writeString(info)
        return buf
    }
}

/// ERR: an error code, its SQLSTATE and a message.
public struct MySQLErrorPacket: Sendable, Equatable, Error, CustomStringConvertible {
    public var code: UInt16
    public var sqlState: String
    public var message: String

    public init(code: UInt16, sqlState: String = "HY000", message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        guard buf.readInteger(as: UInt8.self) == 0xff else { throw .malformed("expected an ERR packet") }
        guard let code = buf.readInteger(endianness: .little, as: UInt16.self) else {
            throw .truncated("error code")
        }
        self.code = code
        if buf.getInteger(at: buf.readerIndex, as: UInt8.self) == UInt8(ascii: "#"), buf.readableBytes >= 6 {
            buf.moveReaderIndex(forwardBy: 1)
            sqlState = buf.readString(length: 5) ?? "HY000"
        } else {
            sqlState = "HY000"
        }
        message = buf.readString(length: buf.readableBytes) ?? ""
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 9 + message.utf8.count)
        buf.writeInteger(UInt8(0xff))
        buf.writeInteger(code, endianness: .little)
        buf.writeString("#")
        buf.writeString(String((sqlState + "HY000").prefix(5)))
        buf.writeString(message)
        return buf
    }

    public var description: String { "ERROR \(code) (\(sqlState)): \(message)" }
}

/// EOF: the end of column definitions or rows when CLIENT_DEPRECATE_EOF is off.
public struct MySQLEOFPacket: Sendable, Equatable {
    public var warnings: UInt16
    public var status: MySQLServerStatus

    public init(warnings: UInt16 = 0, status: MySQLServerStatus = .autocommit) {
        self.warnings = warnings
        self.status = status
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        guard buf.readInteger(as: UInt8.self) == 0xfe else { throw .malformed("expected an EOF packet") }
        warnings = buf.readInteger(endianness: .little, as: UInt16.self) ?? 0
        status = MySQLServerStatus(rawValue: buf.readInteger(endianness: .little, as: UInt16.self) ?? 0)
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 5)
        buf.writeInteger(UInt8(0xfe))
        buf.writeInteger(warnings, endianness: .little)
        buf.writeInteger(status.rawValue, endianness: .little)
        return buf
    }
}

/// The server status at the end of a response, whichever packet ended it.
public enum MySQLResponseEnd {
    public static func status(of packet: MySQLPacket, capabilities: MySQLCapabilities) -> MySQLServerStatus? {
        if packet.isOK || (packet.isEOF && capabilities.contains(.deprecateEOF)) {
            return try? MySQLOKPacket(payload: packet.payload, capabilities: capabilities).status
        }
        if packet.isEOF { return try? MySQLEOFPacket(payload: packet.payload).status }
        return nil
    }
}
