/// The mounted file systems, as listed in `/proc/mounts`, and which one holds a given path.
///
/// Used by `breakwater doctor` and `breakwater check` to tell whether a secret (a TLS ticket-key file)
/// lives in RAM (tmpfs/ramfs) or on a persistent disk.
public struct MountTable: Sendable, Equatable {
    public struct Mount: Sendable, Equatable {
        public var device: String
        public var mountPoint: String
        public var fsType: String
        public init(device: String, mountPoint: String, fsType: String) {
            self.device = device
            self.mountPoint = mountPoint
            self.fsType = fsType
        }
        /// File systems whose contents live only in memory.
        public var isRAM: Bool { fsType == "tmpfs" || fsType == "ramfs" }
    }

    public var mounts: [Mount]

    public init(mounts: [Mount]) { self.mounts = mounts }

    /// Parses the text of `/proc/mounts` (`device mountpoint fstype options dump pass`, octal escapes for spaces).
    public init(procMounts text: String) {
        var list: [Mount] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3 else { continue }
            list.append(Mount(device: Self.unescape(fields[0]), mountPoint: Self.unescape(fields[1]),
                              fsType: String(fields[2])))
        }
        mounts = list
    }

    /// The mount that holds `path` (absolute): the longest mount point that is a prefix of it; the last one
    /// listed wins among equal mount points, as later mounts hide earlier ones.
    public func mount(containing path: String) -> Mount? {
        var best: Mount?
        for m in mounts {
            let mp = m.mountPoint
            let covers = mp == "/" || path == mp || path.hasPrefix(mp.hasSuffix("/") ? mp : mp + "/")
            guard covers else { continue }
            if let b = best, b.mountPoint.count > mp.count { continue }
            best = m
        }
        return best
    }

    /// `\040` → space, `\011` → tab, `\012` → newline, `\134` → backslash.
    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        let chars = Array(s)
        var out = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "\\", i + 3 < chars.count, let code = UInt8(String(chars[(i + 1)...(i + 3)]), radix: 8) {
                out.append(Character(Unicode.Scalar(code)))
                i += 4
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return out
    }
}
