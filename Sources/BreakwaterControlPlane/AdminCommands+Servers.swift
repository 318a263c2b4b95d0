import BreakwaterBalancing
import BreakwaterConfigModel
import BreakwaterHTTP
import Synchronization

/// Servers whose admin state was changed through the socket. A server `disabled` in the
/// configuration keeps its config-maintenance bit (0x04) until the socket changes it (CLI-5, CLI-7).
final class AdminChangeTracker: Sendable {
    private let changedServers: Mutex<Set<[Int]>> = Mutex([])

    func markChanged(backend: Int, server: Int) {
        _ = changedServers.withLock { $0.insert([backend, server]) }
    }

    func changed(backend: Int, server: Int) -> Bool {
        changedServers.withLock { $0.contains([backend, server]) }
    }
}

/// Admin-level server commands (CLI-7, CLI-8).
extension AdminCommands {
    var serverCommands: [AdminCommand] {
        [
            AdminCommand(words: ["disable", "server"], level: .admin,
                         help: "disable server <bk>/<srv>   : put a server in maintenance (= set server state maint)") { _, args in
                self.changeState(args.count > 2 ? args[2] : nil, to: .maint)
            },
            AdminCommand(words: ["enable", "server"], level: .admin,
                         help: "enable server <bk>/<srv>    : take a server out of maintenance/drain (= set server state ready)") { _, args in
                self.changeState(args.count > 2 ? args[2] : nil, to: .ready)
            },
            AdminCommand(words: ["set", "server"], level: .admin,
                         help: "set server <bk>/<srv> state ready|drain|maint | weight <w>[%] : change a server's state or weight") { _, args in
                self.setServer(Array(args.dropFirst(2)))
            },
            AdminCommand(words: ["set", "weight"], level: .admin,
                         help: "set weight <bk>/<srv> <w>[%] : change a server's weight (deprecated form)") { _, args in
                guard args.count > 2 else { return "Require 'backend/server'.\n" }
                return self.setWeight(args[2], args.count > 3 ? args[3] : "")
            },
            AdminCommand(words: ["get", "weight"], level: .operator,
                         help: "get weight <bk>/<srv>       : report a server's current and initial weight") { _, args in
                switch self.findServer(args.count > 2 ? args[2] : nil) {
                case .failure(let e): return e.message
                case .success(let (be, index)):
                    let w = be.balancer.load().servers[index].weight
                    return "\(w) (initial \(be.servers[index].config.weight))\n"
                }
            },
        ]
    }

    struct LookupError: Error {
        let message: String
    }

    /// Resolves `<backend>/<server>`; both parts may be `#<id>` (CLI-7).
    func findServer(_ arg: String?) -> Result<(BackendRuntime, Int), LookupError> {
        guard let arg, let slash = arg.firstIndex(of: "/") else {
            return .failure(LookupError(message: "Require 'backend/server'.\n"))
        }
        let collector = StatsCollector(runtime: runtime)
        guard let be = collector.backendProxy(String(arg[..<slash]))?.backend else {
            return .failure(LookupError(message: "No such backend.\n"))
        }
        guard let index = be.serverIndex(named: String(arg[arg.index(after: slash)...])) else {
            return .failure(LookupError(message: "No such server.\n"))
        }
        return .success((be, index))
    }

    /// `set server <b>/<s> state …|weight …`.
    func setServer(_ args: [String]) -> String {
        let target: (BackendRuntime, Int)
        switch findServer(args.first) {
        case .failure(let e): return e.message
        case .success(let t): target = t
        }
        guard args.count > 1 else { return "'set server <srv>' only supports 'state' and 'weight'.\n" }
        switch args[1] {
        case "state":
            let states: [String: ServerAdminState] = ["ready": .ready, "drain": .drain, "maint": .maint]
            guard args.count > 2, let state = states[args[2]] else {
                return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
            }
            apply(state, to: target)
            return ""
        case "weight":
            return setWeight(args[0], args.count > 2 ? args[2] : "")
        default:
            return "'set server <srv>' only supports 'state' and 'weight'.\n"
        }
    }

    func changeState(_ arg: String?, to state: ServerAdminState) -> String {
        switch findServer(arg) {
        case .failure(let e): return e.message
        case .success(let target):
            apply(state, to: target)
            return ""
        }
    }

    private func apply(_ state: ServerAdminState, to target: (BackendRuntime, Int)) {
        let (be, index) = target
        let old = be.balancer.adminState(server: index) ?? .ready
        be.setAdminState(server: index, state, logger: logger)
        // Leaving maintenance clears the configuration's `disabled` too (HAProxy clears CMAINT).
        if state != .maint { adminChanges.markChanged(backend: be.index, server: index) }
        // A checked server leaving MAINT restarts at h = rise (UP, unconfirmed): the balancer must
        // see it as UP even if it was DOWN before maintenance (the next check confirms or not).
        if old == .maint, state != .maint, let health = be.servers[index].health {
            be.balancer.setUp(server: index, health.isUp)
        }
    }

    /// `set server <b>/<s> weight <w>[%]` (CLI-8): absolute 0–256, or percent of the initial weight.
    func setWeight(_ serverArg: String, _ weight: String) -> String {
        let (be, index): (BackendRuntime, Int)
        switch findServer(serverArg) {
        case .failure(let e): return e.message
        case .success(let t): (be, index) = t
        }
        guard !weight.isEmpty else { return "Require <weight> or <weight%>.\n" }
        let initial = be.servers[index].config.weight
        let w: Int
        if weight.hasSuffix("%") {
            guard let pct = Int(weight.dropLast()) else { return "Empty weight string empty or preceded by garbage\n" }
            guard pct >= 0 else { return "Relative weight must be positive.\n" }
            w = min(256, initial * min(pct, 25600) / 100)
        } else {
            guard let abs = Int(weight) else {
                return Int(weight.prefix { $0.isNumber || $0 == "-" }) == nil
                    ? "Empty weight string empty or preceded by garbage\n" : "Trailing garbage in weight string\n"
            }
            guard (0...256).contains(abs) else { return "Absolute weight can only be between 0 and 256 inclusive.\n" }
            w = abs
        }
        be.balancer.setWeight(server: index, w)
        return ""
    }
}
