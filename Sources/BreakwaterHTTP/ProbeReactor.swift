import Foundation
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One thread that runs every health check of the process: its schedule (timers) and its sockets
/// (readiness via `poll`), so a check costs what it costs on the wire and nothing on the event loops.
///
/// Why a thread of its own: NIO has no public API to put a foreign socket in its selector, so a
/// probe on an event loop had to be polled on a back-off (1–3 extra loop wake-ups per check, plus a
/// timer hop). Here an L4 check is one wake-up (the timer; a loopback connect completes at once) and
/// an L7 check two (the timer, then the answer). Only a few probes are ever in flight (120 servers at
/// `inter 2s` is 60 a second, each a fraction of a millisecond), so `poll` over them and the wake
/// pipe is as cheap as an epoll set and needs no `epoll_ctl` per probe.
///
/// `submit` may be called from any thread; everything else only on the reactor's own thread
/// (inside a submitted closure, a timer or a readiness handler).
final class ProbeReactor: @unchecked Sendable {
    static let shared = ProbeReactor()

    /// A one-shot timer; `cancel()` (reactor thread) stops it from firing.
    final class Timer {
        fileprivate let deadline: UInt64
        fileprivate let sequence: UInt64
        fileprivate var action: (() -> Void)?
        fileprivate init(deadline: UInt64, sequence: UInt64, action: @escaping () -> Void) {
            self.deadline = deadline
            self.sequence = sequence
            self.action = action
        }
        func cancel() { action = nil }
    }

    private let inbox: Mutex<[@Sendable () -> Void]> = Mutex([])
    private let started: Mutex<Bool> = Mutex(false)
    private let wakeRead: CInt
    private let wakeWrite: CInt
    // Reactor thread only:
    private var timers: [Timer] = []
    private var nextSequence: UInt64 = 0
    private var watched: [CInt: (events: Int16, handler: (Int16) -> Void)] = [:]
    private var pollSet: [pollfd] = []

    private init() {
        var fds: [CInt] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
        precondition(rc == 0, "health-check reactor: pipe() failed: \(String(cString: strerror(errno)))")
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    /// Runs `work` on the reactor thread (started on first use).
    func submit(_ work: @escaping @Sendable () -> Void) {
        let first = inbox.withLock { list -> Bool in
            list.append(work)
            return list.count == 1
        }
        startIfNeeded()
        if first {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    /// Monotonic nanoseconds, the clock of `after`.
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Calls `action` once, `ms` milliseconds from now (reactor thread).
    @discardableResult
    func after(ms: Int64, _ action: @escaping () -> Void) -> Timer {
        at(Self.now() &+ UInt64(max(0, ms)) &* 1_000_000, action)
    }

    /// Calls `action` once at `deadline` (reactor thread; `now()`'s clock).
    @discardableResult
    func at(_ deadline: UInt64, _ action: @escaping () -> Void) -> Timer {
        nextSequence &+= 1
        let timer = Timer(deadline: deadline, sequence: nextSequence, action: action)
        push(timer)
        return timer
    }

    /// Calls `handler` once with the `revents` when `fd` is ready for `events` (POLLIN / POLLOUT),
    /// or has failed (POLLERR / POLLHUP). One-shot: watch again for more (reactor thread).
    func watch(_ fd: CInt, events: Int16, _ handler: @escaping (Int16) -> Void) {
        watched[fd] = (events, handler)
    }

    /// Stops watching `fd` (before closing it; reactor thread).
    func unwatch(_ fd: CInt) {
        watched.removeValue(forKey: fd)
    }

    private func startIfNeeded() {
        let start = started.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard start else { return }
        let thread = Thread { [self] in self.run() }
        thread.name = "bw-health-checks"
        thread.start()
    }

    private func run() {
        while true {
            pollSet.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            for (fd, w) in watched { pollSet.append(pollfd(fd: fd, events: w.events, revents: 0)) }
            let timeout = timeoutMs()
            let n = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress!, nfds_t($0.count), timeout) }
            if n > 0 {
                if pollSet[0].revents != 0 { drainInbox() }
                for entry in pollSet.dropFirst() where entry.revents != 0 {
                    guard let w = watched.removeValue(forKey: entry.fd) else { continue }
                    w.handler(entry.revents)
                }
            }
            fireDueTimers()
        }
    }

    private func drainInbox() {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &sink, 64) > 0 {}
        let work = inbox.withLock { list -> [@Sendable () -> Void] in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
        for w in work { w() }
    }

    /// Milliseconds until the earliest timer (rounded up), -1 without one.
    private func timeoutMs() -> CInt {
        while let top = timers.first, top.action == nil { _ = pop() }
        guard let top = timers.first else { return -1 }
        let now = Self.now()
        guard top.deadline > now else { return 0 }
        return CInt(clamping: (top.deadline - now + 999_999) / 1_000_000)
    }

    private func fireDueTimers() {
        let now = Self.now()
        while let top = timers.first, top.deadline <= now {
            _ = pop()
            if let action = top.action {
                top.action = nil
                action()
            }
        }
    }

    // A binary min-heap on (deadline, sequence).

    private func less(_ a: Timer, _ b: Timer) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }

    private func push(_ timer: Timer) {
        timers.append(timer)
        var i = timers.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(timers[i], timers[parent]) else { break }
            timers.swapAt(i, parent)
            i = parent
        }
    }

    private func pop() -> Timer {
        let top = timers[0]
        let last = timers.removeLast()
        guard !timers.isEmpty else { return top }
        timers[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < timers.count, less(timers[l], timers[m]) { m = l }
            if r < timers.count, less(timers[r], timers[m]) { m = r }
            guard m != i else { return top }
            timers.swapAt(i, m)
            i = m
        }
    }
}
