import Foundation

/// A dedicated thread (blocking work stays off the event loops) with a stop flag under a condition variable:
/// `requestStop()` sets the flag, wakes the thread and waits until its body has returned.
final class StoppableThread: @unchecked Sendable {
    let condition = NSCondition()
    /// Read and written with `condition` held.
    var stopping = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let t = Thread { [done] in
            body()
            done.signal()
        }
        t.name = name
        thread = t
        t.start()
    }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    func requestStop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        if thread != nil { done.wait() }
    }
}
