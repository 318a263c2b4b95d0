import NIOCore

/// COM_CHANGE_USER (protocol 4.1, secure connection): log the connection in again as another user and schema.
public struct MySQLChangeUser: Sendable, Equatable {
    public var username: String
    public var authResponse: [UInt8]
    public var database: String?
    public var characterSet: UInt16?
    public var authPluginName: String?

    public init(username: String, authResponse: [UInt8], database: String?, characterSet: UInt16? = nil,
                authPluginName: String? = MySQLAuthPlugin.nativePassword) {
        self.username = username
        self.authResponse = authResponse
        self.database = database
        self.characterSet = characterSet
        self.authPluginName = authPluginName
    }

    /// Reads the payload, command byte included.
    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        guard buf.readInteger(as: UInt8.self) == MySQLCommand.changeUser.rawValue else { throw .malformed("not a COM_CHANGE_USER") }
        username = try buf.readMySQLNullTerminatedString()
        guard let n = buf.readInteger(as: UInt8.self), let auth = buf.readBytes(length: Int(n)) else {
            throw .truncated("COM_CHANGE_USER auth response")
        }
        authResponse = auth
        let schema = try buf.readMySQLNullTerminatedString()
        database = schema.isEmpty ? nil : schema
        characterSet = buf.readInteger(endianness: .little, as: UInt16.self)
        authPluginName = buf.readableBytes > 0 ? try buf.readMySQLNullTerminatedString() : nil
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 64 + username.utf8.count + authResponse.count)
        buf.writeInteger(MySQLCommand.changeUser.rawValue)
        buf.writeMySQLNullTerminatedString(username)
        buf.writeInteger(UInt8(authResponse.count))
        buf.writeBytes(authResponse)
        buf.writeMySQLNullTerminatedString(database ?? "")
        buf.writeInteger(characterSet ?? UInt16(MySQLCharset.utf8mb4GeneralCI), endianness: .little)
        if let authPluginName { buf.writeMySQLNullTerminatedString(authPluginName) }
        return buf
    }
}
