import Foundation

// Adapted from Tests/BreakwaterMySQLMuxTests/Support (copied, not shared: the brief).
/// A throwaway MariaDB (Debian's mariadbd) on a free loopback port with its own datadir, killed by PID.
final class MariaDBServer: @unchecked Sendable {
    let directory: URL
    let port: Int
    private var process: Process?

    static let rootPassword = "rootpw"

    init(maxConnections: Int = 400) throws {
        for tool in ["/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else {
                throw HarnessError.message("\(tool) is missing: install mariadb-server and mariadb-client (scripts/install-test-deps.sh)")
            }
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bw-mariadb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = Ports.free()
        // A temp dir of its own: the shared /tmp can hold another server's '#sql-temptable-<pid>-...' of the same name.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        let install = try runTool("/usr/bin/mariadb-install-db", [
            "--no-defaults", "--datadir=\(directory.path)/data", "--user=root", "--auth-root-authentication-method=normal",
            "--skip-test-db", "--tmpdir=\(directory.path)/tmp",
        ])
        guard install.status == 0 else { throw HarnessError.message("mariadb-install-db failed: \(install.output)") }
        try start(maxConnections: maxConnections)
        try sql("ALTER USER 'root'@'localhost' IDENTIFIED BY '\(Self.rootPassword)'; "
            + "CREATE USER 'writer'@'%' IDENTIFIED BY 'secret'; GRANT ALL ON *.* TO 'writer'@'%'; "
            + "CREATE DATABASE factory; FLUSH PRIVILEGES;", password: "")
    }

    var socketPath: String { directory.path + "/mysqld.sock" }

    func start(maxConnections: Int = 400) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/mariadbd")
        p.arguments = [
            "--no-defaults", "--datadir=\(directory.path)/data", "--port=\(port)", "--bind-address=127.0.0.1",
            "--socket=\(socketPath)", "--user=root", "--skip-name-resolve", "--max-connections=\(maxConnections)",
            "--innodb-buffer-pool-size=32M", "--max-allowed-packet=64M", "--skip-log-bin", "--pid-file=\(directory.path)/mariadbd.pid",
            "--log-error=\(directory.path)/error.log", "--tmpdir=\(directory.path)/tmp",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: socketPath), Ports.accepts(port) { return }
            guard p.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let log = (try? String(contentsOfFile: directory.path + "/error.log", encoding: .utf8)) ?? ""
        stop()
        throw HarnessError.message("mariadbd did not start on 127.0.0.1:\(port): \(log.suffix(2000))")
    }

    /// Runs SQL as root over the socket with the `mariadb` client; returns its tab-separated output.
    @discardableResult
    func sql(_ statements: String, password: String = MariaDBServer.rootPassword) throws -> String {
        var args = ["--no-defaults", "--socket=\(socketPath)", "-uroot", "-N", "-B", "-e", statements]
        if !password.isEmpty { args.insert("-p\(password)", at: 3) }
        let r = try runTool("/usr/bin/mariadb", args)
        guard r.status == 0 else { throw HarnessError.message("mariadb -e \(statements): \(r.output)") }
        return r.output
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs a tool to completion; its exit status and combined output.
func runTool(_ path: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
