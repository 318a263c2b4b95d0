import NIOCore

/// The client side of the connection phase: greeting, handshake response, auth switch, OK or ERR.
/// A value type the client handler drives packet by packet.
public struct MySQLClientAuthStateMachine: Sendable {
    public enum Action: Sendable {
        case send(MySQLPacket)
        case authenticated(MySQLHandshakeV10, MySQLCapabilities)
        case fail(MySQLWireError)
        case none
    }

    private enum State: Sendable {
        case awaitingGreeting
        case awaitingResult(greeting: MySQLHandshakeV10, capabilities: MySQLCapabilities)
        case authenticated
        case failed
    }

    public let username: String
    public let password: String
    public let database: String?
    /// What to offer the server (intersected with what it supports).
    public let wantedCapabilities: MySQLCapabilities
    private var state: State = .awaitingGreeting

    public init(
        username: String, password: String, database: String?,
        capabilities: MySQLCapabilities = .breakwaterDefault
    ) {
        self.wantedCapabilities = capabilities
        self.username = username
        self.password = password
        self.database = database
    }

    public var isAuthenticated: Bool { if case .authenticated = state { true } else { false } }

    public mutating func packet(_ p: MySQLPacket) -> Action {
        do {
            return try handle(p)
        } catch {
            state = .failed
            return .fail(error)
        }
    }

    private mutating func handle(_ p: MySQLPacket) throws(MySQLWireError) -> Action {
        switch state {
        case .awaitingGreeting:
            // A server refusing the connection (1040 Too many connections, 1129 host blocked) sends an error instead.
            if p.header == 0xff { throw .server(try MySQLErrorPacket(payload: p.payload)) }
            let greeting = try MySQLHandshakeV10(payload: p.payload)
            guard greeting.capabilities.contains(.protocol41) else {
                throw .unsupported("a server without CLIENT_PROTOCOL_41")
            }
            var caps = wantedCapabilities.intersection(greeting.capabilities)
            caps.insert(.protocol41)
            if database != nil { caps.insert(.connectWithDB) } else { caps.remove(.connectWithDB) }
            let plugin = greeting.authPluginName == MySQLAuthPlugin.cachingSHA2Password
                ? MySQLAuthPlugin.cachingSHA2Password : MySQLAuthPlugin.nativePassword
            let response = MySQLHandshakeResponse41(
                capabilities: caps, username: username,
                authResponse: Self.scramble(plugin: plugin, password: password, challenge: greeting.scramble),
                database: database, authPluginName: plugin,
                attributes: ["_client_name": "breakwater"]
            )
            state = .awaitingResult(greeting: greeting, capabilities: caps)
            return .send(MySQLPacket(sequenceID: p.sequenceID &+ 1, payload: response.encode()))
        case .awaitingResult(let greeting, let caps):
            switch p.header {
            case 0x00:
                state = .authenticated
                return .authenticated(greeting, caps)
            case 0xff:
                throw .server(try MySQLErrorPacket(payload: p.payload))
            case 0xfe:
                let request = try MySQLAuthSwitchRequest(payload: p.payload)
                guard request.pluginName == MySQLAuthPlugin.nativePassword
                    || request.pluginName == MySQLAuthPlugin.cachingSHA2Password
                else { throw .unsupported("auth plugin '\(request.pluginName)' (use mysql_native_password)") }
                let answer = Self.scramble(plugin: request.pluginName, password: password, challenge: request.pluginData)
                var buf = ByteBufferAllocator().buffer(capacity: answer.count)
                buf.writeBytes(answer)
                return .send(MySQLPacket(sequenceID: p.sequenceID &+ 1, payload: buf))
            case 0x01:
                let marker = p.payload.getInteger(at: p.payload.readerIndex + 1, as: UInt8.self)
                if marker == MySQLAuthPlugin.cachingSHA2FastAuthSuccess { return .none }
                throw .unsupported(
                    "caching_sha2_password full authentication, which needs TLS or the server's RSA key "
                        + "(log in once with the mysql client to fill the server's cache, or use mysql_native_password)")
            default:
                throw .malformed("unexpected packet during authentication")
            }
        case .authenticated, .failed:
            throw .malformed("authentication packet after the connection phase ended")
        }
    }

    static func scramble(plugin: String, password: String, challenge: [UInt8]) -> [UInt8] {
        plugin == MySQLAuthPlugin.cachingSHA2Password
            ? MySQLAuthPlugin.cachingSHA2Response(password: password, scramble: challenge)
            : MySQLAuthPlugin.nativePasswordResponse(password: password, scramble: challenge)
    }
}
