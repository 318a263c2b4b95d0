import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `queue amqp` against a real RabbitMQ (Debian rabbitmq-server, started once for the suite on loopback):
/// 202 only after the broker's publisher confirm, manual acks after the final state is recorded, retries
/// through the back-off delay queue, kill -9 of Breakwater with jobs in flight, and a broker restart mid-load.
@Suite(.serialized) struct AMQPJobsTests {
    /// submit → done; a failing job goes `failed` with `next_attempt_at` (its back-off), is republished and
    /// ends dead after `retries + 1` attempts; the counters agree.
    @Test func submitRunsToDoneAndAFailingJobRetriesWithBackoffThenDead() async throws {
        let rabbit = try await RabbitMQServer.shared.value
        let bw = try await JobsProcess(name: "amqp-basic", extra: ["workers 2", "retries 1", "retry-backoff 2s max 4s"],
                                       amqpURL: rabbit.url)
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let ok = try await submitWhenConnected(bw, "hello")
        let failing = try await bw.submit("exit 4")
        // Between attempts: failed, with the time of the next attempt 1–2 s (the jittered back-off) ahead.
        let between = await waitUntil(timeout: 30) {
            (try? syncStatus(bw, failing))?["state"] as? String == "failed"
        }
        #expect(between, "job \(failing) never showed 'failed' between attempts")
        let failed = try await bw.status(failing)
        if failed["state"] as? String == "failed" {
            let at = try #require(failed["next_attempt_at"] as? String, "\(failed)")
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let next = try #require(f.date(from: at), "next_attempt_at '\(at)' is not ISO 8601")
            #expect(next.timeIntervalSinceNow <= 2.5 && next.timeIntervalSinceNow > -5, "next_attempt_at \(at)")
            #expect(failed["attempts"] as? Int == 1)
        }
        let final = try await bw.waitFinal([ok, failing], timeout: 60)
        #expect(final[ok]?["state"] as? String == "done")
        #expect(final[ok]?["stdout"] as? String == "ok:hello")
        #expect(final[failing]?["state"] as? String == "dead")
        #expect(final[failing]?["attempts"] as? Int == 2)
        #expect(final[failing]?["exit_code"] as? Int == 4)
        let executions = try String(contentsOfFile: bw.executionsPath, encoding: .utf8).split(separator: "\n")
        #expect(executions.filter { $0 == failing }.count == 2)
        #expect(executions.filter { $0 == ok }.count == 1)
        let m = try await bw.metrics()
        #expect(m.contains("breakwater_jobs_completed_total{section=\"amqp-basic\"} 1"), "\(m)")
        #expect(m.contains("breakwater_jobs_dead_total{section=\"amqp-basic\"} 1"))
        #expect(m.contains("breakwater_jobs_failed_total{section=\"amqp-basic\",reason=\"exit\"} 2"))
    }

    /// kill -9 of Breakwater with jobs in flight: the broker re-delivers what was not acknowledged, and after
    /// the restart every accepted job ends done exactly once in status and ran at least once.
    @Test func killNineWithJobsInFlightLosesNothing() async throws {
        let rabbit = try await RabbitMQServer.shared.value
        let bw = try await JobsProcess(name: "amqp-crash", extra: ["workers 2", "retries 0"], amqpURL: rabbit.url)
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        var ids = [try await submitWhenConnected(bw, "sleep 1")]
        for _ in 0..<5 { ids.append(try await bw.submit("sleep 1")) }
        let started = await waitUntil(timeout: 20) { executions(bw).count >= 1 }
        #expect(started)
        try await bw.crashAndRestart()
        let final = try await bw.waitFinal(ids, timeout: 90)
        for id in ids {
            #expect(final[id]?["state"] as? String == "done", "\(id): \(final[id] ?? [:])")
            #expect(final[id]?["attempts"] as? Int == 1)
        }
        let ran = executions(bw)
        for id in ids { #expect(ran.contains(id), "\(id) never ran") }
        #expect(ran.count >= ids.count)
    }

    /// The broker is killed (-9) and restarted while jobs are queued and running: POSTs in the outage get
    /// 503 with a JSON error (nothing claimed), Breakwater reconnects with back-off, and every job it had
    /// answered 202 ends done.
    @Test func brokerRestartMidLoadLosesNoAcceptedJob() async throws {
        let rabbit = try await RabbitMQServer.shared.value
        let bw = try await JobsProcess(name: "amqp-broker", extra: ["workers 2", "retries 0"], amqpURL: rabbit.url)
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        var accepted = [try await submitWhenConnected(bw, "sleep 0.5")]
        for i in 0..<7 { accepted.append(try await bw.submit(i % 2 == 0 ? "sleep 0.5" : "quick\(i)")) }
        _ = await waitUntil(timeout: 20) { executions(bw).count >= 1 }
        await rabbit.kill9()
        let during = try await bw.post("during-outage")
        #expect(during.status == 503, "POST while the broker is down answered \(during.status): \(during.bodyText)")
        #expect((try? json(during.body))?["error"] is String, "\(during.bodyText)")
        try await rabbit.start()
        accepted.append(try await submitWhenConnected(bw, "after-restart"))
        let final = try await bw.waitFinal(accepted, timeout: 120)
        for id in accepted { #expect(final[id]?["state"] as? String == "done", "\(id): \(final[id] ?? [:])") }
        let ran = Set(executions(bw))
        for id in accepted { #expect(ran.contains(id), "\(id) never ran") }
        #expect(!bw.proc.stderr.contains("Fatal error"), "\(bw.proc.stderr.suffix(2000))")
    }
}

/// The ids the job script recorded, one per execution.
private func executions(_ bw: JobsProcess) -> [String] {
    ((try? String(contentsOfFile: bw.executionsPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

/// Breakwater connects to the broker in the background after it starts listening: the first POSTs may get
/// 503 ("not connected") for a moment. Posts until one is accepted (at most 30 s) and returns its id.
private func submitWhenConnected(_ bw: JobsProcess, _ payload: String) async throws -> String {
    let deadline = nowMs() + 30_000
    var last = ""
    while nowMs() < deadline {
        let r = try await bw.post(payload)
        if r.status == 202, let id = (try? json(r.body))?["id"] as? String { return id }
        #expect(r.status == 503, "POST answered \(r.status): \(r.bodyText)")
        last = r.bodyText
        try await Task.sleep(nanoseconds: 200_000_000)
    }
    throw HarnessError.message("Breakwater never accepted a job on the broker within 30 s; last answer: \(last); stderr:\n\(bw.proc.stderr.suffix(3000))")
}

/// A status look-up usable from a synchronous polling condition.
private func syncStatus(_ bw: JobsProcess, _ id: String) throws -> [String: Any] {
    let out = Pipe()
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-sS", "--max-time", "5", "http://127.0.0.1:\(bw.port)/v1/jobs/\(id)"]
    p.standardOutput = out
    try p.run()
    p.waitUntilExit()
    return try json(out.fileHandleForReading.readDataToEndOfFile())
}
