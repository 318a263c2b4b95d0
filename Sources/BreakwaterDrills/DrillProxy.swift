#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The user's configuration with loopback addresses substituted: every `bind` on a free 127.0.0.1 port,
/// the target backend's servers on the drill backends, process-level lines that touch the host removed.
public struct DrillConfig: Sendable {
    public var text: String
    /// The first bind's port (where the load goes).
    public var port: Int

    /// - Parameters:
    ///   - backend: the backend whose servers are replaced by `ports` (extra servers are cloned from its first one).
    ///   - edit: changes to the target backend's body lines (e.g. swap `option httpchk` for `option tcp-check`).
    ///   - addToBackend: lines appended to the target backend.
    ///   - addToFrontends: lines appended to every frontend.
    ///   - dropRequestRules: leave out `http-request` and `tcp-request` lines everywhere.
    ///   - serverEdit: changes to the target backend's server lines (words; address already substituted).
    public init(original: String, backend: String, ports: [Int], edit: (String) -> String? = { $0 },
                serverEdit: ([String]) -> [String] = { $0 },
                addToBackend: [String] = [], addToFrontends: [String] = [], dropRequestRules: Bool = false) throws {
        var out: [String] = []
        var firstPort: Int?
        var section = ""
        var sectionName = ""
        var serverTemplate: [String]?
        var serverIndex = 0
        func flushBackend() {
            guard section == "backend" || section == "listen", sectionName == backend else { return }
            if let tpl = serverTemplate {
                while serverIndex < ports.count {
                    var w = tpl
                    w[1] = w[1] + "_d\(serverIndex)"
                    w[2] = "127.0.0.1:\(ports[serverIndex])"
                    out.append("    " + serverEdit(w).joined(separator: " "))
                    serverIndex += 1
                }
            }
            out += addToBackend.map { "    " + $0 }
        }
        func flushFrontend() {
            if section == "frontend" || section == "listen" { out += addToFrontends.map { "    " + $0 } }
        }
        for raw in original.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let kw = words.first, !kw.hasPrefix("#") else { out.append(line); continue }
            if ["global", "defaults", "frontend", "backend", "listen"].contains(kw) || Self.dataTierSections.contains(kw) {
                flushBackend()
                flushFrontend()
                section = kw
                sectionName = words.count > 1 ? words[1] : ""
                out.append(line)
                continue
            }
            if section == "global", ["daemon", "pidfile", "user", "group", "chroot", "log", "stats", "master-worker"].contains(kw) {
                continue
            }
            if kw == "log" && words.count > 1 && words[1] != "global" { continue }
            // Drills that measure the servers drop the request rules (a rate limit would tarpit the drill's own load).
            if dropRequestRules, kw == "http-request" || kw == "tcp-request" { continue }
            if kw == "bind" {
                let p = try Self.freePort()
                if firstPort == nil { firstPort = p }
                out.append("    bind 127.0.0.1:\(p)")
                continue
            }
            if kw == "server" && words.count >= 3 {
                var w = Self.stripCheckAddress(words)
                if (section == "backend" || section == "listen") && sectionName == backend {
                    if serverTemplate == nil { serverTemplate = w }
                    guard serverIndex < ports.count else { continue }
                    w[2] = "127.0.0.1:\(ports[serverIndex])"
                    w = serverEdit(w)
                    serverIndex += 1
                } else {
                    w[2] = "127.0.0.1:\(ports.first ?? 9)"
                }
                out.append("    " + w.joined(separator: " "))
                continue
            }
            if (section == "backend" || section == "listen") && sectionName == backend {
                if let edited = edit(line.trimmingCharacters(in: .whitespaces)) { out.append("    " + edited) }
                continue
            }
            out.append(line)
        }
        flushBackend()
        flushFrontend()
        guard let firstPort else { throw DrillError("the configuration has no 'bind' line: a drill needs a frontend to send traffic to") }
        text = out.joined(separator: "\n") + "\n"
        port = firstPort
    }

    static let dataTierSections: Set<String> = ["mysql-mux", "telemetry", "jobs", "fcgi-app"]

    /// `port N` / `addr A` on a server line would send checks to the original host.
    static func stripCheckAddress(_ w: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < w.count {
            if i >= 3, w[i] == "port" || w[i] == "addr", i + 1 < w.count { i += 2; continue }
            out.append(w[i])
            i += 1
        }
        return out
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw DrillError("cannot get a free loopback port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A child `breakwater proxy -f FILE`, stopped by its PID.
public final class DrillProxy: @unchecked Sendable {
    let process = Process()
    public let dir: URL
    public let port: Int

    public init(binary: String, config: DrillConfig) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-drill-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cfg = dir.appendingPathComponent("drill.cfg")
        try config.text.write(to: cfg, atomically: true, encoding: .utf8)
        port = config.port
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["proxy", "-f", cfg.path]
        let log = dir.appendingPathComponent("proxy.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while !Self.canConnect(port) {
            if !process.isRunning || Date() > deadline {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                stop()
                throw DrillError("breakwater proxy did not start on 127.0.0.1:\(port):\n\(text)")
            }
            usleep(50_000)
        }
    }

    public var pid: Int32 { process.processIdentifier }

    /// utime + stime of the child, seconds (/proc/PID/stat).
    public var cpuSeconds: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields after the command: state is [0]; utime and stime are stat fields 14 and 15 → [11], [12].
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    static func canConnect(_ port: Int) -> Bool {
        var c = LoadClient(port: port)
        c.timeoutSeconds = 1
        let fd = c.connect(source: nil)
        if fd >= 0 { close(fd); return true }
        return false
    }
}
