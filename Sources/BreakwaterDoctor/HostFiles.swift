import Foundation

/// Reads the host's settings files beneath a root directory: `/` for the real host, a fake tree in tests
/// (`breakwater doctor --root DIR`). Reads only; never writes.
public struct HostFiles: Sendable {
    public var root: String

    public init(root: String = "/") {
        self.root = root
    }

    /// The absolute path of `path` (absolute, host-side) under the root.
    public func resolve(_ path: String) -> String {
        if root == "/" || root.isEmpty { return path }
        return (root.hasSuffix("/") ? String(root.dropLast()) : root) + path
    }

    /// The file's text, or nil when it cannot be read.
    public func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: resolve(path)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// `/proc/sys/<name with dots as slashes>`, trimmed.
    public func sysctl(_ name: String) -> String? {
        read("/proc/sys/" + name.replacingOccurrences(of: ".", with: "/"))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: resolve(path))
    }

    public func isWritable(_ path: String) -> Bool {
        access(resolve(path), W_OK) == 0
    }
}
