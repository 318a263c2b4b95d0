import NIOCore

/// Follows one command's response packet by packet and says what each one is and when the response ends,
/// without keeping any rows: the client collects them, the mux forwards them as they come.
public struct MySQLResponseTracker: Sendable {
    /// The shape of response a command gets.
    public enum Kind: Sendable {
        /// COM_QUERY and COM_STMT_EXECUTE: OK, ERR, or result sets (several while MORE_RESULTS_EXISTS).
        case resultSet
        /// COM_STMT_PREPARE: PREPARE_OK, parameter and column definitions.
        case prepare
        /// COM_FIELD_LIST: column definitions ended by EOF.
        case fieldList
        /// COM_STATISTICS: one plain string packet.
        case statistics
        /// COM_PING, COM_INIT_DB, COM_RESET_CONNECTION, COM_STMT_RESET…: OK or ERR.
        case okOrError

        public init?(command: MySQLCommand) {
            switch command {
            case .query, .statementExecute, .statementFetch: self = .resultSet
            case .statementPrepare: self = .prepare
            case .fieldList: self = .fieldList
            case .statistics: self = .statistics
            case .quit, .statementClose, .statementSendLongData: return nil
            default: self = .okOrError
            }
        }
    }

    public enum Event: Sendable, Equatable {
        case ok(MySQLOKPacket)
        case error(MySQLErrorPacket)
        case columnCount(Int)
        case columnDefinition
        case parameterDefinition
        case prepareOK(MySQLPrepareOK)
        case intermediateEOF
        case row
        /// The end of one result set (EOF or OK-as-EOF), with the status it carries.
        case resultSetEnd(MySQLServerStatus)
        case statistics(String)
    }

    private enum State: Sendable {
        case first
        case columns(remaining: Int)
        case columnsEOF
        case rows
        case parameters(remaining: Int, columns: Int)
        case parametersEOF(columns: Int)
        case prepareColumns(remaining: Int)
        case prepareColumnsEOF
        case fieldList
        case done
    }

    public let kind: Kind
    public let capabilities: MySQLCapabilities
    private var state: State = .first
    private var columnCount = 0

    public init(kind: Kind, capabilities: MySQLCapabilities) {
        self.kind = kind
        self.capabilities = capabilities
    }

    public var isDone: Bool { if case .done = state { true } else { false } }
    private var deprecateEOF: Bool { capabilities.contains(.deprecateEOF) }

    /// Classifies the next packet. `done` is true on the response's last packet.
    public mutating func packet(_ p: MySQLPacket) throws(MySQLWireError) -> (event: Event, done: Bool) {
        switch state {
        case .done:
            throw .malformed("a packet arrived after the response had ended")
        case .first:
            if p.isERR { return finish(.error(try MySQLErrorPacket(payload: p.payload))) }
            switch kind {
            case .statistics:
                return finish(.statistics(p.payload.getString(at: p.payload.readerIndex, length: p.payload.readableBytes) ?? ""))
            case .okOrError:
                return try ok(p)
            case .fieldList:
                state = .fieldList
                return try fieldListPacket(p)
            case .prepare:
                guard p.isOK else { throw .malformed("COM_STMT_PREPARE answered with neither OK nor ERR") }
                let prep = try MySQLPrepareOK(payload: p.payload)
                let cols = Int(prep.columnCount)
                if prep.parameterCount > 0 {
                    state = .parameters(remaining: Int(prep.parameterCount), columns: cols)
                } else if cols > 0 {
                    state = .prepareColumns(remaining: cols)
                } else {
                    state = .done
                }
                return (.prepareOK(prep), isDone)
            case .resultSet:
                if p.isOK { return try ok(p) }
                if p.header == 0xfb { throw .unsupported("LOAD DATA LOCAL INFILE") }
                var buf = p.payload
                guard let n = try buf.readMySQLLengthEncodedInteger(), n > 0, n < 4096, buf.readableBytes == 0 else {
                    throw .malformed("a result set must start with a column count")
                }
                columnCount = Int(n)
                state = .columns(remaining: columnCount)
                return (.columnCount(columnCount), false)
            }
        case .columns(let remaining):
            try expectDefinition(p)
            state = remaining > 1 ? .columns(remaining: remaining - 1) : (deprecateEOF ? .rows : .columnsEOF)
            return (.columnDefinition, false)
        case .columnsEOF:
            guard p.isEOF else { throw .malformed("expected EOF after the column definitions") }
            state = .rows
            return (.intermediateEOF, false)
        case .rows:
            if p.isERR { return finish(.error(try MySQLErrorPacket(payload: p.payload))) }
            if p.isEOF {
                let status: MySQLServerStatus
                if deprecateEOF {
                    status = try MySQLOKPacket(payload: p.payload, capabilities: capabilities).status
                } else {
                    status = try MySQLEOFPacket(payload: p.payload).status
                }
                state = status.contains(.moreResultsExist) ? .first : .done
                return (.resultSetEnd(status), isDone)
            }
            return (.row, false)
        case .parameters(let remaining, let columns):
            try expectDefinition(p)
            if remaining > 1 {
                state = .parameters(remaining: remaining - 1, columns: columns)
            } else if !deprecateEOF {
                state = .parametersEOF(columns: columns)
            } else {
                state = columns > 0 ? .prepareColumns(remaining: columns) : .done
            }
            return (.parameterDefinition, isDone)
        case .parametersEOF(let columns):
            guard p.isEOF else { throw .malformed("expected EOF after the parameter definitions") }
            state = columns > 0 ? .prepareColumns(remaining: columns) : .done
            return (.intermediateEOF, isDone)
        case .prepareColumns(let remaining):
            try expectDefinition(p)
            state = remaining > 1 ? .prepareColumns(remaining: remaining - 1) : (deprecateEOF ? .done : .prepareColumnsEOF)
            return (.columnDefinition, isDone)
        case .prepareColumnsEOF:
            guard p.isEOF else { throw .malformed("expected EOF after the column definitions") }
            state = .done
            return (.intermediateEOF, true)
        case .fieldList:
            return try fieldListPacket(p)
        }
    }

    private mutating func finish(_ event: Event) -> (event: Event, done: Bool) {
        state = .done
        return (event, true)
    }

    private mutating func ok(_ p: MySQLPacket) throws(MySQLWireError) -> (event: Event, done: Bool) {
        guard p.isOK else { throw .malformed("expected OK or ERR, got a packet starting 0x\(String(p.header ?? 0, radix: 16))") }
        let ok = try MySQLOKPacket(payload: p.payload, capabilities: capabilities)
        state = ok.status.contains(.moreResultsExist) && kind == .resultSet ? .first : .done
        return (.ok(ok), isDone)
    }

    private mutating func fieldListPacket(_ p: MySQLPacket) throws(MySQLWireError) -> (event: Event, done: Bool) {
        if p.isERR { return finish(.error(try MySQLErrorPacket(payload: p.payload))) }
        if p.isEOF {
            state = .done
            return (.resultSetEnd(MySQLResponseEnd.status(of: p, capabilities: capabilities) ?? []), true)
        }
        try expectDefinition(p)
        return (.columnDefinition, false)
    }

    private func expectDefinition(_ p: MySQLPacket) throws(MySQLWireError) {
        guard !p.isERR, !p.isEOF else { throw .malformed("expected a column definition") }
    }
}
