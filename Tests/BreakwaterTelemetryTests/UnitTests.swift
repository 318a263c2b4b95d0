import Foundation
import GRDB
import Testing

@testable import BreakwaterTelemetry

/// In-process checks of the pieces: timestamps, the log's framing and recovery, the fold, the sink's statements.
@Suite struct TelemetryUnitTests {
    @Test func timestamps() {
        #expect(Timestamp.parse("2026-11-21T10:00:00.123Z") == 1_795_255_200_123)
        #expect(Timestamp.parse("2026-11-21T12:00:00.123+02:00") == 1_795_255_200_123)
        #expect(Timestamp.parse("2026-11-21T10:00:00.123456789Z") == 1_795_255_200_123)
        #expect(Timestamp.parse("2026-11-21T10:00:00Z") == 1_795_255_200_000)
        for bad in ["2026-11-21", "2026-02-30T00:00:00Z", "2026-11-21T10:00:00", "2026-11-21T25:00:00Z", "2026-11-21T10:00:00.Z", "x"] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
        #expect(Timestamp.format(1_795_255_200_123) == "2026-11-21T10:00:00.123Z")
    }

    @Test func codecRoundTrip() {
        let h = Heartbeat(machineID: "press-17", tsMillis: 42, fields: [("on", .bool(true)), ("rpm", .number(1200.5))])
        var bytes: [UInt8] = []
        HeartbeatCodec.encode(h, into: &bytes)
        #expect(HeartbeatCodec.decode(bytes[...]) == h)
        #expect(HeartbeatCodec.decode(bytes.dropLast()) == nil)
    }

    /// A torn tail (a crash before fsync) is cut at the last whole frame; committed segments are deleted.
    @Test func logRecoversTornTailAndDeletesCommittedSegments() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-tel-unit-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func frames(_ n: Int, from: Int) -> [UInt8] {
            var out: [UInt8] = []
            for i in from..<(from + n) {
                var p: [UInt8] = []
                HeartbeatCodec.encode(Heartbeat(machineID: "m\(i)", tsMillis: Int64(i), fields: [("x", .number(Double(i)))]), into: &p)
                SegmentLog.appendFrame(p, into: &out)
            }
            return out
        }
        do {
            let log = try SegmentLog(directory: dir, segmentTargetBytes: 60)
            try log.appendDurably(frames(3, from: 0), records: 3)  // 99 bytes: rolls (and again after the next append)
            try log.appendDurably(frames(2, from: 3), records: 2)
            #expect(log.endOffset == 5)
        }
        // Simulate a torn write at the end of the last segment.
        let last = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".log") }.sorted().last!
        let h = FileHandle(forWritingAtPath: dir + "/" + last)!
        h.seekToEndOfFile()
        h.write(Data(frames(1, from: 5).dropLast(3)))
        h.closeFile()
        let log = try SegmentLog(directory: dir, segmentTargetBytes: 60)
        #expect(log.endOffset == 5)
        let (records, cursor) = try log.read(from: .init(offset: 0), maxBytes: 1 << 20)
        #expect(records.map(\.machineID) == ["m0", "m1", "m2"])
        let (rest, end) = try log.read(from: cursor, maxBytes: 1 << 20)
        #expect(rest.map(\.machineID) == ["m3", "m4"])
        #expect(end.offset == 5)
        try log.commit(3)
        #expect(try SegmentLog.readCommitted(dir) == 3)
        let segs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".log") }
        #expect(!segs.contains("00000000000000000000.log"))
    }

    @Test func foldKeepsNewestPerFieldInAnyOrder() {
        let a = Heartbeat(machineID: "m", tsMillis: 2, fields: [("rpm", .number(2))])
        let b = Heartbeat(machineID: "m", tsMillis: 1, fields: [("rpm", .number(1)), ("temp", .number(9))])
        var f1 = WindowFold(), f2 = WindowFold()
        f1.add(a); f1.add(b)
        f2.add(b); f2.add(a)
        #expect(f1.sortedRows == f2.sortedRows)
        #expect(f1.rows["m"]?.tsMillis == 2)
        #expect(f1.rows["m"]?.samples == 2)
        #expect(f1.rows["m"]?.fields["rpm"]?.1 == .number(2))
        #expect(f1.rows["m"]?.fields["temp"]?.1 == .number(9))
    }

    /// One window = one transaction of ceil(rows/N) INSERT statements; an older replay changes nothing; a new field
    /// adds a column.
    @Test func sqliteSinkStatementsAndNewerWins() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bw-tel-\(UUID().uuidString.prefix(8)).db").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = SQLiteSink(path: path, table: "hb", key: "machine_id", maxRowsPerStatement: 2)
        var inserts = 0
        sink.onStatement = { if $0.hasPrefix("INSERT") { inserts += 1 } }
        var fold = WindowFold()
        for i in 0..<5 { fold.add(Heartbeat(machineID: "m\(i)", tsMillis: 10, fields: [("rpm", .number(Double(i)))])) }
        #expect(try sink.write(fold) == 3)
        #expect(inserts == 3)
        var older = WindowFold()
        older.add(Heartbeat(machineID: "m0", tsMillis: 5, fields: [("rpm", .number(99)), ("temp", .number(1))]))
        #expect(try sink.write(older) == 1)
        let q = try DatabaseQueue(path: path)
        let (rpm, temp, count): (Double?, Double?, Int) = try q.read { db in
            let r = try Row.fetchOne(db, sql: "SELECT rpm, temp FROM hb WHERE machine_id = 'm0'")!
            return (r["rpm"], r["temp"], try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM hb")!)
        }
        #expect(rpm == 0)
        #expect(temp == nil)
        #expect(count == 5)
    }
}
