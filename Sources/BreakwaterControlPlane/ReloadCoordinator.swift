import BreakwaterHTTP
import Dispatch
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Hitless reload (`kill -USR2 <pid>`): validate the new configuration with the same parser the
/// proxy uses, save server state, and start a successor process that inherits the listening
/// sockets. The successor sends this process SIGUSR1 once it serves; this process then stops
/// accepting, finishes in-flight requests and exits. A configuration that fails validation, or a
/// successor that dies before taking over, leaves this process serving.
public struct ReloadCoordinator: Sendable {
    public let arguments: [String]
    public let server: ProxyServer
    public let runtime: ProxyRuntime
    public let logger: Logger
    /// Validates the configuration files; returns the diagnostics' text when they have errors.
    public let validate: @Sendable () -> String?
    /// The admin sockets, handed over with the listeners so the successor never re-creates them.
    public let admin: AdminServer?

    public init(arguments: [String], server: ProxyServer, runtime: ProxyRuntime, logger: Logger,
                admin: AdminServer? = nil, validate: @escaping @Sendable () -> String?) {
        self.arguments = arguments
        self.admin = admin
        self.server = server
        self.runtime = runtime
        self.logger = logger
        self.validate = validate
    }

    /// Set when this process has handed over (SIGUSR1 from the successor).
    public let handedOver = HandoverFlag()

    /// Returns the successor's pid, or nil if the reload was refused.
    @discardableResult
    public func reload() async -> pid_t? {
        if let problems = validate() {
            logger.error("reload refused: the new configuration is invalid; still serving the old one\n\(problems)")
            return nil
        }
        let statePath = "/tmp/breakwater-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        guard ServerStateFile.write(ServerStateFile.render(runtime), to: statePath) else {
            logger.error("reload refused: cannot write the server state file \(statePath)")
            return nil
        }
        let sockets = server.listeningSockets
        let adminSockets = admin?.listeningSockets ?? []
        for s in sockets + adminSockets { ListenerSockets.makeInheritable(s.fd) }
        defer { for s in sockets + adminSockets { ListenerSockets.makeNonInheritable(s.fd) } }

        // Only one process may poll the shared listening sockets at a time: this one stops accepting
        // now (the kernel keeps queueing connections) and resumes if the successor never takes over.
        await server.pauseAccepting()
        var env = ProcessEnvironment.current()
        env[ListenerSockets.environmentKey] = AdminListenerSockets.environmentValue(sockets)
        env[AdminListenerSockets.environmentKey] = AdminListenerSockets.environmentValue(adminSockets)
        let exe = Self.executablePath()
        let argv = [exe] + arguments + ["-sf", String(getpid()), "--server-state-file", statePath]
        guard let pid = Self.spawn(exe, argv, env.map { "\($0.key)=\($0.value)" }) else {
            logger.error("reload failed: cannot start \(exe): \(String(cString: strerror(errno)))")
            await server.resumeAccepting()
            return nil
        }
        logger.notice("reload: started successor pid \(pid); handing over listeners")
        let logger = self.logger
        let server = self.server
        let handedOver = self.handedOver
        DispatchQueue.global().async {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            guard !handedOver.isSet else { return }
            logger.warning("reload failed: successor pid \(pid) exited (status \(status)) before taking over; still serving")
            Task { await server.resumeAccepting() }
        }
        return pid
    }

    static func executablePath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func spawn(_ path: String, _ argv: [String], _ env: [String]) -> pid_t? {
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        let rc = posix_spawn(&pid, path, nil, nil, cArgs, cEnv)
        return rc == 0 ? pid : nil
    }
}

/// The process environment as a dictionary.
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}

/// Set once, from the signal task; read from the successor watcher thread.
public final class HandoverFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .relaxed) }
    public func set() { flag.store(true, ordering: .relaxed) }
}
