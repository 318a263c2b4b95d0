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
