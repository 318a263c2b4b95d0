import BreakwaterMySQLWire
import NIOCore

/// One client session's multiplexing logic, as a value type: which statement needs a backend connection,
/// what a borrowed connection must be given first (the session's variables, its prepared statements), when the
/// connection goes back to the pool, and what pins it. The client handler executes the actions.
struct MuxSessionStateMachine {
    /// Work a borrowed connection needs before the client's statement runs on it; its answer is not forwarded.
    enum Preparation: Equatable {
        /// The combined SET of the session's variables.
        case setVariables(String)
        /// COM_STMT_PREPARE of a statement the client prepared on another connection.
        case prepare(sql: String)
    }

    enum State: CustomStringConvertible {
        case handshaking(scramble: [UInt8])
        case idle
        /// A statement waits for a backend connection from the pool.
        case awaitingBackend(MySQLPacket, tracker: MySQLResponseTracker?)
        /// A preparation runs on the borrowed connection; the statement and any further preparations follow.
        case preparing(MySQLPacket, tracker: MySQLResponseTracker?, step: Preparation, answer: MySQLResponseTracker, then: [Preparation])
        /// A statement runs on the backend; its response is being forwarded.
        case running(MySQLResponseTracker)
        case closed

        var description: String {
            switch self {
            case .handshaking: "handshaking"
            case .idle: "Sleep"
            case .awaitingBackend: "waiting for a backend"
            case .preparing: "preparing a backend connection"
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
        /// Send these packets on the held connection; `replay` when they are a session-variable replay (counted).
        case sendToBackend([MySQLPacket], replay: Bool)
        /// A preparation failed: tell the client; the connection is closed (state unknown) or returned to the pool.
        case preparationFailed(MySQLPacket, closeBackend: Bool)
        /// COM_CHANGE_USER succeeded: close the held connection (its session belongs to the old user), then reply.
        case changedUser(MySQLPacket, closeBackend: Bool)
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

    /// The session variables the client set (replayed on whichever connection it borrows).
    private(set) var sessionVariables = MuxSessionVariables()
    /// The held connection's state while there is one; the handler stores it back on the connection on release.
    private(set) var backendVariables = MuxSessionVariables()
    private(set) var backendStatements: [String: UInt32] = [:]
    /// The client's prepared statements under the ids Breakwater gave them.
    private(set) var statements: [UInt32: MuxClientStatement] = [:]
    private var nextStatementID: UInt32 = 0

    /// A replayable SET the current statement makes, applied to both states when it succeeds.
    private var pendingAssignments: [MuxSessionVariables.Assignment] = []
    /// The text of the COM_STMT_PREPARE that runs.
    private var pendingPrepare: String?
    private var pendingDatabase: String?
    /// The last statement's OK said it set an insert id: keep the backend for one more statement.
    private var lastInsertIDPending = false
    private var resetRequested = false

    /// The greeting's scramble, which COM_CHANGE_USER's answer is computed with too.
    private let scramble: [UInt8]

    init(scramble: [UInt8], multiplexing: Bool) {
        state = .handshaking(scramble: scramble)
        self.scramble = scramble
        self.multiplexing = multiplexing
        if !multiplexing { pins.insert(.multiplexingOff) }
    }

    var isPinned: Bool { !pins.isEmpty }

    mutating func clientPacket(_ p: MySQLPacket, lookupUser: (String) -> MuxRuntimeConfig.User?) -> Action {
        switch state {
        case .handshaking(let scramble):
            return handshakeResponse(p, scramble: scramble, lookupUser: lookupUser)
        case .idle:
            if p.header == MySQLCommand.changeUser.rawValue { return changeUser(p, lookupUser: lookupUser) }
            return command(p)
        case .awaitingBackend, .preparing, .running:
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
        guard let user = verify(response.username, response.authResponse, plugin: response.authPluginName, lookupUser: lookupUser) else {
            state = .closed
            return .replyAndClose([accessDenied(response.username, response.authResponse, seq: p.sequenceID &+ 1)])
        }
        self.user = user
        database = response.database
        state = .idle
        return .authenticated(user: user, database: response.database)
    }

    private func verify(_ name: String, _ response: [UInt8], plugin: String?, lookupUser: (String) -> MuxRuntimeConfig.User?) -> MuxRuntimeConfig.User? {
        guard let user = lookupUser(name) else { return nil }
        let ok = (plugin ?? MySQLAuthPlugin.nativePassword) == MySQLAuthPlugin.nativePassword
            ? MySQLAuthPlugin.verifyNativePassword(response: response, scramble: scramble, storedPassword: user.password)
            : MySQLAuthPlugin.verifyCachingSHA2(response: response, scramble: scramble, plainPassword: user.password)
        return ok ? user : nil
    }

    private func accessDenied(_ name: String, _ response: [UInt8], seq: UInt8) -> MySQLPacket {
        err(1045, "28000", "Access denied for user '\(name)' (using password: \(response.isEmpty ? "NO" : "YES"))", seq: seq)
    }

    /// COM_CHANGE_USER: a fresh login on the same client connection. Every pin ends and the session's state is
    /// dropped; a held backend connection is closed (it still runs as the old user), the next statement borrows anew.
    private mutating func changeUser(_ p: MySQLPacket, lookupUser: (String) -> MuxRuntimeConfig.User?) -> Action {
        guard let request = try? MySQLChangeUser(payload: p.payload) else {
            state = .closed
            return .replyAndClose([err(1047, "08S01", "Malformed COM_CHANGE_USER", seq: 1)])
        }
        guard let newUser = verify(request.username, request.authResponse, plugin: request.authPluginName, lookupUser: lookupUser) else {
            state = .closed
            return .replyAndClose([accessDenied(request.username, request.authResponse, seq: 1)])
        }
        let held = hasBackend
        user = newUser
        database = request.database
        hasBackend = false
        pins = multiplexing ? [] : [.multiplexingOff]
        sessionVariables = MuxSessionVariables()
        statements = [:]
        lastInsertIDPending = false
        lastStatus = .autocommit
        return .changedUser(ok(seq: 1), closeBackend: held)
    }

    private mutating func command(_ p: MySQLPacket) -> Action {
        guard let byte = p.header, let cmd = MySQLCommand(rawValue: byte) else {
            return .reply([err(1047, "08S01", "Unknown command 0x\(String(p.header ?? 0, radix: 16))", seq: 1)])
        }
        var packet = p
        switch cmd {
        case .quit:
            state = .closed
            return .close
        case .ping:
            return .reply([ok(seq: 1)])
        case .resetConnection where !hasBackend:
            pins = multiplexing ? [] : [.multiplexingOff]
            sessionVariables = MuxSessionVariables()
            statements = [:]
            return .reply([ok(seq: 1)])
        case .statementClose:
            // No answer; the text stays prepared on the backend connections for the next session that prepares it.
            if let id = MySQLBinaryProtocol.statementID(of: p.payload) { statements[id] = nil }
            return .none
        case .statementExecute, .statementReset, .statementFetch, .statementSendLongData:
            guard let id = MySQLBinaryProtocol.statementID(of: p.payload), var statement = statements[id] else {
                if cmd == .statementSendLongData { return .none }  // never answered
                return .reply([err(1243, "HY000", "Unknown prepared statement handler given to \(cmd)", seq: 1)])
            }
            if cmd == .statementReset, !hasBackend { return .reply([ok(seq: 1)]) }  // nothing is left on a connection
            if cmd == .statementFetch, !hasBackend {
                return .reply([err(1421, "HY000", "The statement (\(id)) has no open cursor", seq: 1)])
            }
            if cmd == .statementExecute {
                packet = MuxStatementPacket.executeWithTypes(p, statement: &statement)
                statements[id] = statement
                if MuxStatementPacket.opensCursor(p) { pins.insert(.preparedStatement) }
            }
            // Long data and cursors live on one connection.
            if cmd == .statementSendLongData { pins.insert(.preparedStatement) }
            currentQuery = statement.sql
        case .statementPrepare:
            pendingPrepare = Self.argument(of: p)
            currentQuery = pendingPrepare
        case .query:
            let sql = Self.argument(of: p)
            currentQuery = sql
            var statementPins = MuxStatementClassifier.pins(for: sql)
            if statementPins.contains(.sessionVariable), case .replayable(let assignments) = MuxSetStatement.parse(sql) {
                pendingAssignments = assignments
                statementPins.remove(.sessionVariable)
            }
            pins.formUnion(statementPins)
        case .initDB:
            pendingDatabase = Self.argument(of: p)
            currentQuery = cmd.description
        case .resetConnection:
            resetRequested = true
            currentQuery = cmd.description
        default:
            currentQuery = cmd.description
        }
        let tracker = MySQLResponseTracker.Kind(command: cmd).map {
            MySQLResponseTracker(kind: $0, capabilities: Self.serverCapabilities)
        }
        if hasBackend { return prepareThenRun(packet, tracker: tracker, steps: statementPreparations(for: packet)) }
        state = .awaitingBackend(packet, tracker: tracker)
        return .acquireBackend
    }

    private static func argument(of p: MySQLPacket) -> String {
        p.payload.getString(at: p.payload.readerIndex + 1, length: p.payload.readableBytes - 1) ?? ""
    }

    /// A connection was borrowed with this state. Gives it the session's variables and statements it lacks first.
    mutating func backendAcquired(variables: MuxSessionVariables, statements backendStatements: [String: UInt32]) -> Action {
        guard case .awaitingBackend(let p, let tracker) = state else { return .none }
        hasBackend = true
        backendVariables = variables
        self.backendStatements = backendStatements
        var steps = statementPreparations(for: p)
        if let set = sessionVariables.replayStatement(from: variables) { steps.insert(.setVariables(set), at: 0) }
        return prepareThenRun(p, tracker: tracker, steps: steps)
    }

    /// A COM_STMT_* statement whose text the held connection has not prepared yet needs a COM_STMT_PREPARE first.
    private func statementPreparations(for p: MySQLPacket) -> [Preparation] {
        guard let sql = clientStatement(p)?.sql, backendStatements[sql] == nil else { return [] }
        return [.prepare(sql: sql)]
    }

    private func clientStatement(_ p: MySQLPacket) -> MuxClientStatement? {
        switch p.header.flatMap(MySQLCommand.init(rawValue:)) {
        case .statementExecute, .statementReset, .statementFetch, .statementSendLongData:
            return MySQLBinaryProtocol.statementID(of: p.payload).flatMap { statements[$0] }
        default:
            return nil
        }
    }

    private mutating func prepareThenRun(_ p: MySQLPacket, tracker: MySQLResponseTracker?, steps: [Preparation]) -> Action {
        var rest = steps
        guard !rest.isEmpty else { return startStatement(p, tracker: tracker) }
        let step = rest.removeFirst()
        switch step {
        case .setVariables(let set):
            state = .preparing(p, tracker: tracker, step: step, answer: makeTracker(.resultSet), then: rest)
            return .sendToBackend([MySQLPacket(sequenceID: 0, payload: MySQLCommandPacket.make(.query, set))], replay: true)
        case .prepare(let sql):
            state = .preparing(p, tracker: tracker, step: step, answer: makeTracker(.prepare), then: rest)
            return .sendToBackend(evictions(keeping: sql) + [MySQLPacket(sequenceID: 0, payload: MySQLCommandPacket.make(.statementPrepare, sql))], replay: false)
        }
    }

    private func makeTracker(_ kind: MySQLResponseTracker.Kind) -> MySQLResponseTracker {
        MySQLResponseTracker(kind: kind, capabilities: Self.serverCapabilities)
    }

    /// COM_STMT_CLOSE for statements beyond the per-connection bound (any but `sql`).
    private mutating func evictions(keeping sql: String) -> [MySQLPacket] {
        var out: [MySQLPacket] = []
        while backendStatements.count >= MuxStatementPacket.maxPerBackendConnection,
            let victim = backendStatements.first(where: { $0.key != sql }) {
            backendStatements[victim.key] = nil
            out.append(MySQLPacket(sequenceID: 0, payload: MySQLCommandPacket.make(.statementClose, statementID: victim.value)))
        }
        return out
    }

    /// Sends the client's statement, its statement id mapped to the held connection's.
    private mutating func startStatement(_ p: MySQLPacket, tracker: MySQLResponseTracker?) -> Action {
        state = tracker.map { .running($0) } ?? .idle
        if let sql = clientStatement(p)?.sql, let backendID = backendStatements[sql] {
            return .forwardToBackend(MySQLPacket(sequenceID: p.sequenceID, payload: MySQLBinaryProtocol.replacingStatementID(in: p.payload, with: backendID)))
        }
        if let sql = pendingPrepare, let old = backendStatements.removeValue(forKey: sql) {
            // Prepared again on the same connection: the server's old copy is closed, not leaked.
            let close = MySQLPacket(sequenceID: 0, payload: MySQLCommandPacket.make(.statementClose, statementID: old))
            return .sendToBackend(evictions(keeping: sql) + [close, p], replay: false)
        }
        if let sql = pendingPrepare {
            let evicted = evictions(keeping: sql)
            if !evicted.isEmpty { return .sendToBackend(evicted + [p], replay: false) }
        }
        return .forwardToBackend(p)
    }

    /// The pool could not give a connection (timeout, queue full, no server).
    mutating func backendUnavailable(_ error: MySQLErrorPacket) -> Action {
        guard case .awaitingBackend = state else { return .none }
        state = .idle
        pendingAssignments = []
        pendingPrepare = nil
        return .reply([MySQLPacket(sequenceID: 1, payload: error.encode())])
    }

    mutating func backendPacket(_ p: MySQLPacket) -> Action {
        if case .preparing(let statement, let tracker, let step, var answer, let rest) = state {
            return preparationPacket(p, statement: statement, tracker: tracker, step: step, answer: &answer, rest: rest)
        }
        guard case .running(var tracker) = state else { return .none }
        let classified: (event: MySQLResponseTracker.Event, done: Bool)
        do {
            classified = try tracker.packet(p)
        } catch {
            return backendLost("sent a malformed response (\(error))")
        }
        var forwarded = p
        if case .prepareOK(let prep) = classified.event, let sql = pendingPrepare {
            // The client gets an id of Breakwater's: the statement may run on any connection later.
            nextStatementID &+= 1
            statements[nextStatementID] = MuxClientStatement(sql: sql, parameterCount: Int(prep.parameterCount))
            backendStatements[sql] = prep.statementID
            forwarded.payload = MySQLBinaryProtocol.replacingStatementID(in: p.payload, with: nextStatementID)
        }
        guard classified.done else {
            state = .running(tracker)
            return .forwardToClient(forwarded, responseDone: false, releaseBackend: false)
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
            if !pendingAssignments.isEmpty {
                sessionVariables.apply(pendingAssignments)
                backendVariables.apply(pendingAssignments)
            }
        case .resultSetEnd(let s): status = s
        default:
            // ERR and PREPARE_OK carry no status flags: an error inside a transaction does not end it.
            status = lastStatus
        }
        pendingDatabase = nil
        pendingAssignments = []
        pendingPrepare = nil
        if status.contains(.inTransaction) { pins.insert(.transaction) } else { pins.remove(.transaction) }
        lastStatus = status
        if lastInsertIDPending { pins.remove(.lastInsertID) }
        lastInsertIDPending = insertID
        if insertID { pins.insert(.lastInsertID) }
        if case .ok = classified.event, resetRequested {
            pins = multiplexing ? [] : [.multiplexingOff]
            sessionVariables = MuxSessionVariables()
            backendVariables = MuxSessionVariables()
            backendStatements = [:]
            statements = [:]
        }
        resetRequested = false
        let release = pins.isEmpty
        if release { hasBackend = false }
        return .forwardToClient(forwarded, responseDone: true, releaseBackend: release)
    }

    /// The status flags of the last response that had them.
    private var lastStatus: MySQLServerStatus = .autocommit

    /// A preparation's answer, swallowed: on success the next step or the statement follows on the same connection.
    private mutating func preparationPacket(
        _ p: MySQLPacket, statement: MySQLPacket, tracker: MySQLResponseTracker?, step: Preparation,
        answer: inout MySQLResponseTracker, rest: [Preparation]
    ) -> Action {
        let event: MySQLResponseTracker.Event
        do {
            let classified = try answer.packet(p)
            if case .prepareOK(let prep) = classified.event, case .prepare(let sql) = step {
                backendStatements[sql] = prep.statementID
            }
            guard classified.done else {
                state = .preparing(statement, tracker: tracker, step: step, answer: answer, then: rest)
                return .none
            }
            event = classified.event
        } catch {
            return backendLost("sent a malformed answer while Breakwater prepared the connection (\(error))")
        }
        if case .error(let e) = event {
            let reply: MySQLPacket
            let close: Bool
            switch step {
            case .setVariables:
                reply = err(1105, "HY000",
                    "Breakwater could not restore this session's variables on a backend connection (\(e.code) \(e.message)); the statement did not run",
                    seq: 1)
                close = true
            case .prepare:
                // The server's own reason (a dropped table…); the connection is fine.
                reply = MySQLPacket(sequenceID: 1, payload: e.encode())
                close = false
            }
            hasBackend = close ? false : !pinsWithoutStatement.isEmpty
            if close { pins = multiplexing ? [] : [.multiplexingOff] }
            pendingAssignments = []
            pendingPrepare = nil
            currentQuery = nil
            state = .idle
            return .preparationFailed(reply, closeBackend: close)
        }
        if case .setVariables = step { backendVariables = sessionVariables }
        return prepareThenRun(statement, tracker: tracker, steps: rest)
    }

    /// Pins that survive a statement that never ran (a failed preparation).
    private var pinsWithoutStatement: Set<MuxPinReason> { pins.subtracting([.lastInsertID]) }

    /// The backend connection died or misbehaved mid-statement: tell the client, drop all pins (the state is gone).
    mutating func backendLost(_ why: String) -> Action {
        let wasRunning: Bool
        switch state {
        case .running, .awaitingBackend, .preparing: wasRunning = true
        default: wasRunning = false
        }
        hasBackend = false
        pins = multiplexing ? [] : [.multiplexingOff]
        pendingAssignments = []
        pendingPrepare = nil
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
