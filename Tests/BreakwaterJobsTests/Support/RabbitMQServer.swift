import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real RabbitMQ (Debian `rabbitmq-server`) for the `queue amqp` tests: its own node name, mnesia and log
/// directories, AMQP port, distribution port and a private epmd, all on loopback. Started once for the suite
/// (it takes several seconds to boot); every process it started is killed by PID (the broker by its process
/// group) when the test process exits, also after a failure.
final class RabbitMQServer: @unchecked Sendable {
    let dir: URL
    let port: Int
    let distPort: Int
    let epmdPort: Int
    let nodeName: String
    private(set) var broker: ManagedProcess?
    private(set) var epmd: ManagedProcess?

    static let serverScript = "/usr/lib/rabbitmq/bin/rabbitmq-server"

    /// The suite's broker, started on first use.
    static let shared = Task { () throws -> RabbitMQServer in
        let server = try RabbitMQServer()
        try await server.start()
        return server
    }

    init() throws {
        for path in [Self.serverScript, "/usr/bin/epmd"] where !FileManager.default.isExecutableFile(atPath: path) {
            throw HarnessError.message("\(path) is missing: the queue amqp tests need rabbitmq-server (scripts/install-test-deps.sh installs it)")
        }
        dir = try makeTempDir("rabbitmq")
        port = Ports.free()
        distPort = Ports.free()
        epmdPort = Ports.free()
        nodeName = "bwjobs\(getpid())@localhost"
        try "[].".write(to: dir.appendingPathComponent("enabled_plugins"), atomically: true, encoding: .utf8)
        try "log.console = false\n".write(to: dir.appendingPathComponent("rabbitmq.conf"), atomically: true, encoding: .utf8)
    }

    var url: String { "amqp://guest:guest@127.0.0.1:\(port)/" }

    func start() async throws {
        if epmd == nil {
            let e = try ManagedProcess(executable: "/usr/bin/epmd", arguments: ["-port", "\(epmdPort)", "-address", "127.0.0.1"],
                                       dir: try subdir("epmd"))
            epmd = e
            RabbitPIDs.register(e.pid, group: false)
        }
        var env = ProcessInfo.processInfo.environment
        let d = dir.path
        env["HOME"] = d
        env["RABBITMQ_MNESIA_BASE"] = d + "/mnesia"
        env["RABBITMQ_LOG_BASE"] = d + "/log"
        env["RABBITMQ_NODENAME"] = nodeName
        env["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1"
        env["RABBITMQ_NODE_PORT"] = "\(port)"
        env["RABBITMQ_DIST_PORT"] = "\(distPort)"
        env["ERL_EPMD_PORT"] = "\(epmdPort)"
        env["ERL_EPMD_ADDRESS"] = "127.0.0.1"
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = d + "/enabled_plugins"
        env["RABBITMQ_CONFIG_FILE"] = d + "/rabbitmq"
        env["RABBITMQ_PID_FILE"] = d + "/rabbitmq.pid"
        env["ERL_CRASH_DUMP"] = d + "/erl_crash.dump"  // never into the working tree
        env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}"
        // The broker is a shell script that starts beam.smp, which starts helpers in sessions of their own
        // (erl_child_setup): it is stopped by killing its whole process tree, PID by PID.
        let b = try ManagedProcess(executable: Self.serverScript, arguments: [], dir: try subdir("broker"), environment: env)
        broker = b
        RabbitPIDs.register(b.pid, group: true)
        let up = await waitUntil(timeout: 90) { !b.isRunning || Ports.accepts(self.port) }
        guard up, b.isRunning else {
            let log = (try? String(contentsOf: dir.appendingPathComponent("broker/stdout.log"), encoding: .utf8)) ?? ""
            killTree(b.pid)
            throw HarnessError.message("rabbitmq-server did not listen on 127.0.0.1:\(port) within 90 s; output:\n\(log.suffix(3000))\n\(b.stderr.suffix(2000))")
        }
    }

    /// kill -9 of the whole broker (the durable queue and confirmed persistent messages must survive it).
    func kill9() async {
        guard let b = broker else { return }
        killTree(b.pid)
        _ = await b.waitExit(timeout: 10)
        RabbitPIDs.unregister(b.pid)
        broker = nil
        _ = await waitUntil(timeout: 10) { !Ports.accepts(self.port) }
    }

    private func subdir(_ name: String) throws -> URL {
        let u = dir.appendingPathComponent(name + "-\(UUID().uuidString.prefix(4))")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

/// PIDs the suite started for RabbitMQ, killed at process exit (also when a test failed).
enum RabbitPIDs {
    private static let pids = Locked<[pid_t: Bool]>([:])
    private static let installed = Locked(false)

    static func register(_ pid: pid_t, group: Bool) {
        pids.withLock { $0[pid] = group }
        installed.withLock { done in
            guard !done else { return }
            done = true
            atexit { RabbitPIDs.killAll() }
        }
    }

    static func unregister(_ pid: pid_t) { pids.withLock { $0[pid] = nil } }

    static func killAll() {
        for (pid, tree) in pids.current {
            if tree { killTree(pid) } else { kill(pid, SIGKILL) }
        }
    }
}

/// SIGKILLs `root` and every descendant (found through /proc before any is killed, so none is re-parented
/// away first), each by its PID.
func killTree(_ root: pid_t) {
    var children: [pid_t: [pid_t]] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let ppid = pid_t(fields[1]) { children[ppid, default: []].append(pid) }
    }
    var tree: [pid_t] = [root], i = 0
    while i < tree.count {
        tree += children[tree[i]] ?? []
        i += 1
    }
    for pid in tree { kill(pid, SIGSTOP) }  // freeze first: nothing forks or re-spawns while we kill
    for pid in tree { kill(pid, SIGKILL) }
}
