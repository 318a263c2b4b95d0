import NIOCore

/// Length-encoded integers and strings, the protocol's variable-width fields.
extension ByteBuffer {
    /// Reads a length-encoded integer. `nil` for the NULL marker (0xFB) or when the buffer ends early;
    /// throws on 0xFF, which is never a valid first byte.
    public mutating func readMySQLLengthEncodedInteger() throws(MySQLWireError) -> UInt64? {
        guard let first = readInteger(as: UInt8.self) else { throw .truncated("length-encoded integer") }
        switch first {
        case 0..<0xfb: return UInt64(first)
        case 0xfb: return nil
        case 0xfc:
            guard let v = readInteger(endianness: .little, as: UInt16.self) else { throw .truncated("2-byte integer") }
            return UInt64(v)
        case 0xfd:
            guard let bytes = readBytes(length: 3) else { throw .truncated("3-byte integer") }
            return UInt64(bytes[0]) | UInt64(bytes[1]) << 8 | UInt64(bytes[2]) << 16
        case 0xfe:
            guard let v = readInteger(endianness: .little, as: UInt64.self) else { throw .truncated("8-byte integer") }
            return v
        default:
            throw .malformed("0xFF is not a valid length-encoded integer prefix")
        }
    }

    /// Reads a length-encoded string; `nil` for SQL NULL.
    public mutating func readMySQLLengthEncodedString() throws(MySQLWireError) -> String? {
        guard let length = try readMySQLLengthEncodedInteger() else { return nil }
        guard length <= UInt64(readableBytes), let s = readString(length: Int(length)) else {
            throw .truncated("length-encoded string of \(length) bytes")
        }
        return s
    }

    /// Reads length-encoded bytes (for auth data and row values kept raw).
    public mutating func readMySQLLengthEncodedSlice() throws(MySQLWireError) -> ByteBuffer? {
        guard let length = try readMySQLLengthEncodedInteger() else { return nil }
        guard length <= UInt64(readableBytes), let s = readSlice(length: Int(length)) else {
            throw .truncated("length-encoded field of \(length) bytes")
        }
        return s
    }

    public mutating func readMySQLNullTerminatedString() throws(MySQLWireError) -> String {
        guard let end = readableBytesView.firstIndex(of: 0) else { throw .truncated("NUL-terminated string") }
        let s = readString(length: end - readerIndex) ?? ""
        moveReaderIndex(forwardBy: 1)
        return s
    }

    public mutating func writeMySQLLengthEncodedInteger(_ value: UInt64) {
        switch value {
        case 0..<0xfb: writeInteger(UInt8(value))
        case 0xfb...0xffff:
            writeInteger(UInt8(0xfc))
            writeInteger(UInt16(value), endianness: .little)
        case 0x10000...0xff_ffff:
            writeInteger(UInt8(0xfd))
            writeInteger(UInt8(value & 0xff))
            writeInteger(UInt16(value >> 8), endianness: .little)
        default:
            writeInteger(UInt8(0xfe))
            writeInteger(value, endianness: .little)
        }
    }

    public mutating func writeMySQLLengthEncodedString(_ value: String?) {
        guard let value else {
            writeInteger(UInt8(0xfb))
            return
        }
        writeMySQLLengthEncodedInteger(UInt64(value.utf8.count))
        writeString(value)
    }

    public mutating func writeMySQLLengthEncodedBytes(_ bytes: some Collection<UInt8>) {
        writeMySQLLengthEncodedInteger(UInt64(bytes.count))
        writeBytes(bytes)
    }

    public mutating func writeMySQLNullTerminatedString(_ value: String) {
        writeString(value)
        writeInteger(UInt8(0))
    }
}
