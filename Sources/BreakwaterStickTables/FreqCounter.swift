/// HAProxy's period counter ("freq_ctr"), spec STK-4.
///
/// Three 32-bit integers: `prev` (events of the previous period), `curr` (events of the current
/// period) and `tick` (start of the current period, ms on the process clock). All arithmetic is
/// HAProxy's: unsigned 32-bit with wrap-around for time, 32-bit counters, 64-bit intermediate
/// product on read, result truncated toward zero.
///
/// Two details of HAProxy 2.6's implementation that the spec's pseudo-code leaves out, kept here
/// so that values are bit-exact:
/// * time is `now_ms`, a 32-bit tick that wraps; callers pass any `Int64` ms clock and only its low
///   32 bits are used (`FreqCounter.tick(_:)`);
/// * after a rotation HAProxy stores `tick & ~1` (bit 0 of `curr_tick` is its rotation lock), so a
///   period that restarts at an odd millisecond starts 1 ms earlier. With even clock values the
///   pseudo-code and HAProxy agree exactly.
///
/// Time is always an input; this type never reads a clock.
public struct FreqCounter: Sendable, Equatable {
    public var prev: UInt32
    public var curr: UInt32
    public var tick: UInt32

    public init(prev: UInt32 = 0, curr: UInt32 = 0, tick: UInt32 = 0) {
        self.prev = prev
        self.curr = curr
        self.tick = tick
    }

    /// The 32-bit tick HAProxy would use for a millisecond clock value.
    @inlinable
    public static func tick(_ nowMs: Int64) -> UInt32 { UInt32(truncatingIfNeeded: nowMs) }

    /// Adds `inc` events at `now` (STK-4 update). Returns the new `curr`, like HAProxy.
    @inlinable @discardableResult
    public mutating func update(inc: UInt32, now: UInt32, period: UInt32) -> UInt32 {
        if now &- tick < period {
            curr &+= inc
            return curr
        }
        // Rotate.
        prev = curr
        curr = inc
        var newTick = tick &+ period
        if now &- newTick >= period {
            // Two or more periods were skipped (always the case for a fresh counter far from 0).
            prev = 0
            newTick = now
        }
        tick = newTick & ~1
        return inc
    }

    /// `update` with a 64-bit ms clock value.
    @inlinable @discardableResult
    public mutating func update(inc: UInt32, now: Int64, period: Int) -> UInt32 {
        update(inc: inc, now: Self.tick(now), period: UInt32(truncatingIfNeeded: Swift.max(period, 1)))
    }

    /// The rate at `now` over `period` (STK-4 read). Never modifies the counter.
    @inlinable
    public func read(now: UInt32, period: UInt32) -> UInt32 {
        let period = period == 0 ? 1 : period
        var past = UInt64(prev)
        var current = UInt64(curr)
        var remain = Int32(bitPattern: tick &+ period &- now)
        if remain < 0 {
            // The current period is over but was not rotated yet.
            remain = remain &+ Int32(bitPattern: period)
            past = remain >= 0 ? current : 0
            current = 0
        }
        if current == 0 && past <= 1 {
            return UInt32(truncatingIfNeeded: past) // anti-flapping rule for very low rates
        }
        // remain >= 0 here whenever past != 0.
        let total = past &* UInt64(UInt32(bitPattern: remain)) &+ current &* UInt64(period)
        return UInt32(truncatingIfNeeded: total / UInt64(period))
    }

    /// `read` with a 64-bit ms clock value.
    @inlinable
    public func read(now: Int64, period: Int) -> UInt32 {
        read(now: Self.tick(now), period: UInt32(truncatingIfNeeded: Swift.max(period, 1)))
    }

    /// What `set table … data.<rate> V` does in HAProxy: the value becomes the current period's
    /// count, starting now, so it reads V for a whole period and then fades out.
    @inlinable
    public mutating func set(value: UInt32, now: UInt32) {
        tick = (now == 0 ? 1 : now) & ~1
        prev = 0
        curr = value
    }
}
