import BreakwaterConfigModel
#if canImport(Glibc)
import Glibc
#endif

/// Start-up checks that need the file system, done before any socket is opened so a failure leaves
/// nothing behind. Each message names the path and the OS error in words.
enum StartupChecks {
    static func osError(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// The pidfile must be writable (HAProxy refuses to start otherwise). Returns the error text.
    static func pidfileProblem(_ path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "[ALERT] cannot create the pidfile '\(path)': \(osError())" }
        close(fd)
        return nil
    }

    /// Writes this process's pid into the pidfile; the error text on failure.
    static func writePidfile(_ path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "[ALERT] cannot write the pidfile '\(path)': \(osError())" }
        defer { close(fd) }
        let text = Array("\(getpid())\n".utf8)
        let n = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n == text.count ? nil : "[ALERT] cannot write the pidfile '\(path)': \(osError())"
    }

    /// UNIX datagram log targets that cannot receive (no such socket): like HAProxy, say so at start;
    /// the proxy still runs, and those log lines are lost until the socket exists.
    static func logTargetAlerts(_ snapshot: ConfigSnapshot) -> [String] {
        var targets = snapshot.global.logTargets
        for fe in snapshot.frontends { targets += fe.logTargets }
        var seen: Set<String> = []
        var out: [String] = []
        for t in targets {
            guard case .unixDatagram(let path) = t.destination, seen.insert(path).inserted else { continue }
            var st = stat()
            if stat(path, &st) != 0 {
                out.append("[ALERT] log socket '\(path)': \(osError()); log lines sent there are lost until it exists")
            } else if (st.st_mode & S_IFMT) != S_IFSOCK {
                out.append("[ALERT] log socket '\(path)': not a UNIX socket; log lines sent there are lost")
            }
        }
        return out
    }
}
