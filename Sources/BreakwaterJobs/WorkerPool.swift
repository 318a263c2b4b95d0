import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `max-jobs-per-worker N` (N > 1): long-lived worker processes, each serving up to N jobs over a framed
/// stdin/stdout protocol, then replaced; each worker in its own memory cgroup with the ceiling, for its
/// whole life. The supervisor still bounds concurrency at `workers`, so at most that many are alive.
///
/// The protocol (docs/jobs.md): per job Breakwater writes `BREAKWATER-JOB <id> <attempt> <length>\n` and
/// `length` payload bytes; the worker answers `BREAKWATER-RESULT <exit-code> <length>\n` and `length` output
/// bytes. EOF on stdin means "exit now". A worker that dies mid-job fails that job (reason `oom` if the
/// cgroup counted an OOM kill, else `exit`); one that breaks the framing is killed and the job fails `exit`.
final class WorkerPool: AttemptRunner, @unchecked Sendable {
    let fresh: JobProcess
    let maxJobs: Int
    var cgroups: JobCgroups { fresh.cgroups }
    private let lock = NSLock()
    private var idle: [Worker] = []
    private var closed = false

    /// One live worker process and its pipes; owned by one thread at a time (the supervisor thread serving a
    /// job, the pool's lock while idle, the retiring thread), hence unchecked.
    final class Worker: @unchecked Sendable {
        let pid: pid_t
        let input: Int32
        let output: Int32
        let cgroupDir: String?
        var served = 0
        var reaped = false
        var status: Int32 = 0
        init(pid: pid_t, input: Int32, output: Int32, cgroupDir: String?) {
            self.pid = pid
            self.input = input
            self.output = output
            self.cgroupDir = cgroupDir
        }
    }

    init(fresh: JobProcess, maxJobs: Int) {
        self.fresh = fresh
        self.maxJobs = maxJobs
        signal(SIGPIPE, SIG_IGN)  // a worker that died makes our write fail with EPIPE, not kill us
    }

    func run(_ job: ClaimedJob, handle: JobProcess.Handle) -> AttemptOutcome {
        let worker: Worker
        switch takeIdle() ?? spawn() {
        case .success(let w): worker = w
        case .failure(let e): return .failed(reason: .exit, exitCode: nil, stdout: Array("breakwater: cannot start a worker (\(e.description))".utf8))
        }
        handle.set(pid: worker.pid, cgroupDir: worker.cgroupDir)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(fresh.timeoutMs) * 1_000_000
        let header = Array("BREAKWATER-JOB \(job.id) \(job.attempt) \(job.payload.count)\n".utf8)
        var exchange = FramedExchange(maxOutput: fresh.maxStdout)
        let sent = write(header + job.payload, to: worker, deadline: deadline)
        let result = sent == .ok ? exchange.readResult(from: worker.output, deadline: deadline) : .closed
        switch (sent, result) {
        case (.ok, .result(let code, let output)) where !exchange.extraBytes:
            worker.served += 1
            if worker.served >= maxJobs { retireInBackground(worker) } else { putIdle(worker) }
            return code == 0 ? .succeeded(stdout: output) : .failed(reason: .exit, exitCode: code, stdout: output)
        case (.timedOut, _), (_, .timedOut):
            kill(-worker.pid, SIGKILL)
            kill(worker.pid, SIGKILL)
            let status = reap(worker)
            cleanup(worker)
            return JobProcess.outcome(waitStatus: status, timedOut: true, oomKilled: false, stdout: exchange.output)
        case (_, .malformed(let why)):
            kill(-worker.pid, SIGKILL)
            _ = reap(worker)
            cleanup(worker)
            return .failed(reason: .exit, exitCode: nil, stdout: Array("breakwater: the worker broke the result framing (\(why)); it was replaced".utf8))
        default:
            // The worker died (or closed stdout) before answering: the job's fate is the process's.
            kill(-worker.pid, SIGKILL)
            let status = reap(worker)
            let oom = worker.cgroupDir.map { fresh.cgroups.oomKills($0) > 0 } ?? false
            cleanup(worker)
            return JobProcess.outcome(waitStatus: status == 0 ? 1 << 8 : status, timedOut: false, oomKilled: oom, stdout: exchange.output)
        }
    }

    func shutdown() {
        let workers: [Worker] = lock.withLock {
            closed = true
            let w = idle
            idle = []
            return w
        }
        for w in workers { retire(w) }
    }

    // MARK: - Workers

    private func takeIdle() -> Result<Worker, JobsError>? {
        while let w = lock.withLock({ idle.popLast() }) {
            var status: Int32 = 0
            if waitpid(w.pid, &status, WNOHANG) == w.pid {  // died while idle
                w.reaped = true
                cleanup(w)
                continue
            }
            return .success(w)
        }
        return nil
    }

    private func putIdle(_ w: Worker) {
        let keep = lock.withLock { () -> Bool in
            guard !closed else { return false }
            idle.append(w)
            return true
        }
        if !keep { retire(w) }
    }

    private func spawn() -> Result<Worker, JobsError> {
        let cgroupDir: String?
        do {
            cgroupDir = try fresh.cgroups.create(leaf: "job-\(getpid())-worker-\(UUID().uuidString.prefix(8).lowercased())")
        } catch {
            return .failure(error as? JobsError ?? JobsError("\(error)"))
        }
        let argv = fresh.preExecArgv(cgroupDir: cgroupDir) + fresh.command
        JobProcess.spawnLock.lock()
        defer { JobProcess.spawnLock.unlock() }
        var toWorker: [Int32] = [0, 0], fromWorker: [Int32] = [0, 0]
        guard pipe(&toWorker) == 0 else { return .failure(JobsError("pipe: \(String(cString: strerror(errno)))")) }
        guard pipe(&fromWorker) == 0 else {
            close(toWorker[0]); close(toWorker[1])
            return .failure(JobsError("pipe: \(String(cString: strerror(errno)))"))
        }
        for fd in toWorker + fromWorker { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(toWorker[1], F_SETFL, fcntl(toWorker[1], F_GETFL) | O_NONBLOCK)
        var env = ProcessInfo.processInfo.environment
        env["BREAKWATER_WORKER"] = "1"
        env["BREAKWATER_MAX_JOBS"] = "\(maxJobs)"
        var pid: pid_t = 0
        let rc = JobProcess.spawnLocked(argv: argv, stdinFD: toWorker[0], stdoutFD: fromWorker[1], environment: env, pid: &pid)
        close(toWorker[0])
        close(fromWorker[1])
        guard rc == 0 else {
            close(toWorker[1]); close(fromWorker[0])
            if let cgroupDir { fresh.cgroups.remove(cgroupDir) }
            return .failure(JobsError("posix_spawn /bin/sh: \(String(cString: strerror(rc)))"))
        }
        return .success(Worker(pid: pid, input: toWorker[1], output: fromWorker[0], cgroupDir: cgroupDir))
    }

    private enum WriteResult { case ok, timedOut, closed }

    private func write(_ bytes: [UInt8], to w: Worker, deadline: UInt64) -> WriteResult {
        var sent = 0
        while sent < bytes.count {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { return .timedOut }
            var pfd = pollfd(fd: w.input, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, Int32(min((deadline - now) / 1_000_000 + 1, 100)))
            if ready <= 0 { continue }
            let n = bytes.withUnsafeBytes { Glibc.write(w.input, $0.baseAddress! + sent, $0.count - sent) }
            if n > 0 { sent += n } else if errno != EAGAIN && errno != EINTR { return .closed }
        }
        return .ok
    }

    /// Closes stdin (the worker's cue to exit), gives it a second, then kills what is left and removes its cgroup.
    private func retire(_ w: Worker) {
        close(w.input)
        let until = Date().addingTimeInterval(1)
        var status: Int32 = 0
        while Date() < until && !w.reaped {
            if waitpid(w.pid, &status, WNOHANG) == w.pid { w.reaped = true } else { usleep(5_000) }
        }
        if !w.reaped { kill(-w.pid, SIGKILL) }
        _ = reap(w)
        close(w.output)
        if let dir = w.cgroupDir { fresh.cgroups.remove(dir) }
    }

    private func retireInBackground(_ w: Worker) {
        let t = Thread { [self] in retire(w) }
        t.name = "breakwater-worker-retire"
        t.start()
    }

    private func reap(_ w: Worker) -> Int32 {
        if w.reaped { return w.status }
        var status: Int32 = 0
        while waitpid(w.pid, &status, 0) < 0 && errno == EINTR {}
        w.reaped = true
        w.status = status
        return status
    }

    private func cleanup(_ w: Worker) {
        close(w.input)
        close(w.output)
        if let dir = w.cgroupDir { fresh.cgroups.remove(dir) }
    }
}

/// Reads one `BREAKWATER-RESULT <exit-code> <length>\n` frame and its output (the first `maxOutput` bytes
/// kept, the rest read and dropped). A pure parser over chunks, so it is tested without processes.
struct FramedExchange {
    enum Result: Equatable { case result(code: Int, output: [UInt8]), timedOut, closed, malformed(String) }

    let maxOutput: Int
    private(set) var output: [UInt8] = []
    /// Bytes after the frame: the worker wrote more than one answer, so it is not reused.
    private(set) var extraBytes = false
    private var header: [UInt8] = []
    private var expected: Int?
    private var code = 0
    private var received = 0

    init(maxOutput: Int) { self.maxOutput = maxOutput }

    /// Feeds a chunk; returns the result once the frame is complete (or malformed), else nil.
    mutating func feed(_ chunk: ArraySlice<UInt8>) -> Result? {
        var rest = chunk
        if expected == nil {
            guard let nl = rest.firstIndex(of: 10) else {
                header += rest
                return header.count > 256 ? .malformed("no result line in the first 256 bytes") : nil
            }
            header += rest[rest.startIndex..<nl]
            rest = rest[(nl + 1)...]
            let words = String(decoding: header, as: UTF8.self).split(separator: " ")
            guard words.count == 3, words[0] == "BREAKWATER-RESULT", let c = Int(words[1]), let n = Int(words[2]),
                  (0...255).contains(c), n >= 0
            else { return .malformed("expected 'BREAKWATER-RESULT <exit-code> <length>', got '\(String(decoding: header.prefix(80), as: UTF8.self))'") }
            code = c
            expected = n
        }
        guard let n = expected else { return nil }
        let take = min(rest.count, n - received)
        let room = max(0, maxOutput - output.count)
        output += rest.prefix(min(take, room))
        received += take
        if rest.count > take { extraBytes = true }
        return received == n ? .result(code: code, output: output) : nil
    }

    /// Reads from `fd` until the frame is complete, the deadline passes, or the worker closes stdout.
    mutating func readResult(from fd: Int32, deadline: UInt64) -> Result {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { return .timedOut }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(min((deadline - now) / 1_000_000 + 1, 100))) <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return .closed }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue } else { return .closed } }
            if let r = feed(buffer[0..<n]) { return r }
        }
    }
}
