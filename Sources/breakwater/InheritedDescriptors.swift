import BreakwaterControlPlane
import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// A process started by a hitless reload inherits every socket its predecessor had open without
/// close-on-exec (NIO accepts client connections and opens server connections without it), not only
/// the listeners it is meant to take over. A client connection held open by that copy never sees the
/// predecessor close it, so a kept-alive client would wait forever. The successor closes every
/// inherited socket that is not a listener handed over to it, before it opens anything itself.
enum InheritedDescriptors {
    static func closeStraySockets(keeping keep: Set<Int32>) -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        var candidates: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name), fd > 2, fd != dirfd(dir), !keep.contains(fd) { candidates.append(fd) }
        }
        closedir(dir)
        var closed = 0
        for fd in candidates {
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else { continue }
            close(fd)
            closed += 1
        }
        return closed
    }

    /// Closes the stray sockets when this process was started by a reload (it has inherited listeners, or
    /// the reload's variable is set with none: a configuration with only data-tier sections, whose
    /// predecessor's listeners and connections must not linger unserved in this process either).
    static func closeStraySocketsIfReloaded(_ environment: [String: String]) {
        // A bind hands over one socket per event loop: keep every one of them.
        let listeners = ListenerSockets.inheritedGroups(from: environment)
        let admin = AdminListenerSockets.inherited(from: environment)
        guard !listeners.isEmpty || !admin.isEmpty || environment[ListenerSockets.environmentKey] != nil else { return }
        _ = closeStraySockets(keeping: Set(listeners.values.joined()).union(admin.values))
    }
}
