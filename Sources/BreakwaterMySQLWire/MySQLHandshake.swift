import NIOCore

/// The server's greeting, Protocol::HandshakeV10.
public struct MySQLHandshakeV10: Sendable, Equatable {
    public var serverVersion: String
    public var connectionID: UInt32
    /// The 20-byte challenge (without the trailing NUL the wire carries).
    public var scramble: [UInt8]
    public var capabilities: MySQLCapabilities
    public var characterSet: UInt8
    public var status: MySQLServerStatus
    public var authPluginName: String

    public init(
        serverVersion: String, connectionID: UInt32, scramble: [UInt8],
        capabilities: MySQLCapabilities = .breakwaterDefault, characterSet: UInt8 = MySQLCharset.utf8mb4GeneralCI,
        status: MySQLServerStatus = .autocommit, authPluginName: String = MySQLAuthPlugin.nativePassword
    ) {
        self.serverVersion = serverVersion
        self.connectionID = connectionID
        self.scramble = scramble
        self.capabilities = capabilities
        self.characterSet = characterSet
        self.status = status
        self.authPluginName = authPluginName
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        if buf.getInteger(at: buf.readerIndex, as: UInt8.self) == 0xff {
            throw .server(try MySQLErrorPacket(payload: payload))
        }
        guard let version = buf.readInteger(as: UInt8.self) else { throw .truncated("protocol version") }
        guard version == 10 else { throw .unsupported("handshake protocol version \(version) (only 10 is spoken)") }
        serverVersion = try buf.readMySQLNullTerminatedString()
        guard let id = buf.readInteger(endianness: .little, as: UInt32.self),
            let part1 = buf.readBytes(length: 8),
            buf.readInteger(as: UInt8.self) != nil,
            let capsLow = buf.readInteger(endianness: .little, as: UInt16.self)
        else { throw .truncated("handshake header") }
        connectionID = id
        var caps = UInt32(capsLow)
        characterSet = buf.readInteger(as: UInt8.self) ?? MySQLCharset.utf8mb4GeneralCI
        status = MySQLServerStatus(rawValue: buf.readInteger(endianness: .little, as: UInt16.self) ?? 0)
        if let capsHigh = buf.readInteger(endianness: .little, as: UInt16.self) { caps |= UInt32(capsHigh) << 16 }
        capabilities = MySQLCapabilities(rawValue: caps)
        let authDataLength = Int(buf.readInteger(as: UInt8.self) ?? 0)
        buf.moveReaderIndex(forwardBy: min(10, buf.readableBytes))
        var data = part1
        if capabilities.contains(.secureConnection) {
            let part2Length = max(13, authDataLength - 8)
            guard let part2 = buf.readBytes(length: min(part2Length, buf.readableBytes)) else {
                throw .truncated("auth-plugin-data part 2")
            }
            data += part2
        }
        if data.last == 0 { data.removeLast() }
        scramble = data
        if capabilities.contains(.pluginAuth), buf.readableBytes > 0 {
            authPluginName = (try? buf.readMySQLNullTerminatedString()) ?? buf.readString(length: buf.readableBytes) ?? ""
        } else {
            authPluginName = MySQLAuthPlugin.nativePassword
        }
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 128)
        buf.writeInteger(UInt8(10))
        buf.writeMySQLNullTerminatedString(serverVersion)
        buf.writeInteger(connectionID, endianness: .little)
        buf.writeBytes(scramble.prefix(8))
        buf.writeInteger(UInt8(0))
        buf.writeInteger(UInt16(truncatingIfNeeded: capabilities.rawValue), endianness: .little)
        buf.writeInteger(characterSet)
        buf.writeInteger(status.rawValue, endianness: .little)
        buf.writeInteger(UInt16(truncatingIfNeeded: capabilities.rawValue >> 16), endianness: .little)
        buf.writeInteger(UInt8(scramble.count + 1))
        buf.writeRepeatingByte(0, count: 10)
        buf.writeBytes(scramble.dropFirst(8))
        buf.writeInteger(UInt8(0))
        buf.writeMySQLNullTerminatedString(authPluginName)
        return buf
    }
}

/// The client's answer to the greeting, Protocol::HandshakeResponse41.
public struct MySQLHandshakeResponse41: Sendable, Equatable {
    public var capabilities: MySQLCapabilities
    public var maxPacketSize: UInt32
    public var characterSet: UInt8
    public var username: String
    public var authResponse: [UInt8]
    public var database: String?
    public var authPluginName: String?
    public var attributes: [String: String]

    public init(
        capabilities: MySQLCapabilities, maxPacketSize: UInt32 = 16 * 1024 * 1024,
        characterSet: UInt8 = MySQLCharset.utf8mb4GeneralCI, username: String, authResponse: [UInt8],
        database: String?, authPluginName: String?, attributes: [String: String] = [:]
    ) {
        self.capabilities = capabilities
        self.maxPacketSize = maxPacketSize
        self.characterSet = characterSet
        self.username = username
        self.authResponse = authResponse
        self.database = database
        self.authPluginName = authPluginName
        self.attributes = attributes
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        guard let caps = buf.readInteger(endianness: .little, as: UInt32.self) else { throw .truncated("capabilities") }
        capabilities = MySQLCapabilities(rawValue: caps)
        guard capabilities.contains(.protocol41) else {
            throw .unsupported("pre-4.1 handshake response (the client did not set CLIENT_PROTOCOL_41)")
        }
        if capabilities.contains(.ssl), buf.readableBytes <= 32 {
            throw .unsupported("TLS to the MySQL listener (connect without SSL, e.g. --ssl=0 / --skip-ssl)")
        }
        guard let maxPacket = buf.readInteger(endianness: .little, as: UInt32.self),
            let charset = buf.readInteger(as: UInt8.self), buf.readableBytes >= 23
        else { throw .truncated("handshake response header") }
        maxPacketSize = maxPacket
        characterSet = charset
        buf.moveReaderIndex(forwardBy: 23)
        username = try buf.readMySQLNullTerminatedString()
        if capabilities.contains(.pluginAuthLengthEncodedData) {
            guard let data = try buf.readMySQLLengthEncodedSlice() else { throw .malformed("NULL auth response") }
            authResponse = Array(data.readableBytesView)
        } else if capabilities.contains(.secureConnection) {
            guard let n = buf.readInteger(as: UInt8.self), let data = buf.readBytes(length: Int(n)) else {
                throw .truncated("auth response")
            }
            authResponse = data
        } else {
            authResponse = Array(try buf.readMySQLNullTerminatedString().utf8)
        }
        database = nil
        if capabilities.contains(.connectWithDB), buf.readableBytes > 0 {
            let db = try buf.readMySQLNullTerminatedString()
            database = db.isEmpty ? nil : db
        }
        authPluginName = nil
        if capabilities.contains(.pluginAuth), buf.readableBytes > 0 {
            authPluginName = try buf.readMySQLNullTerminatedString()
        }
        attributes = [:]
        if capabilities.contains(.connectAttributes), buf.readableBytes > 0,
            let total = try buf.readMySQLLengthEncodedInteger(), total <= UInt64(buf.readableBytes)
        {
            var attrs = buf.readSlice(length: Int(total))!
            while attrs.readableBytes > 0 {
                guard let key = try attrs.readMySQLLengthEncodedString(),
                    let value = try attrs.readMySQLLengthEncodedString()
                else { break }
                attributes[key] = value
            }
        }
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 128)
        var caps = capabilities
        if database == nil { caps.remove(.connectWithDB) }
        buf.writeInteger(caps.rawValue, endianness: .little)
        buf.writeInteger(maxPacketSize, endianness: .little)
        buf.writeInteger(characterSet)
        buf.writeRepeatingByte(0, count: 23)
        buf.writeMySQLNullTerminatedString(username)
        if caps.contains(.pluginAuthLengthEncodedData) {
            buf.writeMySQLLengthEncodedBytes(authResponse)
        } else {
            buf.writeInteger(UInt8(authResponse.count))
            buf.writeBytes(authResponse)
        }
        if let database { buf.writeMySQLNullTerminatedString(database) }
        if caps.contains(.pluginAuth) { buf.writeMySQLNullTerminatedString(authPluginName ?? "") }
        if caps.contains(.connectAttributes) {
            var attrs = allocator.buffer(capacity: 64)
            for (k, v) in attributes.sorted(by: { $0.key < $1.key }) {
                attrs.writeMySQLLengthEncodedString(k)
                attrs.writeMySQLLengthEncodedString(v)
            }
            buf.writeMySQLLengthEncodedInteger(UInt64(attrs.readableBytes))
            buf.writeBuffer(&attrs)
        }
        return buf
    }
}

/// Protocol::AuthSwitchRequest: the server asks for another plugin with a fresh challenge.
public struct MySQLAuthSwitchRequest: Sendable, Equatable {
    public var pluginName: String
    public var pluginData: [UInt8]

    public init(pluginName: String, pluginData: [UInt8]) {
        self.pluginName = pluginName
        self.pluginData = pluginData
    }

    public init(payload: ByteBuffer) throws(MySQLWireError) {
        var buf = payload
        guard buf.readInteger(as: UInt8.self) == 0xfe else { throw .malformed("expected an auth switch request") }
        pluginName = try buf.readMySQLNullTerminatedString()
        var data = buf.readBytes(length: buf.readableBytes) ?? []
        if data.last == 0 { data.removeLast() }
        pluginData = data
    }

    public func encode(allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buf = allocator.buffer(capacity: 64)
        buf.writeInteger(UInt8(0xfe))
        buf.writeMySQLNullTerminatedString(pluginName)
        buf.writeBytes(pluginData)
        buf.writeInteger(UInt8(0))
        return buf
    }
}
