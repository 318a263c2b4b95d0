import Foundation
import Testing
@testable import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The health-check reactor thread: submitted work, one-shot timers in deadline order, cancelled
/// timers that never fire, and readiness of a watched socket.
@Suite struct ProbeReactorTests {
    final class Box<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Value
        init(_ value: Value) { self.value = value }
        func update(_ body: (inout Value) -> Void) { lock.lock(); body(&value); lock.unlock() }
        var current: Value { lock.lock(); defer { lock.unlock() }; return value }
    }

    @Test("timers fire in deadline order and a cancelled one never fires")
    func timersInOrder() async throws {
        let fired = Box<[String]>([])
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let reactor = ProbeReactor.shared
            reactor.submit {
                reactor.after(ms: 30) { fired.update { $0.append("30") } }
                let cancelled = reactor.after(ms: 20) { fired.update { $0.append("20 (cancelled)") } }
                reactor.after(ms: 10) { fired.update { $0.append("10") } }
                reactor.after(ms: 0) { fired.update { $0.append("0") } }
                cancelled.cancel()
                reactor.after(ms: 60) { c.resume() }
            }
        }
        #expect(fired.current == ["0", "10", "30"])
    }

    @Test("a watched socket is reported once when it becomes readable")
    func watchReadable() async throws {
        var fds: [CInt] = [-1, -1]
        let rc = socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue), 0, &fds)
        #expect(rc == 0)
        defer { close(fds[0]); close(fds[1]) }
        let (a, b) = (fds[0], fds[1])
        let calls = Box(0)
        let revents: Int16 = await withCheckedContinuation { (c: CheckedContinuation<Int16, Never>) in
            let reactor = ProbeReactor.shared
            reactor.submit {
                reactor.watch(a, events: Int16(POLLIN)) { events in
                    calls.update { $0 += 1 }
                    // A second poll round must not report it again: the watch is one-shot.
                    reactor.after(ms: 30) { c.resume(returning: events) }
                }
                reactor.after(ms: 10) { var byte: UInt8 = 7; _ = write(b, &byte, 1) }
            }
        }
        #expect(revents & Int16(POLLIN) != 0)
        #expect(calls.current == 1)
    }
}
