import BreakwaterConfigModel

/// The hash of a key's words (SipHash, seeded per process, so clients cannot aim at a bucket).
@inline(__always)
func stickHash(_ key: UnsafePointer<UInt32>, words: Int) -> UInt64 {
    var h = Hasher()
    h.combine(bytes: UnsafeRawBufferPointer(start: key, count: words * 4))
    return UInt64(bitPattern: Int64(h.finalize()))
}

/// The per-table layout of an entry: a fixed number of 32-bit words.
///
///     [0] LRU prev slot   [1] LRU next slot (free-list link when free)
///     [2] expiry tick     [3] use count
///     [4 ..< 4+keyWords]  key bytes (memory order, zero padded)
///     data words, in CLI-6 order: counters 1 word (bytes counters 2 words, little end first),
///     rates 3 words (curr, prev, tick).
///
/// For `type ip … store http_req_rate(10s),bytes_out_rate(10s)` that is 4+1+3+3 = 11 words = 44 bytes.
struct Schema: Sendable {
    static let header = 4
    static let none: UInt32 = 0xFFFF_FFFF

    let keyWords: Int
    let stride: Int
    /// Word offset of each kind's data (by `Kind.displayOrder`), -1 if not stored.
    let offsets: [Int]
    /// Period of each rate kind (by `Kind.displayOrder`), 0 for counters.
    let periods: [UInt32]
    /// Stored kinds in display order.
    let stored: [StoreType]

    init(keyWords: Int, stores: [StoreType]) {
        self.keyWords = keyWords
        var offsets = [Int](repeating: -1, count: StoreType.Kind.allCases.count)
        var periods = [UInt32](repeating: 0, count: StoreType.Kind.allCases.count)
        var stored: [StoreType] = []
        var next = Self.header + keyWords
        for kind in StoreType.Kind.allCases {
            // First declaration wins when a type is stored twice (a warning at parse time).
            guard let s = stores.first(where: { $0.kind == kind }) else { continue }
            offsets[kind.displayOrder] = next
            periods[kind.displayOrder] = UInt32(clamping: max(1, s.periodMs ?? 1))
            next += kind.isRate ? 3 : (kind.is64Bit ? 2 : 1)
            stored.append(s)
        }
        self.offsets = offsets
        self.periods = periods
        self.stored = stored
        self.stride = next
    }

    @inline(__always) func offset(_ kind: StoreType.Kind) -> Int { offsets[kind.displayOrder] }
    @inline(__always) func period(_ kind: StoreType.Kind) -> UInt32 { periods[kind.displayOrder] }
}

/// Raw access to one entry's words.
struct EntryPtr {
    let p: UnsafeMutablePointer<UInt32>

    @inline(__always) var lruPrev: UInt32 { get { p[0] } nonmutating set { p[0] = newValue } }
    @inline(__always) var lruNext: UInt32 { get { p[1] } nonmutating set { p[1] = newValue } }
    @inline(__always) var exp: UInt32 { get { p[2] } nonmutating set { p[2] = newValue } }
    @inline(__always) var use: UInt32 { get { p[3] } nonmutating set { p[3] = newValue } }
    @inline(__always) var key: UnsafeMutablePointer<UInt32> { p + Schema.header }

    @inline(__always) func counter32(_ off: Int) -> UInt32 { p[off] }
    @inline(__always) func counter64(_ off: Int) -> UInt64 { UInt64(p[off]) | UInt64(p[off + 1]) << 32 }
    @inline(__always) func setCounter64(_ off: Int, _ v: UInt64) {
        p[off] = UInt32(truncatingIfNeeded: v)
        p[off + 1] = UInt32(truncatingIfNeeded: v >> 32)
    }
    @inline(__always) func freq(_ off: Int) -> FreqCounter { FreqCounter(prev: p[off + 1], curr: p[off], tick: p[off + 2]) }
    @inline(__always) func setFreq(_ off: Int, _ f: FreqCounter) {
        p[off] = f.curr
        p[off + 1] = f.prev
        p[off + 2] = f.tick
    }
}

/// One lock stripe of a table: a slab of entries in fixed-size chunks, an open-addressing index
/// (linear probing, backward-shift deletion) and an intrusive LRU list ordered by last touch.
///
/// Index buckets are `tag << 24 | (slot + 1)` (0 = empty), `tag` being 8 more bits of the hash so
/// most probes are resolved without reading the entry. A shard therefore holds at most 2^24 - 1
/// entries. `@unchecked Sendable`: it owns raw memory and is only ever reached through its shard's Mutex.
struct ShardStorage: ~Copyable, @unchecked Sendable {
    static let maxSlots = (1 << 24) - 1

    let stride: Int
    let keyWords: Int
    let chunkShift: Int
    var chunks: [UnsafeMutablePointer<UInt32>] = []
    /// Slots handed out at least once (high-water mark).
    var slotCount: Int = 0
    var freeHead: UInt32 = Schema.none
    var lruHead: UInt32 = Schema.none
    var lruTail: UInt32 = Schema.none
    var count: Int = 0
    var index: UnsafeMutablePointer<UInt32>
    var indexMask: Int

    init(stride: Int, keyWords: Int, chunkShift: Int) {
        self.stride = stride
        self.keyWords = keyWords
        self.chunkShift = chunkShift
        indexMask = 15
        index = .allocate(capacity: 16)
        index.initialize(repeating: 0, count: 16)
    }

    deinit {
        for c in chunks { c.deallocate() }
        index.deallocate()
    }

    var chunkSlots: Int { 1 << chunkShift }

    /// Bytes allocated by this shard (slab chunks + index).
    var allocatedBytes: Int {
        chunks.count * chunkSlots * stride * 4 + (indexMask + 1) * 4 + chunks.capacity * 8
    }

    @inline(__always) func entry(_ slot: UInt32) -> EntryPtr {
        let s = Int(slot)
        return EntryPtr(p: chunks[s >> chunkShift] + (s & (chunkSlots - 1)) * stride)
    }

    // MARK: Index

    @inline(__always) func hash(_ key: UnsafePointer<UInt32>) -> UInt64 { stickHash(key, words: keyWords) }

    @inline(__always) static func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 48) & 0xFF }

    @inline(__always) func keyEquals(_ slot: UInt32, _ key: UnsafePointer<UInt32>) -> Bool {
        let k = entry(slot).key
        for i in 0..<keyWords where k[i] != key[i] { return false }
        return true
    }

    /// The slot holding `key`, if any.
    func find(_ key: UnsafePointer<UInt32>, hash: UInt64) -> UInt32? {
        let tag = Self.tag(hash)
        var i = Int(truncatingIfNeeded: hash) & indexMask
        while true {
            let b = index[i]
            if b == 0 { return nil }
            if b >> 24 == tag {
                let slot = (b & 0xFF_FFFF) - 1
                if keyEquals(slot, key) { return slot }
            }
            i = (i + 1) & indexMask
        }
    }

    private func indexInsert(slot: UInt32, hash: UInt64, into idx: UnsafeMutablePointer<UInt32>, mask: Int) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while idx[i] != 0 { i = (i + 1) & mask }
        idx[i] = Self.tag(hash) << 24 | (slot + 1)
    }

    private mutating func growIndexIfNeeded() {
        let cap = indexMask + 1
        guard (count + 1) * 4 > cap * 3 else { return }
        let newCap = cap * 2
        let newIndex = UnsafeMutablePointer<UInt32>.allocate(capacity: newCap)
        newIndex.initialize(repeating: 0, count: newCap)
        for i in 0..<cap {
            let b = index[i]
            if b == 0 { continue }
            let slot = (b & 0xFF_FFFF) - 1
            indexInsert(slot: slot, hash: hash(entry(slot).key), into: newIndex, mask: newCap - 1)
        }
        index.deallocate()
        index = newIndex
        indexMask = newCap - 1
    }

    /// Removes `slot` from the index (backward-shift deletion keeps probe chains intact).
    private mutating func indexRemove(slot: UInt32, hash keyHash: UInt64) {
        var i = Int(truncatingIfNeeded: keyHash) & indexMask
        while (index[i] & 0xFF_FFFF) != slot + 1 { i = (i + 1) & indexMask }
        var hole = i
        var j = i
        while true {
            j = (j + 1) & indexMask
            let b = index[j]
            if b == 0 { break }
            let home = Int(truncatingIfNeeded: hash(entry((b & 0xFF_FFFF) - 1).key)) & indexMask
            // Move b into the hole unless its home lies cyclically in (hole, j].
            let between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !between {
                index[hole] = b
                hole = j
            }
        }
        index[hole] = 0
    }

    // MARK: Slots and LRU

    /// Creates an entry for `key` (not yet in the index); nil if the shard is at its slot limit.
    mutating func insert(_ key: UnsafePointer<UInt32>, hash keyHash: UInt64) -> UInt32? {
        let slot: UInt32
        if freeHead != Schema.none {
            slot = freeHead
            freeHead = entry(slot).lruNext
        } else {
            guard slotCount < Self.maxSlots else { return nil }
            if slotCount == chunks.count << chunkShift {
                let words = chunkSlots * stride
                let c = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
                c.initialize(repeating: 0, count: words)
                chunks.append(c)
            }
            slot = UInt32(slotCount)
            slotCount += 1
        }
        growIndexIfNeeded()
        let e = entry(slot)
        e.p.update(repeating: 0, count: stride)
        e.key.update(from: key, count: keyWords)
        indexInsert(slot: slot, hash: keyHash, into: index, mask: indexMask)
        linkTail(slot)
        count += 1
        return slot
    }

    /// Deletes an entry (index, LRU, slot back to the free list).
    mutating func remove(_ slot: UInt32) {
        let e = entry(slot)
        indexRemove(slot: slot, hash: hash(e.key))
        unlink(slot)
        e.lruNext = freeHead
        e.lruPrev = Schema.none
        freeHead = slot
        count -= 1
    }

    mutating func linkTail(_ slot: UInt32) {
        let e = entry(slot)
        e.lruNext = Schema.none
        e.lruPrev = lruTail
        if lruTail != Schema.none { entry(lruTail).lruNext = slot } else { lruHead = slot }
        lruTail = slot
    }

    mutating func unlink(_ slot: UInt32) {
        let e = entry(slot)
        if e.lruPrev != Schema.none { entry(e.lruPrev).lruNext = e.lruNext } else { lruHead = e.lruNext }
        if e.lruNext != Schema.none { entry(e.lruNext).lruPrev = e.lruPrev } else { lruTail = e.lruPrev }
    }

    /// Moves an entry to the most-recently-touched end.
    mutating func moveToTail(_ slot: UInt32) {
        guard lruTail != slot else { return }
        unlink(slot)
        linkTail(slot)
    }

    /// Evicts up to `max` idle entries, least recently touched first. Returns how many.
    mutating func evict(max: Int) -> Int {
        var removed = 0
        var cur = lruHead
        while cur != Schema.none && removed < max {
            let next = entry(cur).lruNext
            if entry(cur).use == 0 {
                remove(cur)
                removed += 1
            }
            cur = next
        }
        return removed
    }

    /// Deletes idle entries whose expiry is at or before `now`. The LRU is in touch order, which is
    /// expiry order, so the walk stops at the first entry not yet expired.
    mutating func purge(now: UInt32) -> Int {
        var removed = 0
        var cur = lruHead
        while cur != Schema.none {
            let e = entry(cur)
            if Int32(bitPattern: now &- e.exp) < 0 { break }
            let next = e.lruNext
            if e.use == 0 {
                remove(cur)
                removed += 1
            }
            cur = next
        }
        return removed
    }

    /// Slots in LRU order (oldest touch first).
    func slotsInLRUOrder() -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        var cur = lruHead
        while cur != Schema.none {
            out.append(cur)
            cur = entry(cur).lruNext
        }
        return out
    }
}
