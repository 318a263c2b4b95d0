import Logging

/// Reconnect delays: 100 ms doubling to 5 s, back to 100 ms after a connection that worked.
struct ReconnectBackoff {
    private(set) var nextMs = 100
    let maxMs = 5_000

    /// The delay before the next attempt, then doubles it.
    mutating func failed() -> Int {
        let d = nextMs
        nextMs = min(nextMs * 2, maxMs)
        return d
    }

    mutating func connected() { nextMs = 100 }
}

extension ReconnectBackoff {
    /// Runs `setUp` (connect and declare) until it works, logging each failure with its delay and sleeping
    /// through `sleep` (which returns early when stopping); nil once `isStopping`.
    mutating func connect(logger: Logger, isStopping: () -> Bool, sleep: (Int) -> Void,
                          _ setUp: () throws(AMQPError) -> RabbitConnection) -> RabbitConnection? {
        while !isStopping() {
            do {
                let conn = try setUp()
                connected()
                return conn
            } catch {
                let delay = failed()
                logger.warning("jobs: \(error); retrying in \(delay) ms")
                sleep(delay)
            }
        }
        return nil
    }
}
