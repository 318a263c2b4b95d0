/// The 100 fixed `show stat` columns of HAProxy 2.6/2.8, in order (spec CLI-4).
/// The case name is the column name; the raw value is the 0-based column index.
public enum StatColumn: Int, CaseIterable, Sendable {
    case pxname, svname, qcur, qmax, scur, smax, slim, stot, bin, bout
    case dreq, dresp, ereq, econ, eresp, wretr, wredis, status, weight, act
    case bck, chkfail, chkdown, lastchg, downtime, qlimit, pid, iid, sid, throttle
    case lbtot, tracked, type, rate, rate_lim, rate_max, check_status, check_code, check_duration, hrsp_1xx
    case hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other, hanafail, req_rate, req_rate_max, req_tot, cli_abrt
    case srv_abrt, comp_in, comp_out, comp_byp, comp_rsp, lastsess, last_chk, last_agt, qtime, ctime
    case rtime, ttime, agent_status, agent_code, agent_duration, check_desc, agent_desc, check_rise, check_fall, check_health
    case agent_rise, agent_fall, agent_health, addr, cookie, mode, algo, conn_rate, conn_rate_max, conn_tot
    case intercepted, dcon, dses, wrew, connect, reuse, cache_lookups, cache_hits, srv_icur, src_ilim
    case qtime_max, ctime_max, rtime_max, ttime_max, eint, idle_conn_cur, safe_conn_cur, used_conn_cur, need_conn_est, uweight

    /// The column name as printed in the CSV header.
    public var name: String { String(describing: self) }
}

/// `type` column of a stats row.
public enum StatObjectType: Int, Sendable {
    case frontend = 0, backend = 1, server = 2, listener = 3
}

/// One row of `show stat`: a frontend, backend or server, with every column as text
/// (empty = not applicable). Built by the data-path side, rendered here without any I/O.
public struct StatsRow: Sendable, Equatable {
    public let type: StatObjectType
    private var values: [String]

    public init(type: StatObjectType, proxy: String, name: String) {
        self.type = type
        values = Array(repeating: "", count: StatColumn.allCases.count)
        values[StatColumn.pxname.rawValue] = proxy
        values[StatColumn.svname.rawValue] = name
        values[StatColumn.type.rawValue] = String(type.rawValue)
    }

    public subscript(_ column: StatColumn) -> String {
        get { values[column.rawValue] }
        set { values[column.rawValue] = newValue }
    }

    /// Sets an integer column.
    public mutating func set(_ column: StatColumn, _ value: Int) {
        values[column.rawValue] = String(value)
    }

    /// Sets an integer column, or leaves it empty when nil.
    public mutating func set(_ column: StatColumn, _ value: Int?) {
        values[column.rawValue] = value.map(String.init) ?? ""
    }

    /// The integer value of a column, nil when empty or not numeric.
    public func int(_ column: StatColumn) -> Int? { Int(values[column.rawValue]) }

    public var proxy: String { self[.pxname] }
    public var name: String { self[.svname] }
    public var allValues: [String] { values }

    /// Display class of the row's state, for colouring (stats page) and the `state` label (Prometheus).
    public var displayState: DisplayState { DisplayState(status: self[.status]) }
}

/// A coarse state derived from the `status` column text (HC-3 display strings).
public enum DisplayState: String, Sendable, CaseIterable {
    /// `OPEN` (frontends) or `UP`.
    case up
    /// `UP x/y`: still UP but failing checks, or `DOWN x/y`: DOWN but passing checks.
    case goingDown, goingUp
    case down
    case maint
    case drain
    /// `no check`: unchecked server, always considered UP.
    case noCheck
    case unknown

    public init(status: String) {
        if status == "OPEN" || status == "UP" {
            self = .up
        } else if status.hasPrefix("UP ") {
            self = .goingDown
        } else if status == "DOWN" {
            self = .down
        } else if status.hasPrefix("DOWN ") {
            self = .goingUp
        } else if status.hasPrefix("MAINT") {
            self = .maint
        } else if status.hasPrefix("DRAIN") {
            self = .drain
        } else if status == "no check" {
            self = .noCheck
        } else {
            self = .unknown
        }
    }
}
