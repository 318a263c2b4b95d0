import BreakwaterBalancing
import BreakwaterObservability
import Logging

extension BackendRuntime {
    /// Changes a server's administrative state from the admin socket (spec CLI-7), with the health
    /// side effects HAProxy has: entering MAINT stops checks (h := 0 for display), leaving MAINT
    /// restarts the server unconfirmed at h = rise (usable at once, confirmed by the next check).
    /// Returns the HC-9-style message that was logged, if any.
    @discardableResult
    public func setAdminState(server index: Int, _ newState: ServerAdminState, logger: Logger) -> String? {
        guard servers.indices.contains(index) else { return nil }
        let server = servers[index]
        let old = balancer.adminState(server: index) ?? .ready
        guard old != newState else { return nil }
        if old == .maint, let health = server.health {
            // Leaving maintenance: usable at once, unconfirmed (HC-3); the next check decides.
            health.restart()
            balancer.setUp(server: index, true)
        }
        balancer.setAdminState(server: index, newState)
        let name = "\(config.name)/\(server.config.name)"
        let message: String
        switch (old, newState) {
        case (_, .maint):
            let load = balancer.load()
            message = "Server \(name) is going DOWN for maintenance. \(load.servers[index].served) active sessions, "
                + "\(load.queued) remaining in queue."
            logStateChange(message, severity: old == .drain ? 5 : 1, processLogger: logger)
        case (.maint, .ready):
            message = "Server \(name) is UP/READY (leaving forced maintenance)."
            logStateChange(message, severity: 5, processLogger: logger)
        case (.maint, .drain):
            message = "Server \(name) is UP/DRAIN (leaving forced maintenance)."
            logStateChange(message, severity: 5, processLogger: logger)
        case (.drain, .ready):
            message = "Server \(name) is UP (leaving forced drain)."
            logStateChange(message, severity: 5, processLogger: logger)
        default:
            message = "Server \(name) enters drain mode."
            logStateChange(message, severity: 5, processLogger: logger)
        }
        return message
    }

    /// Finds a server by name or `#id` (1-based).
    public func serverIndex(named name: String) -> Int? {
        if name.hasPrefix("#"), let id = Int(name.dropFirst()), servers.indices.contains(id - 1) { return id - 1 }
        return servers.firstIndex { $0.config.name == name }
    }
}

extension ServerHealth {
    /// Display status including admin state (HC-3 display rules, CLI-4 `status`).
    public func statusText(adminState: ServerAdminState) -> String {
        let s = snapshot.state
        switch adminState {
        case .maint: return "MAINT"
        case .drain:
            let text = s.statusText
            return text.hasPrefix("UP ") ? "DRAIN" + text.dropFirst(2) : (s.isUp ? "DRAIN" : text)
        case .ready: return s.statusText
        }
    }
}
