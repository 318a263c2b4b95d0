#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Listening sockets made by Breakwater itself (rather than by NIO's `bind`) so that a reload can
/// hand the very same sockets to the next process: no accept queue is dropped, no client refused.
///
/// Inherited sockets arrive through the environment variable `BREAKWATER_LISTEN_FDS`
/// (`host:port=fd;host:port=fd`), set by the process that spawned this one.
public enum ListenerSockets {
    public static let environmentKey = "BREAKWATER_LISTEN_FDS"

    public struct OpenError: Error, CustomStringConvertible {
        public let address: String
        public let reason: String
        /// Where the socket was asked for ("FILE:LINE: frontend 'fe'"), when known.
        public var context: String = ""
        public var description: String { (context.isEmpty ? "" : "\(context): ") + "cannot bind \(address): \(reason)" }
    }

    /// Parses an inherited-sockets variable (`key=fd;key=fd`), by default this one.
    public static func inherited(from environment: [String: String], key variable: String = environmentKey) -> [String: Int32] {
        guard let value = environment[variable], !value.isEmpty else { return [:] }
        var out: [String: Int32] = [:]
        for item in value.split(separator: ";") {
            guard let eq = item.lastIndex(of: "="), let fd = Int32(item[item.index(after: eq)...]) else { continue }
            out[String(item[..<eq])] = fd
        }
        return out
    }

    /// Every inherited socket of each key, in the order the predecessor listed them: a bind has one
    /// listening socket per event loop (SO_REUSEPORT), and a successor must adopt them all, since the
    /// kernel hashes new connections to every socket of the group, polled or not.
    public static func inheritedGroups(from environment: [String: String], key variable: String = environmentKey) -> [String: [Int32]] {
        guard let value = environment[variable], !value.isEmpty else { return [:] }
        var out: [String: [Int32]] = [:]
        for item in value.split(separator: ";") {
            guard let eq = item.lastIndex(of: "="), let fd = Int32(item[item.index(after: eq)...]) else { continue }
            out[String(item[..<eq]), default: []].append(fd)
        }
        return out
    }

    public static func key(host: String, port: Int) -> String { "\(host):\(port)" }

    /// The port a socket is bound to (a `bind` of port 0 gets one from the kernel; the other sockets
    /// of its group must share it).
    public static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return nil
        }
    }

    /// Creates, binds and listens a TCP socket with SO_REUSEADDR and SO_REUSEPORT.
    public static func open(host: String, port: Int, backlog: Int32 = 1024) throws -> Int32 {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw OpenError(address: key(host: host, port: port), reason: "\(error)")
        }
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw OpenError(address: key(host: host, port: port), reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc = address.withSockAddr { sa, len in bind(fd, sa, socklen_t(len)) }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw OpenError(address: key(host: host, port: port), reason: reason)
        }
        guard listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw OpenError(address: key(host: host, port: port), reason: reason)
        }
        return fd
    }

    /// Clears close-on-exec so a spawned successor inherits the socket.
    public static func makeInheritable(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) }
    }

    /// Sets close-on-exec (sockets not meant for a successor).
    public static func makeNonInheritable(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
}
