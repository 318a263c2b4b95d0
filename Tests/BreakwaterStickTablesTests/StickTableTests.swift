import BreakwaterConfigModel
import Testing
@testable import BreakwaterStickTables

let t0: Int64 = 1_000_000

func ip(_ text: String) -> StickKey { StickKey.address(text)! }

/// The seed configuration's table: `stick-table type ip size 2m expire 30s store http_req_rate(10s),bytes_out_rate(10s)`.
func seedTable(name: String = "st_req_rate", shardCount: Int? = nil) -> StickTable {
    StickTable(name: name, config: StickTableConfig(
        keyType: .ip, size: 2 * 1_048_576, expireMs: 30_000,
        stores: [.httpReqRate(periodMs: 10_000), .bytesOutRate(periodMs: 10_000)]), shardCount: shardCount)
}

@Suite struct TrackingTests {
    @Test func fiftyFirstRequestIsTheFirstAboveFifty() {
        // STK-5 timing guarantee: the ACL after the track rule sees the current request.
        let table = seedTable()
        let key = ip("127.0.0.1")
        for n in 1...60 {
            let now = t0 + Int64(n) * 20
            let ref = table.track(key: key, now: now)!
            let rate = table.read(ref, .httpReqRate, now: now)!
            let isAbusive = rate > 50
            #expect(rate == Int64(n))
            #expect(isAbusive == (n >= 51), "request \(n)")
            table.release(ref, now: now)
        }
    }

    @Test func readOfAnUnstoredTypeIsNil() {
        let table = seedTable()
        let ref = table.track(key: ip("10.0.0.1"), now: t0)!
        #expect(table.read(ref, .httpReqCnt, now: t0) == nil)
        #expect(table.read(ref, .gpc0, now: t0) == nil)
        #expect(table.read(key: ip("10.0.0.1"), .connCur, now: t0) == nil)
        #expect(table.read(key: ip("10.0.0.1"), .httpReqRate, now: t0) == 1)
        #expect(table.read(key: ip("10.9.9.9"), .httpReqRate, now: t0) == 0)  // absent: 0, like HAProxy
        #expect(table.incGPC0(ref, now: t0) == nil)
        table.release(ref, now: t0)
    }

    @Test func allCountersCountWhatTheyShould() {
        let table = StickTable(name: "all", config: StickTableConfig(
            keyType: .ip, size: 100, expireMs: 60_000,
            stores: StoreType.Kind.allCases.map { StoreType(kind: $0, periodMs: 10_000) }))
        let key = ip("192.0.2.7")
        let conn = table.acquire(key: key, now: t0)!
        table.connOpened(conn, now: t0)
        table.sessOpened(conn, now: t0)
        let req = table.track(key: key, now: t0 + 1)!
        #expect(req == conn)
        table.addBytesIn(req, n: 300, now: t0 + 2)
        table.addBytesOut(req, n: 5_000_000_000, now: t0 + 3)  // 64-bit counter, rate wraps at 32 bits like HAProxy
        table.addHTTPError(req, now: t0 + 4)
        #expect(table.incGPC0(req, now: t0 + 5) == 1)
        #expect(table.incGPC0(req, now: t0 + 5) == 2)
        let s = table.snapshot(req, now: t0 + 6)
        #expect(s.use == 2)
        #expect(s.value(.connCnt) == 1 && s.value(.connCur) == 1 && s.value(.connRate) == 1)
        #expect(s.value(.sessCnt) == 1 && s.value(.sessRate) == 1)
        #expect(s.value(.httpReqCnt) == 1 && s.value(.httpReqRate) == 1)
        #expect(s.value(.httpErrCnt) == 1 && s.value(.httpErrRate) == 1)
        #expect(s.value(.bytesInCnt) == 300 && s.value(.bytesInRate) == 300)
        #expect(s.value(.bytesOutCnt) == 5_000_000_000)
        #expect(s.value(.bytesOutRate) == Int64(UInt32(truncatingIfNeeded: 5_000_000_000 as Int64)))
        #expect(s.value(.gpc0) == 2 && s.value(.gpc0Rate) == 2)
        table.release(req, now: t0 + 7)
        table.connClosed(conn, now: t0 + 8)
        table.connClosed(conn, now: t0 + 8)  // never below 0
        table.release(conn, now: t0 + 8)
        let after = table.lookup(key: key, now: t0 + 9)!
        #expect(after.use == 0 && after.value(.connCur) == 0)
        #expect(after.exp == 60_000 - 1)
    }

    @Test func v4MappedIPv6IsTrackedInAnIPTable() {
        let table = seedTable()
        let a = table.track(key: ip("::ffff:10.1.2.3"), now: t0)!
        let b = table.track(key: ip("10.1.2.3"), now: t0)!
        #expect(a == b)
        #expect(table.count == 1)
        #expect(table.snapshot(a, now: t0).key == "10.1.2.3")
        #expect(table.read(a, .httpReqRate, now: t0) == 2)
        // Other IPv6 sources cannot be converted: not tracked, no entry, no error.
        #expect(table.track(key: ip("2001:db8::1"), now: t0) == nil)
        #expect(table.track(key: ip("::1"), now: t0) == nil)
        #expect(table.track(key: .integer(5), now: t0) == nil)
        #expect(table.count == 1)
    }

    @Test func ipv4IsStoredMappedInAnIPv6Table() {
        let table = StickTable(name: "v6", config: StickTableConfig(keyType: .ipv6, size: 10, stores: [.httpReqCnt]))
        let a = table.track(key: ip("10.1.2.3"), now: t0)!
        let b = table.track(key: ip("::ffff:10.1.2.3"), now: t0)!
        #expect(a == b)
        #expect(table.snapshot(a, now: t0).key == "::ffff:10.1.2.3")
        let c = table.track(key: ip("2001:db8::1"), now: t0)!
        #expect(table.snapshot(c, now: t0).key == "2001:db8::1")
    }

    @Test func integerStringAndBinaryKeys() {
        let ints = StickTable(name: "i", config: StickTableConfig(keyType: .integer, size: 10, stores: [.httpReqCnt]))
        let r = ints.track(key: .integer(42), now: t0)!
        #expect(ints.snapshot(r, now: t0).key == "42")
        #expect(ints.track(key: .string("42"), now: t0) == r)
        // HAProxy keeps 32 bits and prints %u.
        let m = ints.track(key: .integer(-1), now: t0)!
        #expect(ints.snapshot(m, now: t0).key == "4294967295")

        let strs = StickTable(name: "s", config: StickTableConfig(keyType: .string(len: 8), size: 10, stores: [.httpReqCnt]))
        let s1 = strs.track(key: .string("client-a"), now: t0)!
        let s2 = strs.track(key: .string("client-abcdef"), now: t0)!  // truncated to len
        #expect(s1 == s2)
        let s3 = strs.track(key: .string("a b=c"), now: t0)!
        #expect(strs.snapshot(s3, now: t0).key == "a\\ b\\=c")  // dump_text escaping
        #expect(strs.track(key: ip("127.0.0.1"), now: t0).map { strs.snapshot($0, now: t0).key } == "127.0.0.")

        let bins = StickTable(name: "b", config: StickTableConfig(keyType: .binary(len: 4), size: 10, stores: []))
        let b1 = bins.track(key: .binary([0xDE, 0xAD]), now: t0)!
        #expect(bins.snapshot(b1, now: t0).key == "DEAD0000")
    }
}

@Suite struct ExpiryTests {
    @Test func idleEntriesExpireFromTheLastTouch() {
        let table = seedTable()
        let ref = table.track(key: ip("10.0.0.1"), now: t0)!
        table.release(ref, now: t0)
        #expect(table.purgeExpired(now: t0 + 29_999) == 0)
        #expect(table.lookup(key: ip("10.0.0.1"), now: t0 + 29_999)?.exp == 1)
        #expect(table.purgeExpired(now: t0 + 30_000) == 1)
        #expect(table.count == 0)
        #expect(table.lookup(key: ip("10.0.0.1"), now: t0 + 30_000) == nil)
    }

    @Test func touchesExtendAndReadsDoNot() {
        let table = seedTable()
        let ref = table.track(key: ip("10.0.0.1"), now: t0)!
        table.addBytesOut(ref, n: 100, now: t0 + 20_000)  // response bytes touch
        table.release(ref, now: t0 + 20_000)
        // Reads at any time do not touch.
        _ = table.read(key: ip("10.0.0.1"), .httpReqRate, now: t0 + 40_000)
        _ = table.lookup(key: ip("10.0.0.1"), now: t0 + 45_000)
        _ = table.show(now: t0 + 46_000)
        #expect(table.purgeExpired(now: t0 + 49_999) == 0)
        #expect(table.purgeExpired(now: t0 + 50_000) == 1)
    }

    @Test func inUseEntriesNeverExpireAndDieOnRelease() {
        let table = seedTable()
        let held = table.track(key: ip("10.0.0.1"), now: t0)!
        #expect(table.purgeExpired(now: t0 + 100_000) == 0)
        let s = table.snapshot(held, now: t0 + 100_000)
        #expect(s.use == 1 && s.exp == 0)
        #expect(table.count == 1)
        table.release(held, now: t0 + 100_000)  // expired while in use: deleted on release
        #expect(table.count == 0)
        // Released before expiry: kept.
        let again = table.track(key: ip("10.0.0.1"), now: t0 + 200_000)!
        table.release(again, now: t0 + 210_000)
        #expect(table.count == 1)
    }

    @Test func withoutExpireEntriesStayAndShowExpZero() {
        let table = StickTable(name: "t", config: StickTableConfig(keyType: .ip, size: 10, stores: [.httpReqCnt]))
        let r = table.track(key: ip("10.0.0.1"), now: t0)!
        table.release(r, now: t0 + 1_000_000_000)
        #expect(table.purgeExpired(now: t0 + 2_000_000_000) == 0)
        #expect(table.count == 1)
        #expect(table.lookup(key: ip("10.0.0.1"), now: t0)?.exp == 0)
    }

    @Test func purgeRemovesOnlyTheExpiredPrefixAndSkipsInUse() {
        let table = seedTable()
        let held = table.track(key: ip("10.0.0.1"), now: t0)!
        for i in 2...5 {
            let r = table.track(key: ip("10.0.0.\(i)"), now: t0 + Int64(i) * 1_000)!
            table.release(r, now: t0 + Int64(i) * 1_000)
        }
        #expect(table.purgeExpired(now: t0 + 33_000) == 2)  // .2 and .3; .1 is in use
        #expect(table.count == 3)
        table.release(held, now: t0 + 33_000)
        #expect(table.count == 2)
    }
}

@Suite struct EvictionTests {
    func smallTable(size: Int, nopurge: Bool = false, shards: Int? = nil) -> StickTable {
        StickTable(name: "small", config: StickTableConfig(keyType: .ip, size: size, expireMs: 60_000, nopurge: nopurge,
                                                           stores: [.httpReqCnt]), shardCount: shards)
    }

    func touch(_ t: StickTable, _ key: String, _ now: Int64) {
        guard let r = t.track(key: ip(key), now: now) else { return }
        t.release(r, now: now)
    }

    @Test func leastRecentlyTouchedIdleEntryIsEvictedFirst() {
        let t = smallTable(size: 4)
        #expect(t.shardCount == 1 && t.evictionBatch == 1)
        for (i, k) in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"].enumerated() { touch(t, k, t0 + Int64(i)) }
        touch(t, "10.0.0.1", t0 + 10)  // .1 becomes the most recent
        touch(t, "10.0.0.5", t0 + 11)  // full: evicts .2
        #expect(t.count == 4)
        #expect(t.lookup(key: ip("10.0.0.2"), now: t0) == nil)
        #expect(t.lruKeys(shard: 0) == ["10.0.0.3", "10.0.0.4", "10.0.0.1", "10.0.0.5"])
        // In-use entries are skipped: hold .3 (the oldest), insert .6 → .4 goes.
        let held = t.acquire(key: ip("10.0.0.3"), now: t0 + 12)!
        #expect(t.lruKeys(shard: 0) == ["10.0.0.4", "10.0.0.1", "10.0.0.5", "10.0.0.3"])
        _ = t.lruKeys(shard: 0)
        touch(t, "10.0.0.6", t0 + 13)
        #expect(t.lookup(key: ip("10.0.0.4"), now: t0) == nil)
        #expect(t.lookup(key: ip("10.0.0.3"), now: t0) != nil)
        t.release(held, now: t0 + 14)
    }

    @Test func nothingIdleMeansNotTracked() {
        let t = smallTable(size: 2)
        let a = t.track(key: ip("10.0.0.1"), now: t0)!
        let b = t.track(key: ip("10.0.0.2"), now: t0)!
        #expect(t.track(key: ip("10.0.0.3"), now: t0) == nil)
        t.release(a, now: t0 + 1)
        #expect(t.track(key: ip("10.0.0.3"), now: t0 + 2) != nil)  // next attempt succeeds
        #expect(t.lookup(key: ip("10.0.0.1"), now: t0) == nil)
        t.release(b, now: t0)
    }

    @Test func nopurgeRefusesNewEntries() {
        let t = smallTable(size: 2, nopurge: true)
        touch(t, "10.0.0.1", t0)
        touch(t, "10.0.0.2", t0)
        #expect(t.track(key: ip("10.0.0.3"), now: t0 + 1) == nil)
        #expect(t.count == 2)
        // Existing keys are still tracked.
        #expect(t.track(key: ip("10.0.0.1"), now: t0 + 2) != nil)
        #expect(t.set(key: "10.0.0.9", data: [], now: t0) == StickTableCLIError("Unable to allocate a new entry"))
    }

    @Test func sizeIsABoundAndBatchesFollowTheSpec() {
        let t = smallTable(size: 1024)
        #expect(t.evictionBatch == 5)  // floor(1024/256) + 1
        for i in 0..<1024 { touch(t, "10.0.\(i / 256).\(i % 256)", t0 + Int64(i)) }
        #expect(t.count == 1024)
        touch(t, "10.9.9.9", t0 + 2_000)
        #expect(t.count == 1020)  // 5 evicted, 1 created
        for i in 0..<5 { #expect(t.lookup(key: ip("10.0.0.\(i)"), now: t0) == nil) }
        #expect(t.lookup(key: ip("10.0.0.5"), now: t0) != nil)
        for i in 0..<5000 { touch(t, "10.1.\(i / 256).\(i % 256)", t0 + 3_000 + Int64(i)) }
        #expect(t.count <= 1024)
        #expect(t.count >= 1020)
        // A 2m table frees 8 193 entries per round over its stripes (64 × 129 = 8 256 ≈ 8 193).
        let big = seedTable()
        #expect(big.shardCount == 64 && big.evictionBatch == 129)
        #expect(StickTable(name: "x", config: StickTableConfig(keyType: .ip, size: 2_097_152), shardCount: 1).evictionBatch == 8_193)
    }

    /// Per-shard LRU: with 4 stripes of 4 entries, a full table evicts the oldest idle entry *of the
    /// stripe the new key hashes to*, even when another stripe holds an older entry.
    @Test func evictionIsLRUWithinTheHomeShard() {
        let t = smallTable(size: 16, shards: 4)
        #expect(t.shardCount == 4 && t.evictionBatch == 1)
        // Pick 4 keys per shard, plus one spare key for shard 2.
        var byShard: [[String]] = [[], [], [], []]
        var spare: String?
        var i = 0
        while byShard.contains(where: { $0.count < 4 }) || spare == nil {
            let k = "10.\(i / 65536).\((i / 256) % 256).\(i % 256)"
            let s = t.shardIndex(of: ip(k))!
            if byShard[s].count < 4 { byShard[s].append(k) } else if s == 2 && spare == nil { spare = k }
            i += 1
        }
        // Fill: shard 0 first (globally oldest), then 1, 2, 3.
        var now = t0
        for s in 0..<4 { for k in byShard[s] { touch(t, k, now); now += 1 } }
        #expect(t.count == 16)
        touch(t, spare!, now)
        #expect(t.count == 16)
        // Shard 2's oldest went; shard 0's (globally oldest) stayed.
        #expect(t.lookup(key: ip(byShard[2][0]), now: now) == nil)
        #expect(t.lookup(key: ip(byShard[0][0]), now: now) != nil)
        #expect(t.lruKeys(shard: 2) == Array(byShard[2].dropFirst()) + [spare!])
    }

    @Test func fullHomeShardInUseFallsBackToAnotherShard() {
        let t = smallTable(size: 8, shards: 2)
        var byShard: [[String]] = [[], []]
        var i = 0
        while byShard[0].count < 5 || byShard[1].count < 4 {
            let k = "10.0.\(i / 256).\(i % 256)"
            let s = t.shardIndex(of: ip(k))!
            byShard[s].append(k)
            i += 1
        }
        var held: [EntryRef] = []
        for k in byShard[0].prefix(4) { held.append(t.acquire(key: ip(k), now: t0)!) }
        for k in byShard[1].prefix(4) { touch(t, k, t0 + 1) }
        #expect(t.count == 8)
        // Shard 0 has nothing idle: the oldest idle entry of shard 1 is evicted instead.
        #expect(t.track(key: ip(byShard[0][4]), now: t0 + 2) != nil)
        #expect(t.lookup(key: ip(byShard[1][0]), now: t0) == nil)
        #expect(t.count == 8)
        for r in held { t.release(r, now: t0 + 3) }
    }
}
