import BreakwaterConfigModel
import BreakwaterStickTables
import NIOCore

/// The process clock stick tables run on: monotonic milliseconds.
@inline(__always)
func stickNow() -> Int64 {
    Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
}

/// The three tracking slots (sc0, sc1, sc2) of a request or a connection (spec STK-5, STK-9).
/// Lives on the connection's event loop; the tables themselves are shared and thread-safe.
struct TrackedEntries {
    struct Slot {
        let table: StickTable
        let ref: EntryRef
        let key: StickKey
        /// This holder took the use count and must release it.
        let owned: Bool
    }

    private(set) var slots: [Slot?] = [nil, nil, nil]
    var isEmpty: Bool { slots.allSatisfy { $0 == nil } }

    /// Binds `slot` to the entry for `key`, counting the request (`http-request track-sc`).
    /// A slot already bound is left alone (no second increment).
    mutating func trackRequest(slot: Int, table: StickTable, key: StickKey, now: Int64) {
        guard slots.indices.contains(slot), slots[slot] == nil, let ref = table.track(key: key, now: now) else { return }
        slots[slot] = Slot(table: table, ref: ref, key: key, owned: true)
    }

    /// Binds `slot` at accept (`tcp-request connection track-sc`), counting the connection.
    mutating func trackConnection(slot: Int, table: StickTable, key: StickKey, now: Int64) {
        guard slots.indices.contains(slot), slots[slot] == nil, let ref = table.acquire(key: key, now: now) else { return }
        table.connOpened(ref, now: now)
        slots[slot] = Slot(table: table, ref: ref, key: key, owned: true)
    }

    /// A request inherits its connection's slots without owning them; each request on the
    /// connection counts in their `http_req_*` (HAProxy counts every tracked entry per request).
    mutating func inherit(_ connection: TrackedEntries, now: Int64) {
        for (i, s) in connection.slots.enumerated() where s != nil && slots[i] == nil {
            s!.table.countHTTPRequest(s!.ref, now: now)
            slots[i] = Slot(table: s!.table, ref: s!.ref, key: s!.key, owned: false)
        }
    }

    func read(slot: Int, data: StoreType.Kind, table: StickTable?, now: Int64) -> Int64? {
        guard slots.indices.contains(slot), let s = slots[slot] else { return nil }
        if let other = table, other !== s.table {
            return other.read(key: s.key, data, now: now)
        }
        return s.table.read(s.ref, data, now: now)
    }

    func addBytesOut(_ n: Int, now: Int64) {
        guard n > 0 else { return }
        for case let s? in slots { s.table.addBytesOut(s.ref, n: n, now: now) }
    }

    func addBytesIn(_ n: Int, now: Int64) {
        guard n > 0 else { return }
        for case let s? in slots { s.table.addBytesIn(s.ref, n: n, now: now) }
    }

    func countHTTPError(now: Int64 = stickNow()) {
        for case let s? in slots { s.table.addHTTPError(s.ref, now: now) }
    }

    @discardableResult
    func incrementGPC0(slot: Int, now: Int64 = stickNow()) -> Int64? {
        guard slots.indices.contains(slot), let s = slots[slot] else { return nil }
        return s.table.incGPC0(s.ref, now: now)
    }

    /// Releases the entries this holder owns (end of request, or connection close).
    mutating func releaseOwned(now: Int64, connection: Bool = false) {
        for (i, s) in slots.enumerated() {
            guard let s, s.owned else { continue }
            if connection { s.table.connClosed(s.ref, now: now) }
            s.table.release(s.ref, now: now)
            slots[i] = nil
        }
        slots = [nil, nil, nil]
    }
}
