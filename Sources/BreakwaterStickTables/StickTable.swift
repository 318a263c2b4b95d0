import BreakwaterConfigModel
import Synchronization

/// A handle on a table entry held by a request or connection (STK-5 step 5).
///
/// Valid from `acquire`/`track` until the matching `release`: while held, the entry is "in use"
/// and is never expired, evicted or cleared, so the slot cannot be reused under the holder.
public struct EntryRef: Sendable, Hashable {
    public let shard: UInt32
    public let slot: UInt32
}

/// A copy of one entry, read without touching it (for `src_*` fetches and tests).
public struct StickEntrySnapshot: Sendable, Equatable {
    /// The key as `show table` prints it.
    public var key: String
    public var use: Int
    /// ms until expiry as `show table` prints it (0 once expired, always 0 without `expire`).
    public var exp: Int
    /// Values of every stored type in CLI-6 order, rates read at the snapshot time.
    public var values: [(StoreType, Int64)]

    public func value(_ kind: StoreType.Kind) -> Int64? { values.first { $0.0.kind == kind }?.1 }

    public static func == (a: Self, b: Self) -> Bool {
        a.key == b.key && a.use == b.use && a.exp == b.exp && a.values.map(\.0) == b.values.map(\.0)
            && a.values.map(\.1) == b.values.map(\.1)
    }
}

/// A stick table (spec STK-1..STK-8), shared by all event loops.
///
/// Concurrency: the table is striped into `shardCount` shards selected by key hash, each behind its
/// own `Mutex`; every operation locks exactly one shard (eviction may additionally *try* other
/// shards, never blocking on them). The global entry count is an atomic bounded by `size`.
///
/// Eviction (STK-7) is a per-shard LRU: when the table is full, an insertion evicts the least
/// recently touched idle entries *of the shard the key hashes to*, up to
/// `floor(shardSize / 256) + 1` of them, where `shardSize = ceil(size / shardCount)` — the spec's
/// `floor(size / 256) + 1` spread over the stripes so that each round drops the same share of a
/// stripe as HAProxy drops of the whole table. Tables below 4096 entries use one shard, i.e. an
/// exact global LRU and exactly the spec's batch. If the home shard has no idle entry, the oldest
/// idle entries of other (uncontended) shards are evicted instead.
///
/// Time: every operation takes `now`, milliseconds on the process clock (any monotonic `Int64`
/// clock; rates use its low 32 bits exactly as HAProxy uses `now_ms`). Nothing here reads a clock.
///
/// `@unchecked Sendable`: the only mutable state is behind the shards' `Mutex`es (allocated inline,
/// once, in `shardBase`) and the atomic `total`; everything else is immutable after `init`.
public final class StickTable: @unchecked Sendable {
    public let name: String
    public let config: StickTableConfig
    public let shardCount: Int
    /// Entries evicted from a shard per eviction round.
    public let evictionBatch: Int

    let codec: KeyCodec
    let schema: Schema
    /// `shardCount` padded mutexes in one allocation: reaching a shard costs no reference counting.
    let shardBase: UnsafeMutablePointer<PaddedShard>
    let total = Atomic<Int>(0)
    let size: Int
    let expireMs: UInt32?
    let shardMask: Int

    struct PaddedShard: ~Copyable {
        let state: Mutex<ShardStorage>
        /// Keeps two shards' locks and list heads off the same cache lines.
        let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        init(_ s: consuming ShardStorage) { state = Mutex(s) }
    }

    /// Runs `body` on shard `i` under its lock.
    @inline(__always)
    func withShard<R: Sendable>(_ i: Int, _ body: (inout ShardStorage) -> R) -> R {
        shardBase[i].state.withLock { s in body(&s) }
    }

    /// Runs `body` on shard `i` if its lock is free right now.
    @inline(__always)
    func withShardIfAvailable<R: Sendable>(_ i: Int, _ body: (inout ShardStorage) -> R) -> R? {
        shardBase[i].state.withLockIfAvailable { s in body(&s) }
    }

    deinit {
        shardBase.deinitialize(count: shardCount)
        shardBase.deallocate()
    }

    /// - Parameter shardCount: a power of two (rounded up); default: 1 below 4096 entries, then one
    ///   shard per 2048 entries up to 64.
    public init(name: String, config: StickTableConfig, shardCount: Int? = nil) {
        self.name = name
        self.config = config
        size = max(0, config.size)
        codec = KeyCodec(config.keyType)
        schema = Schema(keyWords: codec.words, stores: config.stores)
        expireMs = config.expireMs.map { UInt32(clamping: max(0, $0)) }
        var n = shardCount ?? (size < 4096 ? 1 : min(64, size / 2048))
        n = max(1, min(256, n))
        var p = 1
        while p < n { p <<= 1 }
        self.shardCount = p
        shardMask = p - 1
        let perShard = (size + p - 1) / p
        evictionBatch = perShard / 256 + 1
        // Chunks of 16…256 slots: small tables waste little, large ones allocate rarely.
        var shift = 4
        while shift < 8 && (1 << shift) < perShard { shift += 1 }
        let stride = schema.stride, keyWords = codec.words
        shardBase = .allocate(capacity: p)
        for i in 0..<p {
            (shardBase + i).initialize(to: PaddedShard(ShardStorage(stride: stride, keyWords: keyWords, chunkShift: shift)))
        }
    }

    // MARK: - Introspection

    /// Entries currently in the table (`used:` in `show table`).
    public var count: Int { total.load(ordering: .relaxed) }

    /// Bytes of one entry's slab record (header, key, stored data).
    public var entryPayloadBytes: Int { schema.stride * 4 }

    /// Bytes allocated by all shards (slabs, indexes, chunk tables).
    public var allocatedBytes: Int {
        (0..<shardCount).reduce(0) { acc, i in acc + withShard(i) { $0.allocatedBytes } }
    }

    /// `allocatedBytes / count` (slab + index + slack of partly used chunks); payload size when empty.
    public var approximateBytesPerEntry: Double {
        let c = count
        return c == 0 ? Double(entryPayloadBytes) : Double(allocatedBytes) / Double(c)
    }

    /// Whether the table stores `kind`.
    public func stores(_ kind: StoreType.Kind) -> Bool { schema.offset(kind) >= 0 }

    /// The configured period of a stored rate, in ms.
    public func period(of kind: StoreType.Kind) -> Int? {
        schema.offset(kind) >= 0 && kind.isRate ? Int(schema.period(kind)) : nil
    }

    // MARK: - Hashing

    @inline(__always) func hash(_ key: UnsafePointer<UInt32>) -> UInt64 { stickHash(key, words: codec.words) }

    @inline(__always) func shardIndex(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 56) & shardMask }

    /// Runs `body` with the key encoded in table words; nil if the sample does not convert.
    @inline(__always)
    func withKeyWords<R>(_ key: StickKey, _ body: (UnsafePointer<UInt32>) -> R) -> R? {
        let words = codec.words
        if case .ip = codec.type, case .ipv4(let v) = key {
            var w = v.bigEndian
            return withUnsafePointer(to: &w) { body($0) }
        }
        guard let bytes = codec.encode(key) else { return nil }
        return withKeyWords(bytes: bytes, words: words, body)
    }

    func withKeyWords<R>(bytes: [UInt8], words: Int, _ body: (UnsafePointer<UInt32>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: words) { buf in
            let raw = UnsafeMutableRawBufferPointer(buf)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.copyBytes(from: bytes.prefix(words * 4))
            return body(UnsafePointer(buf.baseAddress!))
        }
    }

    // MARK: - Touch

    @inline(__always) func touch(_ s: inout ShardStorage, _ slot: UInt32, now: Int64) {
        if let e = expireMs {
            s.entry(slot).exp = FreqCounter.tick(now) &+ e
        }
        s.moveToTail(slot)
    }

    // MARK: - Creating and tracking

    /// Finds or creates the entry for `key`, marks it in use (+1) and touches it (STK-5 steps 1–3).
    /// Nil if the key does not convert to the table type, or the table is full and nothing can be
    /// evicted (or `nopurge`): the request then goes on untracked.
    public func acquire(key: StickKey, now: Int64) -> EntryRef? {
        acquire(key: key, now: now, countRequest: false)
    }

    /// `acquire` then count the request (STK-5 steps 1–4): `http_req_cnt` and `http_req_rate` +1,
    /// all under one lock acquisition.
    public func track(key: StickKey, now: Int64) -> EntryRef? {
        acquire(key: key, now: now, countRequest: true)
    }

    private func acquire(key: StickKey, now: Int64, countRequest: Bool) -> EntryRef? {
        return withKeyWords(key) { kw -> EntryRef? in
            let h = hash(kw)
            let si = shardIndex(h)
            return withShard(si) { s -> EntryRef? in
                if let slot = s.find(kw, hash: h) {
                    let e = s.entry(slot)
                    e.use &+= 1
                    if countRequest { countRequestLocked(e, now: now) }
                    touch(&s, slot, now: now)
                    return EntryRef(shard: UInt32(si), slot: slot)
                }
                guard reserveOrEvict(&s, homeShard: si, now: now) else { return nil }
                guard let slot = s.insert(kw, hash: h) else {
                    total.subtract(1, ordering: .relaxed)
                    return nil
                }
                let e = s.entry(slot)
                e.use = 1
                if countRequest { countRequestLocked(e, now: now) }
                touch(&s, slot, now: now)
                return EntryRef(shard: UInt32(si), slot: slot)
            }
        } ?? nil
    }

    /// Reserves room for one entry in the global count, evicting first if the table is full.
    func reserveOrEvict(_ s: inout ShardStorage, homeShard: Int, now: Int64) -> Bool {
        if tryReserve() { return true }
        if config.nopurge { return false }
        var evicted = s.evict(max: evictionBatch)
        if evicted == 0 && shardCount > 1 {
            // The home stripe holds nothing idle: take the oldest idle entries of another stripe
            // without ever blocking on its lock (no lock-order deadlock).
            for k in 1..<shardCount where evicted == 0 {
                evicted = withShardIfAvailable((homeShard + k) & shardMask) { o in o.evict(max: evictionBatch) } ?? 0
            }
        }
        if evicted > 0 { total.subtract(evicted, ordering: .relaxed) }
        return tryReserve()
    }

    private func tryReserve() -> Bool {
        var cur = total.load(ordering: .relaxed)
        while cur < size {
            let (ok, orig) = total.compareExchange(expected: cur, desired: cur + 1, ordering: .relaxed)
            if ok { return true }
            cur = orig
        }
        return false
    }

    /// Ends a request's (or connection's) hold on the entry: use −1; deleted now if it expired
    /// while in use (STK-8).
    public func release(_ ref: EntryRef, now: Int64) {
        let removed = withShard(Int(ref.shard)) { s -> Bool in
            let e = s.entry(ref.slot)
            precondition(e.use > 0, "stick table entry released more often than acquired")
            e.use -= 1
            if e.use == 0, expireMs != nil, Int32(bitPattern: FreqCounter.tick(now) &- e.exp) >= 0 {
                s.remove(ref.slot)
                return true
            }
            return false
        }
        if removed { total.subtract(1, ordering: .relaxed) }
    }

    // MARK: - Counting (all touch the entry when they modify stored data, as HAProxy does)

    @inline(__always)
    private func mutate(_ ref: EntryRef, now: Int64, alwaysTouch: Bool = false,
                        _ body: (EntryPtr) -> Bool) {
        withShard(Int(ref.shard)) { s in
            let modified = body(s.entry(ref.slot))
            if modified || alwaysTouch { touch(&s, ref.slot, now: now) }
        }
    }

    @inline(__always) private func bump32(_ e: EntryPtr, _ kind: StoreType.Kind) -> Bool {
        let off = schema.offset(kind)
        guard off >= 0 else { return false }
        e.p[off] &+= 1
        return true
    }

    @inline(__always) private func bump64(_ e: EntryPtr, _ kind: StoreType.Kind, _ n: UInt64) -> Bool {
        let off = schema.offset(kind)
        guard off >= 0 else { return false }
        e.setCounter64(off, e.counter64(off) &+ n)
        return true
    }

    @inline(__always) private func bumpRate(_ e: EntryPtr, _ kind: StoreType.Kind, _ n: UInt32, _ now: Int64) -> Bool {
        let off = schema.offset(kind)
        guard off >= 0 else { return false }
        var f = e.freq(off)
        f.update(inc: n, now: FreqCounter.tick(now), period: schema.period(kind))
        e.setFreq(off, f)
        return true
    }

    /// One HTTP request on a tracked entry: `http_req_cnt`, `http_req_rate` +1, and touch
    /// (STK-5 step 4; also for each request of a connection tracked at connection level).
    public func countHTTPRequest(_ ref: EntryRef, now: Int64) {
        mutate(ref, now: now, alwaysTouch: true) { e in
            countRequestLocked(e, now: now)
            return true
        }
    }

    @inline(__always) private func countRequestLocked(_ e: EntryPtr, now: Int64) {
        _ = bump32(e, .httpReqCnt)
        _ = bumpRate(e, .httpReqRate, 1, now)
    }

    /// Response bytes sent to the client (`bytes_out_cnt`, `bytes_out_rate`), added progressively.
    public func addBytesOut(_ ref: EntryRef, n: Int, now: Int64) {
        guard n > 0 else { return }
        mutate(ref, now: now) { e in
            let a = bump64(e, .bytesOutCnt, UInt64(n))
            let b = bumpRate(e, .bytesOutRate, UInt32(truncatingIfNeeded: n), now)
            return a || b
        }
    }

    /// Request bytes received from the client (`bytes_in_cnt`, `bytes_in_rate`).
    public func addBytesIn(_ ref: EntryRef, n: Int, now: Int64) {
        guard n > 0 else { return }
        mutate(ref, now: now) { e in
            let a = bump64(e, .bytesInCnt, UInt64(n))
            let b = bumpRate(e, .bytesInRate, UInt32(truncatingIfNeeded: n), now)
            return a || b
        }
    }

    /// An HTTP error (`http_err_cnt`, `http_err_rate`), STK-2.
    public func addHTTPError(_ ref: EntryRef, now: Int64) {
        mutate(ref, now: now) { e in
            let a = bump32(e, .httpErrCnt)
            let b = bumpRate(e, .httpErrRate, 1, now)
            return a || b
        }
    }

    /// `sc_inc_gpc0` / `sc-inc-gpc0`: `gpc0` +1 and `gpc0_rate` +1. Returns the new `gpc0`, 0 if only
    /// `gpc0_rate` is stored (HAProxy's value), nil if neither is stored.
    @discardableResult
    public func incGPC0(_ ref: EntryRef, now: Int64) -> Int64? {
        var result: Int64?
        mutate(ref, now: now) { e in
            let b = bumpRate(e, .gpc0Rate, 1, now)
            let off = schema.offset(.gpc0)
            if off >= 0 {
                e.p[off] &+= 1
                result = Int64(e.p[off])
                return true
            }
            if b { result = 0 }
            return b
        }
        return result
    }

    /// A connection tracked at connection level opened: `conn_cnt`, `conn_rate`, `conn_cur` +1.
    public func connOpened(_ ref: EntryRef, now: Int64) {
        mutate(ref, now: now) { e in
            let a = bump32(e, .connCnt)
            let b = bumpRate(e, .connRate, 1, now)
            let c = bump32(e, .connCur)
            return a || b || c
        }
    }

    /// The connection closed: `conn_cur` −1 (never below 0). The caller then `release`s the ref.
    public func connClosed(_ ref: EntryRef, now: Int64) {
        mutate(ref, now: now) { e in
            let off = schema.offset(.connCur)
            guard off >= 0 else { return false }
            if e.p[off] > 0 { e.p[off] -= 1 }
            return true
        }
    }

    /// A session was accepted on a tracked entry: `sess_cnt`, `sess_rate` +1.
    public func sessOpened(_ ref: EntryRef, now: Int64) {
        mutate(ref, now: now) { e in
            let a = bump32(e, .sessCnt)
            let b = bumpRate(e, .sessRate, 1, now)
            return a || b
        }
    }

    // MARK: - Reading (never touches)

    @inline(__always) func value(_ e: EntryPtr, _ kind: StoreType.Kind, now: Int64) -> Int64? {
        let off = schema.offset(kind)
        guard off >= 0 else { return nil }
        if kind.isRate { return Int64(e.freq(off).read(now: FreqCounter.tick(now), period: schema.period(kind))) }
        if kind.is64Bit { return Int64(bitPattern: e.counter64(off)) }
        return Int64(e.p[off])
    }

    /// The value of `kind` for a held entry (rates read at `now`, STK-4); nil if not stored.
    public func read(_ ref: EntryRef, _ kind: StoreType.Kind, now: Int64) -> Int64? {
        guard schema.offset(kind) >= 0 else { return nil }
        return withShard(Int(ref.shard)) { s in value(s.entry(ref.slot), kind, now: now) }
    }

    /// `src_*`-style read: looks `key` up without creating, holding or touching anything.
    /// nil if the table does not store `kind` (no value); 0 if the key is absent or unconvertible
    /// (HAProxy returns 0 for a missing entry).
    public func read(key: StickKey, _ kind: StoreType.Kind, now: Int64) -> Int64? {
        guard schema.offset(kind) >= 0 else { return nil }
        return withKeyWords(key) { kw -> Int64 in
            let h = hash(kw)
            return withShard(shardIndex(h)) { s -> Int64 in
                guard let slot = s.find(kw, hash: h) else { return 0 }
                return value(s.entry(slot), kind, now: now) ?? 0
            }
        } ?? 0
    }

    /// A snapshot of the entry for `key`, without creating or touching it.
    public func lookup(key: StickKey, now: Int64) -> StickEntrySnapshot? {
        withKeyWords(key) { kw -> StickEntrySnapshot? in
            let h = hash(kw)
            return withShard(shardIndex(h)) { s -> StickEntrySnapshot? in
                guard let slot = s.find(kw, hash: h) else { return nil }
                return snapshot(s.entry(slot), now: now)
            }
        } ?? nil
    }

    /// A snapshot of a held entry.
    public func snapshot(_ ref: EntryRef, now: Int64) -> StickEntrySnapshot {
        withShard(Int(ref.shard)) { s in snapshot(s.entry(ref.slot), now: now) }
    }

    func snapshot(_ e: EntryPtr, now: Int64) -> StickEntrySnapshot {
        let key = codec.format(UnsafeRawBufferPointer(start: e.key, count: codec.byteCount))
        return StickEntrySnapshot(key: key, use: Int(e.use), exp: remaining(e, now: now),
                                  values: schema.stored.map { ($0, value(e, $0.kind, now: now) ?? 0) })
    }

    /// `exp=`: HAProxy's tick_remain(now, expire): ms left, 0 once expired (and always 0 without
    /// `expire`, whose entries carry an already-reached expiry date).
    func remaining(_ e: EntryPtr, now: Int64) -> Int {
        guard expireMs != nil else { return 0 }
        let d = Int32(bitPattern: e.exp &- FreqCounter.tick(now))
        return d > 0 ? Int(d) : 0
    }

    // MARK: - Expiry

    /// Deletes idle entries whose expiry date has passed (STK-8). Run it every second (or at the
    /// next due date); reads never expire anything. Returns the number removed.
    @discardableResult
    public func purgeExpired(now: Int64) -> Int {
        guard expireMs != nil else { return 0 }
        let t = FreqCounter.tick(now)
        var removed = 0
        for i in 0..<shardCount {
            let n = withShard(i) { s in s.purge(now: t) }
            if n > 0 { total.subtract(n, ordering: .relaxed) }
            removed += n
        }
        return removed
    }
}

extension StickTable {
    /// The shard a key hashes to (tests, diagnostics); nil if the key does not convert.
    func shardIndex(of key: StickKey) -> Int? {
        withKeyWords(key) { shardIndex(hash($0)) }
    }

    /// Keys of one shard in LRU order, oldest touch first (tests, diagnostics).
    func lruKeys(shard: Int) -> [String] {
        withShard(shard) { s in
            s.slotsInLRUOrder().map { codec.format(UnsafeRawBufferPointer(start: s.entry($0).key, count: codec.byteCount)) }
        }
    }
}
