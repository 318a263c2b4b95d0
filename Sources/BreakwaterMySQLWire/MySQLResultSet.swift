import NIOCore

/// Protocol::ColumnDefinition41.
public struct MySQLColumnDefinition: Sendable, Equatable {
    public var schema: String
    public var table: String
    public var originalTable: String
    public var name: String
    public var originalName: String
    public var characterSet: UInt16
    public var columnLength: UInt32
    public var type: UInt8
    public var flags: UInt16
    public var decimals: UInt8

    public init(
        name: String, type: MySQLColumnType = .varString, schema: String = "", table: String = "",
        characterSet: UInt16 = UInt16(MySQLCharset.utf8mb4GeneralCI), columnLength: UInt32 = 1024,
        flags: UInt16 = 0, decimals: UInt8 = 0
    ) {
        self.schema = schema
        self.table = table
        self.originalTable = table
        self.name = name
        self.originalName = name
        self.characterSet = characterSet
        self.columnLength = columnLength
        self.type = type.rawValue
        self.flags = flags
        self.decimals = decimals
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        _ = try buf.readMySQLLengthEncodedString()  // catalog, always "def"
        schema = try buf.readMySQLLengthEncodedString() ?? ""
        table = try buf.readMySQLLengthEncodedString() ?? ""
        originalTable = try buf.readMySQLLengthEncodedString() ?? ""
        name = try buf.readMySQLLengthEncodedString() ?? ""
        originalName = try buf.readMySQLLengthEncodedString() ?? ""
        _ = try buf.readMySQLLengthEncodedInteger()  // length of the fixed fields, 0x0c
        guard let charset = buf.readInteger(endianness: .little, as: UInt16.self),
            let length = buf.readInteger(endianness: .little, as: UInt32.self),
            let type = buf.readInteger(as: UInt8.self),
            let flags = buf.readInteger(endianness: .little, as: UInt16.self),
            let decimals = buf.readInteger(as: UInt8.self)
        else { throw .truncated("column definition") }
        characterSet = charset
        columnLength = length
        self.type = type
        self.flags = flags
        self.decimals = decimals
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 32 + name.utf8.count * 2)
        buf.writeMySQLLengthEncodedString("def")
        buf.writeMySQLLengthEncodedString(schema)
        buf.writeMySQLLengthEncodedString(table)
        buf.writeMySQLLengthEncodedString(originalTable)
        buf.writeMySQLLengthEncodedString(name)
        buf.writeMySQLLengthEncodedString(originalName)
        buf.writeMySQLLengthEncodedInteger(0x0c)
        buf.writeInteger(characterSet, endianness: .little)
        buf.writeInteger(columnLength, endianness: .little)
        buf.writeInteger(type)
        buf.writeInteger(flags, endianness: .little)
        buf.writeInteger(decimals)
        buf.writeInteger(UInt16(0))
        return buf
    }
}

/// A text-protocol row: each value a length-encoded string, 0xFB for NULL.
public enum MySQLTextRow {
    public static func decode(payload: ByteBuffer, columnCount: Int) throws(MySQLWireError) -> [String?] {
        var buf = payload
        var values: [String?] = []
        values.reserveCapacity(columnCount)
        for _ in 0..<columnCount { values.append(try buf.readMySQLLengthEncodedString()) }
        guard buf.readableBytes == 0 else { throw .malformed("row has bytes after its \(columnCount) columns") }
        return values
    }

    public static func encode(_ values: [String?], allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: values.reduce(0) { $0 + ($1?.utf8.count ?? 0) + 2 })
        for v in values { buf.writeMySQLLengthEncodedString(v) }
        return buf
    }
}

/// COM_STMT_PREPARE's OK answer: the statement id and how many parameter and column definitions follow.
public struct MySQLPrepareOK: Sendable, Equatable {
    public var statementID: UInt32
    public var columnCount: UInt16
    public var parameterCount: UInt16
    public var warnings: UInt16

    public init(statementID: UInt32, columnCount: UInt16, parameterCount: UInt16, warnings: UInt16 = 0) {
        self.statementID = statementID
        self.columnCount = columnCount
        self.parameterCount = parameterCount
        self.warnings = warnings
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        guard buf.readInteger(as: UInt8.self) == 0x00,
            let id = buf.readInteger(endianness: .little, as: UInt32.self),
            let columns = buf.readInteger(endianness: .little, as: UInt16.self),
            let params = buf.readInteger(endianness: .little, as: UInt16.self)
        else { throw .truncated("COM_STMT_PREPARE OK") }
        _ = buf.readInteger(as: UInt8.self)
        statementID = id
        columnCount = columns
        parameterCount = params
        warnings = buf.readInteger(endianness: .little, as: UInt16.self) ?? 0
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 12)
        buf.writeInteger(UInt8(0))
        buf.writeInteger(statementID, endianness: .little)
        buf.writeInteger(columnCount, endianness: .little)
        buf.writeInteger(parameterCount, endianness: .little)
        buf.writeInteger(UInt8(0))
        buf.writeInteger(warnings, endianness: .little)
        return buf
    }
}

/// Builds a command packet payload: the command byte and its argument.
public enum MySQLCommandPacket {
    public static func make(_ command: MySQLCommand, _ argument: String = "") -> ByteBuffer {
        var buf = ByteBufferAllocator().buffer(capacity: 1 + argument.utf8.count)
        buf.writeInteger(command.rawValue)
        buf.writeString(argument)
        return buf
    }

    public static func make(_ command: MySQLCommand, statementID: UInt32) -> ByteBuffer {
        var buf = ByteBufferAllocator().buffer(capacity: 5)
        buf.writeInteger(command.rawValue)
        buf.writeInteger(statementID, endianness: .little)
        return buf
    }
}
