import Foundation

/// One memory cgroup per running job, created beneath the cgroup Breakwater runs in and removed when the job ends.
/// Never touches a cgroup outside that subtree.
public struct JobCgroups: Sendable {
    public enum Mode: Sendable, Equatable, CustomStringConvertible {
        /// cgroup v2: `parent` is a directory whose `cgroup.subtree_control` enables `memory`.
        case v2(parent: String)
        /// cgroup v1 memory hierarchy: `parent` is Breakwater's own memory cgroup directory.
        case v1(parent: String)
        /// Neither is writable: each job gets RLIMIT_AS instead (a warning is logged).
        case rlimit(why: String)

        public var description: String {
            switch self {
            case .v2(let p): return "cgroup v2 under \(p)"
            case .v1(let p): return "cgroup v1 memory under \(p)"
            case .rlimit(let why): return "RLIMIT_AS fallback (\(why))"
            }
        }
    }

    public let mode: Mode
    public let memoryMax: Int

    public init(mode: Mode, memoryMax: Int) {
        self.mode = mode
        self.memoryMax = memoryMax
    }

    /// Reads /proc/self/cgroup and the mounts to find a writable place for job cgroups.
    /// `unit` names the section's parent cgroup (`breakwater-jobs-UNIT`), stable across restarts so that
    /// cgroups left by a crashed run are found and removed (their stray processes killed) at start.
    public static func detect(memoryMax: Int, unit: String) -> JobCgroups {
        let cgroups = JobCgroups(mode: detectMode(unit: unit), memoryMax: memoryMax)
        cgroups.removeLeftovers()
        return cgroups
    }

    static func detectMode(unit: String) -> Mode {
        guard let selfCgroup = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else {
            return .rlimit(why: "/proc/self/cgroup is not readable")
        }
        var v1Memory: String?
        var v2Path: String?
        for line in selfCgroup.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty { v2Path = String(parts[2]) }
            if parts[1].split(separator: ",").contains("memory") { v1Memory = String(parts[2]) }
        }
        let leaf = "breakwater-jobs-\(unit)"
        // A v1 memory hierarchy wins where it is the one that enforces memory (hybrid hosts).
        if let rel = v1Memory, let mount = mountPoint(fsType: "cgroup", option: "memory") {
            let own = mount + (rel == "/" ? "" : rel)
            let parent = own + "/" + leaf
            if mkdir(parent, 0o755) == 0 || errno == EEXIST { return .v1(parent: parent) }
            return .rlimit(why: "cannot create \(parent): \(String(cString: strerror(errno)))")
        }
        if let rel = v2Path, let mount = mountPoint(fsType: "cgroup2", option: nil) {
            let own = mount + (rel == "/" ? "" : rel)
            if let parent = prepareV2(own: own, leaf: leaf) { return .v2(parent: parent) }
            return .rlimit(why: "the memory controller cannot be delegated beneath \(own)")
        }
        return .rlimit(why: "no cgroup memory controller is mounted")
    }

    /// On v2 a cgroup with processes cannot delegate controllers, so Breakwater moves itself into a
    /// `breakwater-supervisor` leaf of its own cgroup first, then enables `memory` for its job children.
    private static func prepareV2(own: String, leaf: String) -> String? {
        guard let controllers = try? String(contentsOfFile: own + "/cgroup.controllers", encoding: .utf8),
              controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory")
        else { return nil }
        let parent = own + "/" + leaf
        if write("+memory", to: own + "/cgroup.subtree_control") == nil {
            // Busy: processes live in our cgroup. Move ourselves into a leaf and try again.
            let supervisor = own + "/breakwater-supervisor"
            _ = mkdir(supervisor, 0o755)
            guard write("\(getpid())", to: supervisor + "/cgroup.procs") == nil,
                  write("+memory", to: own + "/cgroup.subtree_control") == nil
            else { return nil }
        }
        guard mkdir(parent, 0o755) == 0 || errno == EEXIST,
              write("+memory", to: parent + "/cgroup.subtree_control") == nil
        else { return nil }
        return parent
    }

    private static func mountPoint(fsType: String, option: String?) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in mounts.split(separator: "\n") {
            // "... MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPEROPTIONS"
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3, right[0] == fsType else { continue }
            if let option, !right[2].split(separator: ",").contains(Substring(option)) { continue }
            return String(left[4])
        }
        return nil
    }

    /// Writes `text` to a control file; returns the OS error in words, or nil on success.
    @discardableResult
    static func write(_ text: String, to path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? nil : "\(path): \(String(cString: strerror(errno)))"
    }

    /// Creates the job's cgroup with the memory ceiling (no swap); returns its directory, or nil in rlimit mode.
    public func create(jobID: String, attempt: Int) throws -> String? {
        try create(leaf: "job-\(getpid())-\(jobID)-\(attempt)")
    }

    /// Creates `PARENT/leaf` (named `job-PID-…` after the creating process, so that leftovers of a killed run
    /// are found, and a hot-reload successor leaves its live predecessor's alone) with the ceiling.
    func create(leaf: String) throws -> String? {
        let parent: String
        switch mode {
        case .rlimit: return nil
        case .v1(let p), .v2(let p): parent = p
        }
        let dir = parent + "/" + leaf
        guard mkdir(dir, 0o755) == 0 || errno == EEXIST else {
            throw JobsError("cannot create job cgroup \(dir): \(String(cString: strerror(errno)))")
        }
        switch mode {
        case .v2:
            if let e = Self.write("\(memoryMax)", to: dir + "/memory.max") { throw JobsError("cannot set memory.max: \(e)") }
            Self.write("0", to: dir + "/memory.swap.max")  // absent without swap accounting
        case .v1:
            if let e = Self.write("\(memoryMax)", to: dir + "/memory.limit_in_bytes") {
                throw JobsError("cannot set memory.limit_in_bytes: \(e)")
            }
            Self.write("\(memoryMax)", to: dir + "/memory.memsw.limit_in_bytes")  // absent without swap accounting
        case .rlimit: break
        }
        return dir
    }

    /// The OOM kills the kernel counted in the job's cgroup.
    public func oomKills(_ dir: String) -> Int {
        let file: String
        switch mode {
        case .v2: file = dir + "/memory.events"
        case .v1: file = dir + "/memory.oom_control"
        case .rlimit: return 0
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// SIGKILLs every process still in the cgroup (a job's stray children), then removes it.
    public func remove(_ dir: String) {
        for _ in 0..<200 {
            let procs = (try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)) ?? ""
            for pid in procs.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
            if rmdir(dir) == 0 || errno == ENOENT { return }
            usleep(5_000)
        }
    }

    /// Job cgroups of a previous run that was killed: their processes are SIGKILLed and the cgroups removed.
    func removeLeftovers() {
        switch mode {
        case .v1(let p), .v2(let p):
            for name in (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? [] where name.hasPrefix("job-") {
                // job-PID-…: a live creator (a predecessor finishing its jobs during a hot reload) keeps its own.
                let parts = name.split(separator: "-")
                if parts.count > 1, let pid = pid_t(parts[1]), pid != getpid(), kill(pid, 0) == 0 { continue }
                remove(p + "/" + name)
            }
        case .rlimit: break
        }
    }

    /// Removes the section's parent cgroup at shutdown (empty by then).
    public func removeParent() {
        switch mode {
        case .v1(let p), .v2(let p): rmdir(p)
        case .rlimit: break
        }
    }
}
