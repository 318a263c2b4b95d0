import Foundation

/// A fake host tree for `doctor --root`: `proc/sys/...`, `proc/self/limits`, `proc/mounts`, `sys/fs/cgroup/...`.
/// Starts with every setting inside its ok range; tests change one thing.
final class FakeHost {
    let root: URL
    var sysctls: [String: String] = [
        "net.ipv4.ip_local_port_range": "10240 65535",
        "net.ipv4.tcp_tw_reuse": "1",
        "net.ipv4.tcp_fin_timeout": "30",
        "net.ipv4.tcp_max_tw_buckets": "500000",
        "net.ipv4.tcp_orphan_retries": "3",
        "net.core.somaxconn": "4096",
        "net.ipv4.tcp_max_syn_backlog": "4096",
        "vm.vfs_cache_pressure": "100",
        "vm.swappiness": "10",
    ]
    var nofileSoft = "1048576"
    var nofileHard = "1048576"
    var mounts = "/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs /run tmpfs rw,nosuid,nodev 0 0\n"
    /// `/proc/self/cgroup` text; nil = file absent.
    var procCgroup: String? = "0::/breakwater.service\n"
    /// cgroup v2 root and the process cgroup's controllers; nil = no v2 tree.
    var cgroupV2Controllers: String? = "cpu io memory pids"
    var cgroupV1Memory = false

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bw-doctor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func write(_ rel: String, _ text: String) throws {
        let url = root.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Writes the tree (clearing an earlier one) and returns the root path.
    @discardableResult
    func build() throws -> String {
        for sub in ["proc", "sys"] { try? FileManager.default.removeItem(at: root.appendingPathComponent(sub)) }
        for (name, value) in sysctls {
            try write("proc/sys/" + name.replacingOccurrences(of: ".", with: "/"), value + "\n")
        }
        try write("proc/self/limits", """
            Limit                     Soft Limit           Hard Limit           Units
            Max cpu time              unlimited            unlimited            seconds
            Max open files            \(nofileSoft)              \(nofileHard)              files
            Max locked memory         8388608              8388608              bytes

            """)
        try write("proc/mounts", mounts)
        if let procCgroup { try write("proc/self/cgroup", procCgroup) }
        if let cgroupV2Controllers {
            try write("sys/fs/cgroup/cgroup.controllers", cgroupV2Controllers + "\n")
            try write("sys/fs/cgroup/breakwater.service/cgroup.controllers", cgroupV2Controllers + "\n")
        }
        if cgroupV1Memory { try write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n") }
        return root.path
    }
}

/// The `breakwater` binary: $BREAKWATER_BIN, else .build/debug/breakwater above this file.
func breakwaterBinary(filePath: String = #filePath) throws -> String {
    if let env = ProcessInfo.processInfo.environment["BREAKWATER_BIN"], !env.isEmpty { return env }
    var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    let path = url.appendingPathComponent(".build/debug/breakwater").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw DoctorTestError("breakwater binary not found at \(path): build it with `swift build` first (or set BREAKWATER_BIN)")
    }
    return path
}

struct DoctorTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs a process to completion; returns exit status, stdout, stderr.
func run(_ path: String, _ args: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
