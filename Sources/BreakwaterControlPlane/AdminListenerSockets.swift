import BreakwaterConfigModel
import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The listening sockets of the `stats socket` lines, made by Breakwater itself so that a reload hands
/// the very same sockets to the successor (like the proxy listeners): a UNIX socket file is never
/// re-created, so nobody sees it vanish, and a TCP admin port is never bound twice.
///
/// Inherited sockets arrive in `BREAKWATER_ADMIN_FDS` (`unix:PATH=fd;tcp:HOST:PORT=fd`).
public enum AdminListenerSockets {
    public static let environmentKey = "BREAKWATER_ADMIN_FDS"

    /// A start-up failure that names the socket and the OS error in words.
    public struct OpenError: Error, CustomStringConvertible {
        public let what: String
        public let reason: String
        public var description: String { "cannot create \(what): \(reason)" }
    }

    /// Identity of a socket file, to tell "my socket" from one a successor put at the same path.
    struct FileIdentity: Equatable, Sendable {
        let device: UInt64
        let inode: UInt64
        static func of(_ path: String) -> FileIdentity? {
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }
            return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        }
    }

    public static func key(_ address: StatsSocketConfig.Address) -> String {
        switch address {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "tcp:\(ListenerSockets.key(host: host, port: port))"
        }
    }

    public static func inherited(from environment: [String: String]) -> [String: Int32] {
        ListenerSockets.inherited(from: environment, key: environmentKey)
    }

    /// `key=fd;key=fd`, the value of an inherited-sockets variable.
    public static func environmentValue(_ sockets: [(key: String, fd: Int32)]) -> String {
        sockets.map { "\($0.key)=\($0.fd)" }.joined(separator: ";")
    }

    /// Creates a listening UNIX socket at `path` with `mode`. Like HAProxy, it binds a temporary name
    /// next to the path and renames it over whatever is there (an old socket or a regular file), so
    /// the path is never missing and a failure leaves the old file as it was.
    static func openUnix(path: String, mode: UInt32) throws -> Int32 {
        let what = "stats socket '\(path)'"
        let temp = "\(path).\(getpid()).tmp"
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard temp.utf8.count < capacity else {
            throw OpenError(what: what, reason: "the path is too long for a UNIX socket (at most \(capacity - 1 - (temp.utf8.count - path.utf8.count)) bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(temp.utf8) + [0])
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw OpenError(what: what, reason: String(cString: strerror(errno))) }
        func fail(_ step: String) -> OpenError {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temp)
            return OpenError(what: what, reason: "\(step): \(reason)")
        }
        unlink(temp)
        // Nobody else may connect before the configured mode is set.
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard rc == 0 else { throw fail("bind") }
        guard chmod(temp, mode_t(mode)) == 0 else { throw fail("chmod") }
        guard listen(fd, 16) == 0 else { throw fail("listen") }
        guard rename(temp, path) == 0 else { throw fail("rename to the final path") }
        return fd
    }

    static func openTCP(host: String, port: Int) throws -> Int32 {
        do {
            return try ListenerSockets.open(host: host, port: port, backlog: 16)
        } catch let e as ListenerSockets.OpenError {
            throw OpenError(what: "stats socket 'ipv4@\(e.address)'", reason: e.reason)
        }
    }
}
