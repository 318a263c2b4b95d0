import Synchronization

/// Response times in fixed millisecond buckets, recorded lock-free from any event loop and read by
/// the Prometheus exporter as a `histogram` in seconds.
public final class ResponseTimeHistogram: @unchecked Sendable {
    // @unchecked: `slots` is allocated once in init, freed in deinit, and only ever accessed through
    // atomic operations in between.

    /// Upper bounds (inclusive) of the finite buckets, in ms; a final `+Inf` bucket follows.
    public static let boundsMs: [Int] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]

    /// Cumulative counts, as Prometheus wants them.
    public struct Snapshot: Sendable, Equatable {
        /// `cumulative[i]` = observations ≤ `boundsMs[i]`; one more entry for `+Inf` (= count).
        public var cumulative: [Int]
        public var count: Int
        public var sumMs: Int
    }

    private static let bucketCount = boundsMs.count + 1
    /// Per-bucket (non-cumulative) counts, then the sum of all observations in ms.
    private let slots: UnsafeMutablePointer<Atomic<Int>>

    public init() {
        let n = Self.bucketCount + 1
        slots = .allocate(capacity: n)
        for i in 0..<n { (slots + i).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: Self.bucketCount + 1)
        slots.deallocate()
    }

    /// Records one observation; negative values (no response) are ignored.
    public func record(milliseconds ms: Int) {
        guard ms >= 0 else { return }
        var index = Self.boundsMs.count
        for (i, bound) in Self.boundsMs.enumerated() where ms <= bound {
            index = i
            break
        }
        slots[index].wrappingAdd(1, ordering: .relaxed)
        slots[Self.bucketCount].wrappingAdd(ms, ordering: .relaxed)
    }

    public var snapshot: Snapshot {
        var cumulative: [Int] = []
        var running = 0
        for i in 0..<Self.bucketCount {
            running += slots[i].load(ordering: .relaxed)
            cumulative.append(running)
        }
        return Snapshot(cumulative: cumulative, count: running, sumMs: slots[Self.bucketCount].load(ordering: .relaxed))
    }
}
