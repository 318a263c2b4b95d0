import BreakwaterConfigModel

/// `server s1 10.0.0.1` without a port. HAProxy then connects to the port the client connected to;
/// in HTTP mode that is the port of the frontend's bind. Breakwater resolves it once, here: a
/// backend reached only through binds of one port uses that port. Reached through several ports it
/// is an error (write the port); reached from nowhere, a warning (nothing can pick the port).
extension ConfigParseSession {
    mutating func resolveServerPorts(_ snapshot: inout ConfigSnapshot) {
        for b in snapshot.backends.indices {
            let backend = snapshot.backends[b]
            guard backend.servers.contains(where: { $0.port == 0 && $0.unixSocketPath == nil }) else { continue }
            var ports: Set<Int> = []
            for fe in snapshot.frontends
            where fe.defaultBackend == backend.name || fe.useBackendRules.contains(where: { $0.backend == backend.name })
                || (fe.name == backend.name && fe.location == backend.location) {
                for bind in fe.binds { ports.insert(bind.port) }
            }
            for s in backend.servers.indices {
                let server = backend.servers[s]
                guard server.port == 0, server.unixSocketPath == nil else { continue }
                if ports.count == 1, let port = ports.first {
                    snapshot.backends[b].servers[s].port = port
                } else if ports.isEmpty {
                    warning("server '\(server.name)' has no port and no frontend sends traffic to backend "
                            + "'\(backend.name)', so the port of the client connection is unknown; write the port", server.location)
                } else {
                    error("server '\(server.name)' has no port: backend '\(backend.name)' is reached through the ports "
                          + ports.sorted().map(String.init).joined(separator: ", ")
                          + " and Breakwater uses one port per server; write the port", server.location)
                }
            }
        }
    }
}
