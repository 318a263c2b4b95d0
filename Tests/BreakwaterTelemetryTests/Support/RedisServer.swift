import Foundation

/// A real redis-server (Debian's, version ≥ 7) on a free loopback port with its own temp dir, stopped by PID.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let dir: URL
    let proc: ManagedProcess

    /// `appendFsyncAlways`: AOF on with `appendfsync always` (Redis fsyncs before it replies), as `log redis-stream`
    /// needs for a 202 to mean durable.
    init(appendFsyncAlways: Bool = false) async throws {
        guard let path = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError.message("redis-server not found: install Debian's redis-server (scripts/install-test-deps.sh)")
        }
        let version = try runTool(path, ["--version"]).output
        guard let v = version.range(of: "v=")?.upperBound, let major = Int(version[v...].prefix { $0.isNumber }), major >= 7 else {
            throw HarnessError.message("redis-server 7 or newer is needed, found: \(version)")
        }
        port = Ports.free()
        dir = try makeTempDir("redis")
        proc = try ManagedProcess(executable: path, arguments: [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", dir.path, "--save", "",
        ] + (appendFsyncAlways ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]), dir: dir)
        let ok = await waitUntil(timeout: 10) { !self.proc.isRunning || Ports.accepts(self.port) }
        guard ok, proc.isRunning else { throw HarnessError.message("redis-server did not start: \(proc.stderr)\(proc.stdout)") }
    }

    /// `redis-cli -p PORT ARGS...` output.
    func cli(_ args: String...) throws -> String {
        try runTool("/usr/bin/redis-cli", ["-p", String(port)] + args).output
    }

    func stop() async {
        await proc.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}
