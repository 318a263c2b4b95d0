import BreakwaterMySQLWire
import NIOCore

/// One client session's multiplexing logic, as a value type: which statement needs a backend connection,
/// when the connection goes back to the pool, and what pins it. The client handler executes the actions.
struct MuxSessionStateMachine {
    enum State: CustomStringConvertible {
        case handshaking(scramble: [UInt8])
        case idle
        /// A statement waits for a backend connection from the pool.
        case awaitingBackend(MySQLPacket, tracker: MySQLResponseTracker?)
        /// A statement runs on the backend; its response is being forwarded.
        case running(MySQLResponseTracker)
        case closed

        var description: String {
            switch self {
            case .handshaking: "handshaking"
            case .idle: "Sleep"
            case .awaitingBackend: "waiting for a backend"
            case .running: "Query"
            case .closed: "closed"
            }
        }
    }

    enum Action {
        case none
        /// Reply to the client with these packets.
        case reply([MySQLPacket])
        /// Reply, then close the client connection.
        case replyAndClose([MySQLPacket])
        case authenticated(user: MuxRuntimeConfig.User, database: String?)
        /// Borrow a backend connection for the user's hostgroup (the session has none).
        case acquireBackend
        /// Send the packet on the backend connection the session holds.
        case forwardToBackend(MySQLPacket)
        /// Pass a backend packet to the client; when `releaseBackend`, the backend connection goes back to the pool.
        case forwardToClient(MySQLPacket, responseDone: Bool, releaseBackend: Bool)
        case close
    }

    static let serverCapabilities: MySQLCapabilities = MySQLCapabilities.breakwaterDefault
        .union([.multiStatements]).subtracting([.deprecateEOF, .connectAttributes])

    private(set) var state: State
    private(set) var pins: Set<MuxPinReason> = []
    private(set) var user: MuxRuntimeConfig.User?
    private(set) var database: String?
    private(set) var currentQuery: String?
    let multiplexing: Bool
    var hasBackend = false

    init(scramble: [UInt8], multiplexing: Bool) {
        state = .handshaking(scramble: scramble)
        self.multiplexing = multiplexing
        if !multiplexing { pins.insert(.multiplexingOff) }
    }

    var isPinned: Bool { !pins.isEmpty }

    mutating func clientPacket(_ p: MySQLPacket, lookupUser: (String) -> MuxRuntimeConfig.User?) -> Action {
        switch state {
        case .handshaking(let scramble):
            return handshakeResponse(p, scramble: scramble, lookupUser: lookupUser)
        case .idle:
            return command(p)
        case .awaitingBackend, .running:
            // A client may pipeline; Breakwater serves one statement at a time per session.
            state = .closed
            return .replyAndClose([err(1047, "08S01", "Breakwater: commands must wait for the previous answer (no pipelining)", seq: p.sequenceID &+ 1)])
        case .closed:
            return .none
        }
    }

    private mutating func handshakeResponse(
        _ p: MySQLPacket, scramble: [UInt8], lookupUser: (String) -> MuxRuntimeConfig.User?
    ) -> Action {
        let response: MySQLHandshakeResponse41
        do {
            response = try MySQLHandshakeResponse41(payload: p.payload)
        } catch {
            state = .closed
            return .replyAndClose([err(1043, "08S01", "Bad handshake: \(error)", seq: p.sequenceID &+ 1)])
        }
        guard let user = lookupUser(response.username),
            (response.authPluginName ?? MySQLAuthPlugin.nativePassword) == MySQLAuthPlugin.nativePassword
                ? MySQLAuthPlugin.verifyNativePassword(response: response.authResponse, scramble: scramble, storedPassword: user.password)
                : MySQLAuthPlugin.verifyCachingSHA2(response: response.authResponse, scramble: scramble, plainPassword: user.password)
        else {
            state = .closed
            return .replyAndClose([err(1045, "28000",
                "Access denied for user '\(response.username)' (using password: \(response.authResponse.isEmpty ? "NO" : "YES"))",
                seq: p.sequenceID &+ 1)])
        }
        self.user = user
        database = response.database
        state = .idle
        return .authenticated(user: user, database: response.database)
    }

    private mutating func command(_ p: MySQLPacket) -> Action {
        guard let byte = p.header, let cmd = MySQLCommand(rawValue: byte) else {
            return .reply([err(1047, "08S01", "Unknown command 0x\(String(p.header ?? 0, radix: 16))", seq: 1)])
        }
        switch cmd {
        case .quit:
            state = .closed
            return .close
        case .ping:
            return .reply([ok(seq: 1)])
        case .changeUser:
            return .reply([err(1047, "08S01", "Breakwater does not support COM_CHANGE_USER yet; reconnect as the other user", seq: 1)])
        case .resetConnection where !hasBackend:
            pins = multiplexing ? [] : [.multiplexingOff]
            return .reply([ok(seq: 1)])
        case .statementClose, .statementSendLongData:
            // No answer is sent for these; without a backend there is nothing to close.
            return hasBackend ? .forwardToBackend(p) : .none
        case .statementExecute, .statementReset, .statementFetch:
            if !hasBackend {
                return .reply([err(1243, "HY000", "Unknown prepared statement handler given to \(cmd)", seq: 1)])
            }
        default:
            break
        }
        if cmd == .query {
            var buf = p.payload
            buf.moveReaderIndex(forwardBy: 1)
            let sql = buf.readString(length: buf.readableBytes) ?? ""
            currentQuery = sql
            pins.formUnion(MuxStatementClassifier.pins(for: sql))
        } else {
            currentQuery = cmd.description
        }
        if cmd == .statementPrepare { pins.insert(.preparedStatement) }
        if cmd == .resetConnection { resetRequested = true }
        if cmd == .initDB {
            var buf = p.payload
            buf.moveReaderIndex(forwardBy: 1)
            pendingDatabase = buf.readString(length: buf.readableBytes)
        }
        let tracker = MySQLResponseTracker.Kind(command: cmd).map {
            MySQLResponseTracker(kind: $0, capabilities: Self.serverCapabilities)
        }
        if hasBackend {
            if let tracker { state = .running(tracker) }
            return .forwardToBackend(p)
        }
        state = .awaitingBackend(p, tracker: tracker)
        return .acquireBackend
    }

    private var pendingDatabase: String?
    /// The last statement's OK said it set an insert id: keep the backend for one more statement.
    private var lastInsertIDPending = false

    mutating func backendAcquired() -> Action {
        guard case .awaitingBackend(let p, let tracker) = state else { return .none }
        hasBackend = true
        if let tracker {
            state = .running(tracker)
        } else {
            state = .idle
        }
        return .forwardToBackend(p)
    }

    /// The pool could not give a connection (timeout, queue full, no server).
    mutating func backendUnavailable(_ error: MySQLErrorPacket) -> Action {
        guard case .awaitingBackend = state else { return .none }
        state = .idle
        return .reply([MySQLPacket(sequenceID: 1, payload: error.encode())])
    }

    mutating func backendPacket(_ p: MySQLPacket) -> Action {
        guard case .running(var tracker) = state else { return .none }
        let classified: (event: MySQLResponseTracker.Event, done: Bool)
        do {
            classified = try tracker.packet(p)
        } catch {
            return backendLost("sent a malformed response (\(error))")
        }
        guard classified.done else {
            state = .running(tracker)
            return .forwardToClient(p, responseDone: false, releaseBackend: false)
        }
        currentQuery = nil
        state = .idle
        var status: MySQLServerStatus = []
        var insertID = false
        switch classified.event {
        case .ok(let ok):
            status = ok.status
            insertID = ok.lastInsertID != 0
            if let db = pendingDatabase { database = db }
        case .resultSetEnd(let s): status = s
        default: break
        }
        pendingDatabase = nil
        if status.contains(.inTransaction) { pins.insert(.transaction) } else { pins.remove(.transaction) }
        if lastInsertIDPending { pins.remove(.lastInsertID) }
        lastInsertIDPending = insertID
        if insertID { pins.insert(.lastInsertID) }
        if case .ok = classified.event, resetRequested {
            pins = multiplexing ? [] : [.multiplexingOff]
        }
        resetRequested = false
        let release = pins.isEmpty
        if release { hasBackend = false }
        return .forwardToClient(p, responseDone: true, releaseBackend: release)
    }

    private var resetRequested = false

    /// The backend connection died or misbehaved mid-statement: tell the client, drop all pins (the state is gone).
    mutating func backendLost(_ why: String) -> Action {
        let wasRunning: Bool
        switch state {
        case .running, .awaitingBackend: wasRunning = true
        default: wasRunning = false
        }
        hasBackend = false
        pins = multiplexing ? [] : [.multiplexingOff]
        currentQuery = nil
        guard wasRunning else { return .none }
        state = .idle
        return .reply([err(2013, "HY000", "Lost connection to the backend server during query: the server \(why); the statement may not have run", seq: 1)])
    }

    mutating func noteResetConnection() { resetRequested = true }

    private func ok(seq: UInt8) -> MySQLPacket {
        MySQLPacket(sequenceID: seq, payload: MySQLOKPacket(status: pins.contains(.transaction) ? [.autocommit, .inTransaction] : .autocommit).encode())
    }

    private func err(_ code: UInt16, _ state: String, _ message: String, seq: UInt8) -> MySQLPacket {
        MySQLPacket(sequenceID: seq, payload: MySQLErrorPacket(code: code, sqlState: state, message: message).encode())
    }
}
