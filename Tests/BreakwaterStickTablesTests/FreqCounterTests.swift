import Testing
@testable import BreakwaterStickTables

/// STK-4 against figures computed by hand. `t0` is even and ≥ 2·P so that a fresh counter's first
/// period starts exactly at the first event (see FreqCounter's notes on HAProxy's `tick & ~1`).
@Suite struct FreqCounterTests {
    let P = 10_000
    let t0: Int64 = 1_000_000

    @Test func specWorkedExampleFiveEventsFadeOut() {
        var f = FreqCounter()
        for _ in 0..<5 { f.update(inc: 1, now: t0, period: P) }
        #expect(f == FreqCounter(prev: 0, curr: 5, tick: UInt32(t0)))
        // 5 until 10 s.
        for dt: Int64 in [0, 1, 5_000, 9_999, 10_000] { #expect(f.read(now: t0 + dt, period: P) == 5, "t+\(dt)") }
        // Then the previous period fades out linearly: floor(5 * remain / P).
        #expect(f.read(now: t0 + 10_500, period: P) == 4)  // 5*9500/10000 = 4.75
        #expect(f.read(now: t0 + 12_499, period: P) == 3)  // 3.7505
        #expect(f.read(now: t0 + 12_500, period: P) == 3)  // 3.75
        #expect(f.read(now: t0 + 15_000, period: P) == 2)  // 2.5
        #expect(f.read(now: t0 + 17_500, period: P) == 1)  // 1.25
        // At exactly 18 s remain = 2000 and 5*2000/10000 = 1 exactly; from 18.001 s on it is < 1.
        #expect(f.read(now: t0 + 18_000, period: P) == 1)
        #expect(f.read(now: t0 + 18_001, period: P) == 0)
        #expect(f.read(now: t0 + 19_999, period: P) == 0)
        #expect(f.read(now: t0 + 20_000, period: P) == 0)
        #expect(f.read(now: t0 + 60_000, period: P) == 0)
    }

    @Test func singleEventReadsOneForUpToTwoPeriods() {
        var f = FreqCounter()
        f.update(inc: 1, now: t0, period: P)
        for dt: Int64 in [0, 9_999, 10_000, 10_001, 15_000, 19_999, 20_000] {
            #expect(f.read(now: t0 + dt, period: P) == 1, "t+\(dt)")  // anti-flapping rule
        }
        #expect(f.read(now: t0 + 20_001, period: P) == 0)
    }

    @Test func firstPeriodStartsAtFirstEvent() {
        var f = FreqCounter()
        f.update(inc: 1, now: t0 + 3_456, period: P)
        #expect(f.tick == UInt32(t0 + 3_456))
        f.update(inc: 1, now: t0 + 3_456 + 9_999, period: P)  // still the first period
        #expect(f == FreqCounter(prev: 0, curr: 2, tick: UInt32(t0 + 3_456)))
        // Within the first period the value is the exact number of events.
        #expect(f.read(now: t0 + 3_456 + 9_999, period: P) == 2)
        f.update(inc: 1, now: t0 + 3_456 + 10_000, period: P)  // rotates, aligned to tick + P
        #expect(f == FreqCounter(prev: 2, curr: 1, tick: UInt32(t0 + 13_456)))
    }

    @Test func periodsStayAlignedWhileEventsKeepComing() {
        var f = FreqCounter()
        f.update(inc: 1, now: t0, period: P)
        f.update(inc: 1, now: t0 + 13_000, period: P)
        #expect(f == FreqCounter(prev: 1, curr: 1, tick: UInt32(t0 + 10_000)))
        f.update(inc: 1, now: t0 + 20_100, period: P)
        #expect(f == FreqCounter(prev: 1, curr: 1, tick: UInt32(t0 + 20_000)))
        // Read at 25 s: curr 1 + floor(1 * 5000 / 10000) = 1.
        #expect(f.read(now: t0 + 25_000, period: P) == 1)
    }

    @Test func alignmentRestartsAfterASilentPeriod() {
        var f = FreqCounter()
        for _ in 0..<4 { f.update(inc: 1, now: t0 + 100, period: P) }
        // Period [t0+100, t0+10100) had 4 events; [t0+10100, t0+20100) is silent; next event at 40.5 s.
        f.update(inc: 1, now: t0 + 40_500, period: P)
        #expect(f == FreqCounter(prev: 0, curr: 1, tick: UInt32(t0 + 40_500)))
        // One silent period only: the previous count is kept and the grid continues.
        var g = FreqCounter()
        for _ in 0..<4 { g.update(inc: 1, now: t0, period: P) }
        g.update(inc: 1, now: t0 + 19_999, period: P)
        #expect(g == FreqCounter(prev: 4, curr: 1, tick: UInt32(t0 + 10_000)))
        #expect(g.read(now: t0 + 19_999, period: P) == 1)  // 1 + floor(4 * 1 / 10000)
        #expect(g.read(now: t0 + 15_000, period: P) == 3)  // 1 + floor(4 * 5000 / 10000)
    }

    @Test func skippedPeriodsDropThePreviousCount() {
        var f = FreqCounter()
        for _ in 0..<5 { f.update(inc: 1, now: t0, period: P) }
        f.update(inc: 3, now: t0 + 20_000, period: P)  // exactly two periods later
        #expect(f == FreqCounter(prev: 0, curr: 3, tick: UInt32(t0 + 20_000)))
        #expect(f.read(now: t0 + 20_000, period: P) == 3)
        // An unrotated counter read more than 2 periods after its start reads 0 (prev dropped too).
        var g = FreqCounter()
        for _ in 0..<50 { g.update(inc: 1, now: t0, period: P) }
        #expect(g.read(now: t0 + 20_001, period: P) == 0)
        #expect(g.read(now: t0 + 100_000, period: P) == 0)
    }

    @Test func rotationStoresAnEvenTickLikeHAProxy() {
        // Bit 0 of curr_tick is HAProxy's rotation lock: the tick stored is always even.
        var f = FreqCounter()
        f.update(inc: 1, now: t0 + 1, period: P)
        #expect(f.tick == UInt32(t0))
        // So the first period ends 1 ms earlier than the event time + P.
        f.update(inc: 1, now: t0 + 10_000, period: P)
        #expect(f == FreqCounter(prev: 1, curr: 1, tick: UInt32(t0 + 10_000)))
    }

    @Test func tickArithmeticWrapsAt32Bits() {
        let start: Int64 = (1 << 32) - 4_000  // now_ms wraps 4 s later
        var f = FreqCounter()
        for _ in 0..<5 { f.update(inc: 1, now: start, period: P) }
        f.update(inc: 1, now: start + 6_000, period: P)  // after the wrap, same period
        #expect(f.curr == 6 && f.prev == 0)
        #expect(f.read(now: start + 9_000, period: P) == 6)
        #expect(f.read(now: start + 10_500, period: P) == 5)  // 6*9500/10000 = 5.7
    }

    @Test func largeIncrementsUse64BitIntermediates() {
        var f = FreqCounter()
        f.update(inc: 3_000_000_000, now: t0, period: P)
        #expect(f.read(now: t0 + 15_000, period: P) == 1_500_000_000)
    }

    @Test func cliSetHoldsForAPeriodThenFades() {
        var f = FreqCounter(prev: 7, curr: 9, tick: 12)
        f.set(value: 20, now: UInt32(t0 + 3))
        #expect(f == FreqCounter(prev: 0, curr: 20, tick: UInt32(t0 + 2)))
        #expect(f.read(now: t0 + 9_000, period: P) == 20)
        #expect(f.read(now: t0 + 15_002, period: P) == 10)
    }
}
