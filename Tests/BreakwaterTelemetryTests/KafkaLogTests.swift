import BreakwaterKafka
import Foundation
import Testing

/// `log kafka`: Debian has no Kafka broker, so these run against librdkafka's mock cluster (3 brokers speaking the
/// real protocol on loopback ports), created in this test process; Breakwater connects to it as to any cluster.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TelemetryKafkaLogTests {
    static func cluster() throws -> KafkaMockCluster {
        let c = try KafkaMockCluster(brokers: 3)
        try c.createTopic("heartbeats", partitions: 3, replicas: 3)
        return c
    }

    /// Ingest (202 after acks=all delivery reports) → the coalescer, a group member, upserts and commits.
    @Test func ingestThroughKafkaReachesTable() async throws {
        let cluster = try Self.cluster()
        let t = try TelemetryProcess(window: "300ms", log: "kafka brokers \(cluster.bootstrapServers) topic heartbeats group coalescer")
        try await t.start()
        do {
            for i in 0..<4 {
                let batch = (0..<5).map { m in heartbeat("q\(m)", ts: "2026-11-21T10:0\(i):00Z", "\"rpm\":\(i * 10 + m)") }
                let r = try await t.post("[" + batch.joined(separator: ",") + "]")
                #expect(r.status == 202, "\(r.body)")
            }
            try await t.waitCommitted(20, timeout: 60)
            let rows = try readTable(t.dbPath)
            #expect(rows.count == 5)
            for m in 0..<5 { #expect(rows["q\(m)"]?.rpm == Double(30 + m)) }
        } catch {
            Issue.record(error)
        }
        await t.stop()
        _ = cluster
    }

    /// kill -9 with a window open (nothing committed to the group), restart: the new member reads from the
    /// group's committed offsets, and every 202'd record's effect is in the table once.
    @Test func killNineMidWindowLosesNothing() async throws {
        let cluster = try Self.cluster()
        let t = try TelemetryProcess(window: "10s", log: "kafka brokers \(cluster.bootstrapServers) topic heartbeats group coalescer")
        try await t.start()
        let (accepted, newest) = try await t.postNumberedBatches(rounds: 20)
        #expect(try await t.metric("windows_total") == 0)
        await t.kill9()
        try await t.restartWithShortWindow()
        do {
            try await t.waitCommitted(accepted, timeout: 90)
            let rows = try readTable(t.dbPath)
            #expect(rows.count == newest.count)
            for (k, v) in newest { #expect(rows[k]?.rpm == v.rpm, "\(k)") }
        } catch {
            Issue.record(error)
        }
        await t.stop()
        _ = cluster
    }
}
