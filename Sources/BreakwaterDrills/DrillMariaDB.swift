#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Throwaway MariaDB servers for the data-tier drills: Debian's mariadbd on free loopback ports, each with its
/// own datadir under one temp directory, root without a password over the socket and `drill`/`drill` over TCP,
/// stopped by PID. With `galera: true`, three form a Galera cluster (the first bootstraps it with
/// --wsrep-new-cluster; the others start from a copy of its datadir, so they join without a state transfer).
public final class DrillMariaDB: @unchecked Sendable {
    public struct Node: Sendable {
        public var port: Int
        public var socket: String
        var dataDir: String
    }

    public static let user = "drill"
    public static let password = "drill"
    static let mariadbd = "/usr/sbin/mariadbd"
    static let installDB = "/usr/bin/mariadb-install-db"
    static let client = "/usr/bin/mariadb"
    static let galeraProvider = "/usr/lib/galera/libgalera_smm.so"

    public let directory: URL
    public private(set) var nodes: [Node] = []
    private var processes: [Process] = []
    public let galera: Bool

    /// Whether Galera can run here (galera-4 installed).
    public static var galeraAvailable: Bool { FileManager.default.fileExists(atPath: galeraProvider) }

    /// - Parameters:
    ///   - maxConnections: each server's `max_connections`.
    ///   - galera: three nodes in one Galera cluster instead of one standalone server.
    public init(maxConnections: Int, galera: Bool = false) throws {
        for tool in [Self.mariadbd, Self.installDB, Self.client] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw DrillError("\(tool) is missing: the drill needs a throwaway MariaDB (apt-get install mariadb-server mariadb-client)")
        }
        if galera, !Self.galeraAvailable {
            throw DrillError("\(Self.galeraProvider) is missing: a Galera drill needs galera-4 (apt-get install galera-4)")
        }
        self.galera = galera
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bw-drill-db-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            let count = galera ? 3 : 1
            let ports = try (0..<count).map { _ in try DrillConfig.freePort() }
            let gcomm = try (0..<count).map { _ in try DrillConfig.freePort() }
            let ist = try (0..<count).map { _ in try DrillConfig.freePort() }
            let dirs = (0..<count).map { directory.appendingPathComponent("node\($0)").path }
            let install = try Self.run(Self.installDB, ["--no-defaults", "--datadir=\(dirs[0])", "--user=root",
                                                        "--auth-root-authentication-method=socket", "--skip-test-db"])
            guard install.status == 0 else { throw DrillError("mariadb-install-db failed: \(install.output.suffix(1500))") }
            func args(_ i: Int, bootstrap: Bool) -> [String] {
                var a = [
                    "--no-defaults", "--datadir=\(dirs[i])", "--port=\(ports[i])", "--bind-address=127.0.0.1",
                    "--socket=\(dirs[i])/mysqld.sock", "--user=root", "--skip-name-resolve", "--max-connections=\(maxConnections)",
                    "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin",
                    "--pid-file=\(dirs[i])/mariadbd.pid", "--log-error=\(dirs[i])/error.log",
                ]
                guard galera else { return a }
                a += [
                    "--wsrep-on=ON", "--wsrep-provider=\(Self.galeraProvider)", "--wsrep-cluster-name=bw-drill",
                    "--wsrep-cluster-address=gcomm://" + gcomm.map { "127.0.0.1:\($0)" }.joined(separator: ","),
                    "--wsrep-node-address=127.0.0.1:\(gcomm[i])",
                    "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:\(gcomm[i]);ist.recv_addr=127.0.0.1:\(ist[i]);gcache.size=32M",
                    "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2", "--default-storage-engine=InnoDB",
                ]
                if bootstrap { a.append("--wsrep-new-cluster") }
                return a
            }
            try start(args(0, bootstrap: true), dir: dirs[0], port: ports[0])
            try sql("CREATE USER '\(Self.user)'@'%' IDENTIFIED BY '\(Self.password)'; GRANT ALL ON *.* TO '\(Self.user)'@'%'; CREATE DATABASE drill;")
            if galera {
                // Joiners whose datadir holds the group's exact state need no state transfer (SST needs rsync
                // or mariabackup set up as a daemon): seed node 1, stop it cleanly, copy it, start all three.
                try waitForSynced(node: 0)
                try stopCleanly(node: 0)
                try? FileManager.default.removeItem(atPath: "\(dirs[0])/mysqld.sock")
                for i in 1..<count {
                    let copy = try Self.run("/bin/cp", ["-a", dirs[0], dirs[i]])
                    guard copy.status == 0 else { throw DrillError("cannot copy the MariaDB datadir to \(dirs[i]): \(copy.output)") }
                }
                // The joiners still receive the few transactions of the restart by IST, announced through
                // wsrep_sst_rsync, whose rsync daemon runs the module as `nobody`: let it reach the throwaway datadirs.
                _ = try Self.run("/bin/chmod", ["-R", "a+rwX", directory.path])
                for i in 0..<count {
                    try start(args(i, bootstrap: i == 0), dir: dirs[i], port: ports[i])
                    try waitForSynced(node: i)
                }
                try waitForClusterSize(count)
            }
        } catch {
            stop()
            throw error
        }
    }

    private func start(_ args: [String], dir: String, port: Int) throws {
        let (node, process) = try Self.startNode(args: args, dir: dir, port: port)
        nodes.append(node)
        processes.append(process)
    }

    /// SIGTERM and wait (a clean shutdown writes Galera's grastate.dat with the last seqno).
    private func stopCleanly(node i: Int) throws {
        let p = processes[i]
        kill(p.processIdentifier, SIGTERM)
        guard Self.reap(p, within: 60) else { throw DrillError("mariadbd on 127.0.0.1:\(nodes[i].port) did not shut down within 60 s") }
        nodes.remove(at: i)
        processes.remove(at: i)
    }

    /// Waits for the child to exit; false on timeout.
    static func reap(_ p: Process, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !p.isRunning { return true }
            var status: Int32 = 0
            if waitpid(p.processIdentifier, &status, WNOHANG) == p.processIdentifier { return true }
            usleep(50_000)
        }
        return false
    }

    private static func startNode(args: [String], dir: String, port: Int) throws -> (Node, Process) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mariadbd)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let node = Node(port: port, socket: "\(dir)/mysqld.sock", dataDir: dir)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: node.socket), DrillProxy.canConnect(port) { return (node, p) }
            guard p.isRunning else { break }
            usleep(100_000)
        }
        let log = (try? String(contentsOfFile: "\(dir)/error.log", encoding: .utf8)) ?? ""
        kill(p.processIdentifier, SIGKILL)
        _ = reap(p, within: 10)
        throw DrillError("mariadbd did not start on 127.0.0.1:\(port) (datadir \(dir)): \(log.suffix(1500))")
    }

    private func waitForSynced(node i: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if (try? statusText("wsrep_local_state_comment", node: i)) == "Synced" { return }
            usleep(200_000)
        }
        let text = (try? String(contentsOfFile: "\(nodes[i].dataDir)/error.log", encoding: .utf8)) ?? ""
        throw DrillError("Galera node \(i + 1) (127.0.0.1:\(nodes[i].port)) did not reach Synced within 60 s:\n"
            + text.split(separator: "\n").suffix(12).joined(separator: "\n"))
    }

    private func waitForClusterSize(_ n: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let ready = nodes.indices.allSatisfy { i in
                (try? status("wsrep_cluster_size", node: i)) == Double(n) && (try? statusText("wsrep_ready", node: i)) == "ON"
            }
            if ready { return }
            usleep(200_000)
        }
        let logs = nodes.enumerated().map { i, node in
            let text = (try? String(contentsOfFile: "\(node.dataDir)/error.log", encoding: .utf8)) ?? ""
            let state = (try? sql("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_ready', 'wsrep_local_state_comment')", node: i)) ?? "(no answer)"
            return "node \(i + 1) (127.0.0.1:\(node.port)): \(state)\n" + text.split(separator: "\n").suffix(8).joined(separator: "\n")
        }
        throw DrillError("the Galera cluster did not reach \(n) nodes within 60 s:\n" + logs.joined(separator: "\n"))
    }

    /// Runs SQL as root over node `node`'s socket with the `mariadb` client; returns its tab-separated output.
    @discardableResult
    public func sql(_ statements: String, node: Int = 0) throws -> String {
        let r = try Self.run(Self.client, ["--no-defaults", "--socket=\(nodes[node].socket)", "-uroot", "-N", "-B", "-e", statements])
        guard r.status == 0 else { throw DrillError("mariadb -e '\(statements.prefix(120))' on 127.0.0.1:\(nodes[node].port): \(r.output)") }
        return r.output
    }

    /// A numeric `SHOW GLOBAL STATUS` value.
    public func status(_ name: String, node: Int = 0) throws -> Double {
        Double(try statusText(name, node: node)) ?? 0
    }

    func statusText(_ name: String, node: Int) throws -> String {
        let out = try sql("SHOW GLOBAL STATUS LIKE '\(name)'", node: node)
        return out.split(separator: "\t").dropFirst().first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }

    /// A status value summed over every node.
    public func statusSum(_ name: String) throws -> Double {
        try nodes.indices.reduce(0) { $0 + (try status(name, node: $1)) }
    }

    public func stop() {
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            _ = Self.reap(p, within: 10)
        }
        processes = []
        nodes = []
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
