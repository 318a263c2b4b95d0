import BreakwaterConfigModel
import BreakwaterCore
import BreakwaterHTTP
import BreakwaterObservability
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The command table of the admin socket. Later capabilities register more rows here.
struct AdminCommands: Sendable {
    let runtime: ProxyRuntime
    let server: ProxyServer
    let stopping: @Sendable () -> Bool
    let nbthread: Int
    /// Admin changes made through the socket (outlive a connection, not a process).
    let adminChanges = AdminChangeTracker()
    /// Receives the HC-9-style admin messages besides the backends' own log targets.
    let logger = Logger(label: "breakwater.admin")

    var all: [AdminCommand] {
        [
            AdminCommand(words: ["help"], level: .user, help: "help                        : this message") { session, _ in
                self.helpText(level: session.level)
            },
            AdminCommand(words: ["prompt"], level: .user, help: "prompt                      : toggle interactive mode with prompt") { session, _ in
                session.interactive.toggle()
                return ""
            },
            AdminCommand(words: ["quit"], level: .user, help: "quit                        : disconnect") { session, _ in
                session.wantsClose = true
                return ""
            },
            AdminCommand(words: ["show", "info"], level: .user, help: "show info                   : report information about the running process") { _, _ in
                self.showInfo()
            },
        ] + statsCommands + serverCommands + tableCommands + tlsCommands
    }

    func helpText(level: AdminLevel) -> String {
        "The following commands are valid at this level:\n"
            + all.filter { $0.level <= level }.map { "  " + $0.help }.joined(separator: "\n") + "\n"
    }

    /// Runs one command and returns its output (without the trailing empty line).
    func execute(_ args: [String], session: AdminSession) -> String {
        guard let command = all.first(where: { $0.matches(args) }) else {
            return "Unknown command: '\(args.joined(separator: " "))'\n" + helpText(level: session.level)
        }
        guard session.level >= command.level else { return "Permission denied\n" }
        return command.run(session, args)
    }

    /// `show info` (spec CLI-3).
    func showInfo() -> String {
        let now = wallClockMs()
        let uptime = Int((now - runtime.startTimeMs) / 1000)
        let p = runtime.process
        let listeners = runtime.snapshot.frontends.reduce(0) { $0 + $1.binds.count }
        let fields: [(String, String)] = [
            ("Name", "Breakwater"),
            ("Version", BreakwaterVersion.string),
            ("Release_date", BreakwaterVersion.releaseDate),
            ("Nbthread", String(nbthread)),
            ("Nbproc", "1"),
            ("Process_num", "1"),
            ("Pid", String(getpid())),
            ("Uptime", "\(uptime / 86400)d \((uptime % 86400) / 3600)h\(pad2((uptime % 3600) / 60))m\(pad2(uptime % 60))s"),
            ("Uptime_sec", String(uptime)),
            ("Maxconn", String(runtime.maxconn)),
            ("Hard_maxconn", String(runtime.maxconn)),
            ("CurrConns", String(p.currentConnections.load(ordering: .relaxed))),
            ("CumConns", String(p.cumulativeConnections.load(ordering: .relaxed))),
            ("CumReq", String(p.cumulativeRequests.load(ordering: .relaxed))),
            ("MaxSslConns", "0"),
            ("CurrSslConns", "0"),
            ("CumSslConns", "0"),
            ("Stopping", stopping() ? "1" : "0"),
            ("Jobs", String(server.activeConnections + listeners)),
            ("Listeners", String(listeners)),
            ("DroppedLogs", String(runtime.logWriter.droppedCount)),
            ("TotalBytesOut", String(p.totalBytesOut.load(ordering: .relaxed))),
            ("node", SyslogFramer.localHostname()),
            ("Start_time_sec", String(runtime.startTimeMs / 1000)),
        ]
        return fields.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n"
    }

    private func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
}
