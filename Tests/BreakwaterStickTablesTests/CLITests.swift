import BreakwaterConfigModel
import Testing
@testable import BreakwaterStickTables

@Suite struct ShowTableTests {
    /// Strips the opaque id, checking it is a `0x…:` token.
    func body(_ line: String) -> String {
        let parts = line.split(separator: " ", maxSplits: 1)
        #expect(parts[0].hasPrefix("0x") && parts[0].hasSuffix(":"))
        #expect(parts[0].dropFirst(2).dropLast().allSatisfy { $0.isHexDigit })
        return String(parts[1])
    }

    func trackN(_ t: StickTable, _ key: String, _ n: Int, now: Int64, bytes: Int = 0) {
        for _ in 0..<n {
            let r = t.track(key: ip(key), now: now)!
            if bytes > 0 { t.addBytesOut(r, n: bytes, now: now) }
            t.release(r, now: now)
        }
    }

    @Test func headerAndEntryFormat() {
        let t = seedTable()
        #expect(t.showTableHeader() == "# table: st_req_rate, type: ip, size:2097152, used:0")
        trackN(t, "127.0.0.1", 7, now: t0)
        let r = t.track(key: ip("127.0.0.1"), now: t0)!
        t.addBytesOut(r, n: 1259, now: t0)
        t.release(r, now: t0)
        let out = t.show(now: t0 + 7)
        #expect(out.count == 2)
        #expect(out[0] == "# table: st_req_rate, type: ip, size:2097152, used:1")
        #expect(body(out[1]) == "key=127.0.0.1 use=0 exp=29993 http_req_rate(10000)=8 bytes_out_rate(10000)=1259")
        // Rates are read at dump time.
        #expect(body(t.show(now: t0 + 15_000)[1])
            == "key=127.0.0.1 use=0 exp=15000 http_req_rate(10000)=4 bytes_out_rate(10000)=629")
        // In-use entries show their use count.
        let held = t.acquire(key: ip("127.0.0.1"), now: t0 + 16_000)!
        #expect(body(t.showEntries(now: t0 + 16_000)[0]).hasPrefix("key=127.0.0.1 use=1 exp=30000 "))
        t.release(held, now: t0 + 16_000)
        #expect(t.show(now: t0, dumpEntries: false)
            == ["# table: st_req_rate, type: ip, size:2097152, used:1", "# contents not dumped due to insufficient privileges"])
    }

    @Test func dataIsPrintedInTheFixedOrder() {
        let t = StickTable(name: "be", config: StickTableConfig(
            keyType: .string(len: 32), size: 100, expireMs: 10_000,
            stores: [.bytesOutCnt, .httpReqRate(periodMs: 1_000), .gpc0, .connCur, .httpErrCnt, .bytesInRate(periodMs: 2_000)]))
        let r = t.track(key: .string("alice"), now: t0)!
        t.release(r, now: t0)
        #expect(body(t.showEntries(now: t0)[0])
            == "key=alice use=0 exp=10000 gpc0=0 conn_cur=0 http_req_rate(1000)=1 http_err_cnt=0 bytes_in_rate(2000)=0 bytes_out_cnt=0")
        #expect(t.showTableHeader() == "# table: be, type: string, size:100, used:1")
    }

    @Test func entriesAreSortedByKeyBytes() {
        let t = seedTable(shardCount: 8)
        for k in ["10.0.0.10", "10.0.0.2", "9.255.0.1", "192.168.0.1", "10.0.0.1"] { trackN(t, k, 1, now: t0) }
        let keys = t.showEntries(now: t0).map { body($0).split(separator: " ")[0] }
        #expect(keys == ["key=9.255.0.1", "key=10.0.0.1", "key=10.0.0.2", "key=10.0.0.10", "key=192.168.0.1"])
    }

    @Test func dataFilters() throws {
        let t = seedTable()
        trackN(t, "10.0.0.1", 3, now: t0, bytes: 100)
        trackN(t, "10.0.0.2", 60, now: t0, bytes: 10)
        trackN(t, "10.0.0.3", 51, now: t0, bytes: 1_000)
        func keys(_ args: [String]) throws -> [String] {
            let f = try t.parseFilter(args).get()
            return t.showEntries(filter: f, now: t0 + 1).map { String(body($0).split(separator: " ")[0].dropFirst(4)) }
        }
        #expect(try keys(["data.http_req_rate", "gt", "50"]) == ["10.0.0.2", "10.0.0.3"])
        #expect(try keys(["data.http_req_rate", "ge", "60"]) == ["10.0.0.2"])
        #expect(try keys(["data.http_req_rate", "lt", "51"]) == ["10.0.0.1"])
        #expect(try keys(["data.http_req_rate", "le", "51"]) == ["10.0.0.1", "10.0.0.3"])
        #expect(try keys(["data.http_req_rate", "eq", "51"]) == ["10.0.0.3"])
        #expect(try keys(["data.http_req_rate", "ne", "51"]) == ["10.0.0.1", "10.0.0.2"])
        // Several filters all apply.
        #expect(try keys(["data.http_req_rate", "gt", "50", "data.bytes_out_rate", "gt", "1000"]) == ["10.0.0.3"])
        #expect(try keys(["data.http_req_rate", "gt", "1", "data.http_req_rate", "lt", "100",
                          "data.bytes_out_rate", "ge", "0", "data.bytes_out_rate", "le", "600"]) == ["10.0.0.1", "10.0.0.2"])
        // The header is printed with data filters even when nothing matches.
        #expect(t.show(filter: try t.parseFilter(["data.http_req_rate", "gt", "1000"]).get(), now: t0)
            == ["# table: st_req_rate, type: ip, size:2097152, used:3"])
    }

    @Test func filterErrors() {
        let t = seedTable()
        func err(_ args: [String], _ action: StickTableCLIAction = .show) -> String? {
            if case .failure(let e) = t.parseFilter(args, for: action) { return e.message }
            return nil
        }
        #expect(err(["data.http_req_cnt", "gt", "1"]) == "Filter entry #1: Data type not stored in this table")
        #expect(err(["data.http_req_rate", "gt", "1", "data.gpc0", "eq", "0"])
            == "Filter entry #2: Data type not stored in this table")
        #expect(err(["data.foo", "gt", "1"]) == "Filter entry #1: Unknown data type")
        #expect(err(["data.http_req_rate", "bigger", "1"])
            == "Filter entry #1: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"")
        #expect(err(["data.http_req_rate", "gt", "x"]) == "Filter entry #1: Require a valid integer value to compare against")
        #expect(err(["data.http_req_rate", "gt"]) == "Filter entry #1: Require a valid integer value to compare against")
        #expect(err(["key"]) == "Key value expected")
        #expect(err(["foo"]) == "Optional argument only supports \"data.<store_data_type>\" and key <key>")
        #expect(err(["foo"], .clear)
            == "Required arguments: <table> \"data.<store_data_type>\" <op> <value> or <table> key <key>")
        #expect(err([]) == nil)
        #expect(try! t.parseFilter([]).get() == .all)
        #expect(try! t.parseFilter(["key", "1.2.3.4"]).get() == .key("1.2.3.4"))
    }

    @Test func keyFilter() {
        let t = seedTable()
        trackN(t, "10.0.0.1", 2, now: t0)
        trackN(t, "10.0.0.2", 1, now: t0)
        let out = t.show(filter: .key("10.0.0.2"), now: t0)
        #expect(out.count == 2 && out[0].hasPrefix("# table: st_req_rate"))
        #expect(body(out[1]).hasPrefix("key=10.0.0.2 use=0 exp=30000 http_req_rate(10000)=1 "))
        // Absent or unparsable key: no output at all (HAProxy prints no header either), no error.
        #expect(t.show(filter: .key("10.0.0.3"), now: t0) == [])
        #expect(t.show(filter: .key("not-an-ip"), now: t0) == [])
        #expect(t.clear(filter: .key("not-an-ip"), now: t0) == nil)
    }
}

@Suite struct ClearAndSetTests {
    @Test func clearSkipsInUseEntries() {
        let t = seedTable()
        for i in 1...4 { let r = t.track(key: ip("10.0.0.\(i)"), now: t0)!; t.release(r, now: t0) }
        let held = t.track(key: ip("10.0.0.2"), now: t0)!
        #expect(t.clear(now: t0) == nil)
        #expect(t.count == 1)
        #expect(t.lookup(key: ip("10.0.0.2"), now: t0) != nil)
        #expect(t.clear(filter: .key("10.0.0.2"), now: t0) == StickTableCLIError("Entry currently in use, cannot remove"))
        #expect(t.count == 1)
        t.release(held, now: t0)
        #expect(t.clear(filter: .key("10.0.0.2"), now: t0) == nil)
        #expect(t.count == 0)
        #expect(t.clear(filter: .key("10.0.0.2"), now: t0) == nil)  // absent: no output
    }

    @Test func clearWithDataFilterRemovesMatchingIdleEntries() throws {
        let t = seedTable()
        for (k, n) in [("10.0.0.1", 3), ("10.0.0.2", 60), ("10.0.0.3", 70)] {
            for _ in 0..<n { let r = t.track(key: ip(k), now: t0)!; t.release(r, now: t0) }
        }
        let held = t.acquire(key: ip("10.0.0.3"), now: t0)!
        #expect(t.clear(filter: try t.parseFilter(["data.http_req_rate", "gt", "50"], for: .clear).get(), now: t0) == nil)
        #expect(t.lookup(key: ip("10.0.0.2"), now: t0) == nil)
        #expect(t.lookup(key: ip("10.0.0.1"), now: t0) != nil)
        #expect(t.lookup(key: ip("10.0.0.3"), now: t0) != nil)  // in use
        t.release(held, now: t0)
    }

    @Test func setCreatesStoresAndTouches() {
        let t = seedTable()
        #expect(t.set(arguments: ["key", "10.0.0.9", "data.http_req_rate", "20", "data.bytes_out_rate", "1000"], now: t0) == nil)
        let s = t.lookup(key: ip("10.0.0.9"), now: t0 + 5_000)!
        #expect(s.value(.httpReqRate) == 20 && s.value(.bytesOutRate) == 1000 && s.exp == 25_000)
        // Rates then fade like any counter: curr = 20 from now, prev = 0.
        #expect(t.read(key: ip("10.0.0.9"), .httpReqRate, now: t0 + 15_000) == 10)
        // Tracking continues from the set value.
        let r = t.track(key: ip("10.0.0.9"), now: t0 + 1_000)!
        #expect(t.read(r, .httpReqRate, now: t0 + 1_000) == 21)
        t.release(r, now: t0 + 1_000)
        #expect(t.set(arguments: ["key", "10.0.0.9"], now: t0 + 2_000) == nil)  // touch only
        #expect(t.lookup(key: ip("10.0.0.9"), now: t0 + 2_000)?.exp == 30_000)

        #expect(t.set(arguments: ["key", "10.0.0.9", "data.gpc0", "1"], now: t0)?.message == "Data type not stored in this table")
        #expect(t.set(arguments: ["key", "10.0.0.9", "data.nope", "1"], now: t0)?.message == "Unknown data type")
        #expect(t.set(arguments: ["key", "10.0.0.9", "data.http_req_rate"], now: t0)?.message
            == "Require a valid integer value to store")
        #expect(t.set(arguments: ["key", "10.0.0.9", "http_req_rate", "1"], now: t0)?.message
            == "\"data.<type>\" followed by a value expected")
        #expect(t.set(arguments: ["key"], now: t0)?.message == "Key value expected")
        #expect(t.set(arguments: ["10.0.0.9"], now: t0)?.message
            == "Required arguments: <table> key <key> [data.<store_data_type> <value>]*")
        #expect(t.set(arguments: ["key", "bogus"], now: t0)?.message == "Invalid key")
        #expect(t.count == 1)
    }

    @Test func setCountersOfEachWidth() {
        let t = StickTable(name: "c", config: StickTableConfig(keyType: .integer, size: 10,
                                                               stores: [.gpc0, .bytesOutCnt, .connCur]))
        #expect(t.set(arguments: ["key", "7", "data.gpc0", "5", "data.bytes_out_cnt", "6000000000", "data.conn_cur", "2"],
                      now: t0) == nil)
        #expect(t.show(now: t0).last!.hasSuffix(" key=7 use=0 exp=0 gpc0=5 conn_cur=2 bytes_out_cnt=6000000000"))
    }
}
