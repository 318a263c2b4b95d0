import BreakwaterBalancing
import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// Server state carried across a hitless reload (HAProxy's `server-state-file` idea).
///
/// Precedence, decided up front: for a server that keeps its backend, name and address, the running
/// process's health counter, administrative state (maint/drain set from the admin socket) and
/// weight win over the new configuration; a server whose address changed, or a new server, starts
/// from its configuration. One line per server:
/// `backend server host:port health unconfirmed(0|1) admin(ready|drain|maint) weight`.
public enum ServerStateFile {
    public static func render(_ runtime: ProxyRuntime) -> String {
        var out = "# breakwater server state v1\n"
        for backend in runtime.backends {
            let load = backend.balancer.load()
            for server in backend.servers {
                let snap = server.health?.snapshot
                let health = snap?.state.health ?? -1
                let unconfirmed = (snap?.state.unconfirmed ?? true) ? 1 : 0
                let s = load.servers[server.index]
                out += "\(backend.config.name) \(server.config.name) \(server.config.host):\(server.config.port) "
                    + "\(health) \(unconfirmed) \(s.adminState.rawValue) \(s.weight)\n"
            }
        }
        return out
    }

    /// Applies a saved state to a freshly built runtime; returns how many servers were restored.
    @discardableResult
    public static func apply(_ text: String, to runtime: ProxyRuntime) -> Int {
        var restored = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 7, let health = Int(f[3]), let weight = Int(f[6]),
                  let admin = ServerAdminState(rawValue: f[5]),
                  let backend = runtime.backends.first(where: { $0.config.name == f[0] }),
                  let index = backend.servers.firstIndex(where: { $0.config.name == f[1] }) else { continue }
            let server = backend.servers[index]
            guard "\(server.config.host):\(server.config.port)" == f[2] else { continue }
            if let h = server.health, health >= 0 {
                h.restore(health: health, unconfirmed: f[4] == "1")
                backend.balancer.setUp(server: index, h.isUp)
            }
            backend.balancer.setAdminState(server: index, admin)
            backend.balancer.setWeight(server: index, weight)
            restored += 1
        }
        return restored
    }

    public static func write(_ text: String, to path: String) -> Bool {
        guard let f = fopen(path, "w") else { return false }
        defer { fclose(f) }
        return fputs(text, f) >= 0
    }

    public static func read(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
