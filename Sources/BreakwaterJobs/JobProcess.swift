import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs one attempt of a job in a fresh process, blocking the calling thread (a supervisor thread, never an
/// event loop) until it ends.
///
/// posix_spawn via Glibc, not swift-subprocess: the child must enter its cgroup before the job's code runs, and
/// neither posix_spawn nor swift-subprocess has a pre-exec hook on Linux. A two-line `/bin/sh` step writes its
/// own pid to the job's `cgroup.procs` (or sets `ulimit -v` in the RLIMIT_AS fallback) and then `exec`s the
/// command, so the command starts inside the ceiling. The payload is an unlinked temporary file on stdin (no pipe to feed,
/// no deadlock with a child that does not read); stdout is a pipe read into a buffer of at most `maxStdout`
/// bytes (the rest is drained and dropped), so Breakwater's memory never depends on the job's.
/// Runs one attempt and reports how it ended; blocks its (supervisor) thread.
protocol AttemptRunner: Sendable {
    var cgroups: JobCgroups { get }
    func run(_ job: ClaimedJob, handle: JobProcess.Handle) -> AttemptOutcome
    /// Ends long-lived workers (none for fresh processes).
    func shutdown()
}

struct JobProcess: AttemptRunner {
    var command: [String]
    var timeoutMs: Int
    var maxStdout: Int
    var cgroups: JobCgroups

    /// Exit status 125 from the pre-exec step: the child could not enter its cgroup.
    static let placementFailedStatus: Int32 = 125

    static let spawnLock = NSLock()
    fileprivate static let enterCgroupScript = "echo $$ > \"$1\" || exit 125; shift; exec \"$@\""
    fileprivate static let rlimitScript = "ulimit -v \"$1\" || exit 125; shift; exec \"$@\""

    /// Kills the running attempt from another thread (supervisor shutdown).
    final class Handle: @unchecked Sendable {
        private let lock = NSLock()
        private var pid: pid_t = 0
        private var cgroupDir: String?
        private(set) var abandoned = false
        func set(pid: pid_t, cgroupDir: String?) { lock.withLock { self.pid = pid; self.cgroupDir = cgroupDir } }
        func abandon(cgroups: JobCgroups) {
            lock.withLock {
                abandoned = true
                if pid > 0 { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
            }
        }
    }

    func shutdown() {}

    func run(_ job: ClaimedJob, handle: Handle) -> AttemptOutcome {
        let cgroupDir: String?
        do {
            cgroupDir = try cgroups.create(jobID: job.id, attempt: job.attempt)
        } catch {
            return .failed(reason: .exit, exitCode: Int(Self.placementFailedStatus), stdout: Array("breakwater: \(error)".utf8))
        }
        defer { if let cgroupDir { cgroups.remove(cgroupDir) } }

        let argv = preExecArgv(cgroupDir: cgroupDir) + command

        // stdin: the payload in an unlinked temporary file; stdout: a pipe. Both are created close-on-exec
        // under `spawnLock`, so a job spawned concurrently by another thread never inherits them.
        Self.spawnLock.lock()
        var locked = true
        defer { if locked { Self.spawnLock.unlock() } }
        var template = Array((NSTemporaryDirectory() + "/breakwater-job-XXXXXX").utf8CString)
        let stdinFD = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard stdinFD >= 0 else { return spawnFailure("mkstemp in \(NSTemporaryDirectory())") }
        unlink(String(cString: template))
        _ = fcntl(stdinFD, F_SETFD, FD_CLOEXEC)
        defer { close(stdinFD) }
        var written = 0
        while written < job.payload.count {
            let n = job.payload.withUnsafeBytes { Glibc.write(stdinFD, $0.baseAddress! + written, $0.count - written) }
            if n <= 0 { return spawnFailure("writing the payload") }
            written += n
        }
        lseek(stdinFD, 0, SEEK_SET)

        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { return spawnFailure("pipe") }
        let readFD = pipeFDs[0], writeFD = pipeFDs[1]
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
        defer { close(readFD) }

        var env = ProcessInfo.processInfo.environment
        env["BREAKWATER_JOB_ID"] = job.id
        env["BREAKWATER_JOB_ATTEMPT"] = "\(job.attempt)"
        var pid: pid_t = 0
        let rc = Self.spawnLocked(argv: argv, stdinFD: stdinFD, stdoutFD: writeFD, environment: env, pid: &pid)
        close(writeFD)
        Self.spawnLock.unlock()
        locked = false
        guard rc == 0 else { return spawnFailure("posix_spawn /bin/sh: \(String(cString: strerror(rc)))") }
        handle.set(pid: pid, cgroupDir: cgroupDir)

        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        var stdout: [UInt8] = []
        stdout.reserveCapacity(min(maxStdout, 4096))
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 16384)
        var open = true
        var status: Int32 = 0
        var reaped = false
        while !reaped {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline && !timedOut {
                timedOut = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            let waitMs = timedOut ? 50 : Int32(min((deadline - min(now, deadline)) / 1_000_000 + 1, 50))
            if open {
                var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, waitMs) > 0 {
                    let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
                    if n > 0 {
                        let room = maxStdout - stdout.count
                        if room > 0 { stdout.append(contentsOf: buffer[0..<min(n, room)]) }
                    } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                        open = false
                    }
                }
            } else {
                usleep(UInt32(min(waitMs, 5)) * 1000)
            }
            let w = waitpid(pid, &status, WNOHANG)
            if w == pid || (w < 0 && errno == ECHILD) { reaped = true }
        }
        let oomKilled = cgroupDir.map { cgroups.oomKills($0) > 0 } ?? false
        return Self.outcome(waitStatus: status, timedOut: timedOut, oomKilled: oomKilled, stdout: stdout)
    }

    /// How an attempt ended, from its process's wait status: timeout, then OOM kill, then the exit code
    /// (128 + signal when signalled).
    static func outcome(waitStatus status: Int32, timedOut: Bool, oomKilled: Bool, stdout: [UInt8]) -> AttemptOutcome {
        let exited = (status & 0x7f) == 0
        let exitCode = exited ? Int((status >> 8) & 0xff) : 128 + Int(status & 0x7f)
        if timedOut { return .failed(reason: .timeout, exitCode: nil, stdout: stdout) }
        if oomKilled { return .failed(reason: .oom, exitCode: nil, stdout: stdout) }
        if exited && exitCode == 0 { return .succeeded(stdout: stdout) }
        return .failed(reason: .exit, exitCode: exitCode, stdout: stdout)
    }

    private func spawnFailure(_ what: String) -> AttemptOutcome {
        .failed(reason: .exit, exitCode: nil, stdout: Array("breakwater: cannot start the job (\(what))".utf8))
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var cStrings: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    cStrings.append(nil)
    defer { for p in cStrings { free(p) } }
    return cStrings.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension JobProcess {
    /// posix_spawn of `argv` (starting with /bin/sh) with stdin/stdout dup'ed from the given descriptors,
    /// every other descriptor above 2 closed, default signal dispositions, and its own process group.
    /// The caller holds `spawnLock` and created its descriptors close-on-exec under it. Returns posix_spawn's rc.
    static func spawnLocked(argv: [String], stdinFD: Int32, stdoutFD: Int32, environment: [String: String],
                            pid: inout pid_t) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinFD, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1)
        // NIO opens sockets without close-on-exec: without this a job would inherit Breakwater's
        // listeners and client connections, keeping ports bound and connections open after we close them.
        closeInheritedDescriptors(&actions)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)  // NIO ignores SIGPIPE; a job gets every disposition back to the default
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)  // its own process group, killed as one on timeout
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let envStrings = environment.map { "\($0.key)=\($0.value)" }
        return withCStrings(argv) { cArgv in
            withCStrings(envStrings) { cEnv in posix_spawn(&pid, "/bin/sh", &actions, &attr, cArgv, cEnv) }
        }
    }

    /// The `/bin/sh -c` prefix that puts the process into `cgroupDir` (or under RLIMIT_AS) before it execs.
    func preExecArgv(cgroupDir: String?) -> [String] {
        var argv: [String] = ["/bin/sh", "-c"]
        if let cgroupDir {
            argv += [Self.enterCgroupScript, "breakwater-job", cgroupDir + "/cgroup.procs"]
        } else {
            argv += [Self.rlimitScript, "breakwater-job", "\(max(cgroups.memoryMax / 1024, 1))"]
        }
        return argv
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc ≥ 2.34's `posix_spawn_file_actions_addclosefrom_np`, looked up at run time because the
    /// Swift Glibc module does not export it.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Adds actions closing every descriptor above stderr in the child.
    static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom, addCloseFrom(&actions, 3) == 0 { return }
        // Older libc: close what is open now (the caller holds `spawnLock`, so no job's pipes race in).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for name in open {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    }
}
