import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 13 against the real binary: 202 intake, the durable queue, one memory cgroup per running job,
/// OOM/timeout/exit reasons, retries then dead, kill -9 with jobs in flight.
@Suite(.serialized) struct JobsIntegrationTests {
    /// The second write-up's image-pipeline leak: a job allocating until killed under memory-max 64M is
    /// OOM-killed in its own cgroup, reported oom, retried then dead, while the other jobs complete and
    /// Breakwater's own RSS stays where it was.
    @Test func leakingJobIsOOMKilledRetriedThenDeadOthersComplete() async throws {
        let bw = try await JobsProcess(name: "leak", extra: ["workers 2", "memory-max 64M", "retries 1", "timeout 60s", "retry-backoff 200ms"])
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let parent = try bw.parentCgroup
        #expect(FileManager.default.fileExists(atPath: parent),
                "job cgroup parent \(parent) was not created: this machine's cgroup is not writable or detection failed; stderr:\n\(bw.proc.stderr)")
        let rssBefore = try #require(bw.rss())
        let leak = try await bw.submit("leak")
        var others: [String] = []
        for i in 0..<6 { others.append(try await bw.submit("job\(i)")) }
        let final = try await bw.waitFinal([leak] + others)
        let l = try #require(final[leak])
        #expect(l["state"] as? String == "dead")
        #expect(l["reason"] as? String == "oom")
        #expect(l["attempts"] as? Int == 2)
        for (i, id) in others.enumerated() {
            #expect(final[id]?["state"] as? String == "done")
            #expect(final[id]?["exit_code"] as? Int == 0)
            #expect(final[id]?["stdout"] as? String == "ok:job\(i)")
        }
        let rssAfter = try #require(bw.rss())
        #expect(rssAfter < rssBefore + 32 << 20, "Breakwater RSS grew from \(rssBefore) to \(rssAfter)")
        let m = try await bw.metrics()
        #expect(m.contains("breakwater_jobs_failed_total{section=\"leak\",reason=\"oom\"} 2"), "\(m)")
        #expect(m.contains("breakwater_jobs_dead_total{section=\"leak\"} 1"))
        #expect(m.contains("breakwater_jobs_completed_total{section=\"leak\"} 6"))
        #expect(m.contains("breakwater_jobs_enqueued_total{section=\"leak\"} 7"))
        #expect(m.contains("breakwater_jobs_queue_depth{section=\"leak\"} 0"))
        #expect(m.contains("breakwater_jobs_running{section=\"leak\"} 0"))
        let leftover = try bw.jobCgroups()
        #expect(leftover.isEmpty, "job cgroups left: \(leftover)")
        await bw.proc.stop(grace: 10)
        #expect(!FileManager.default.fileExists(atPath: parent), "\(parent) left after stop")
    }

    @Test func timeoutKillsTheJob() async throws {
        let bw = try await JobsProcess(name: "timeout", extra: ["workers 1", "timeout 1s", "retries 0"])
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let id = try await bw.submit("sleep 30")
        let s = try #require(try await bw.waitFinal([id], timeout: 30)[id])
        #expect(s["state"] as? String == "dead")
        #expect(s["reason"] as? String == "timeout")
        #expect(s["attempts"] as? Int == 1)
        #expect(try bw.jobCgroups().isEmpty)
        #expect(try await bw.metrics().contains("reason=\"timeout\"} 1"))
    }

    /// A job inherits only stdin, stdout and stderr: never Breakwater's listeners or client connections
    /// (NIO's sockets are not close-on-exec), which would keep ports bound and connections open.
    @Test func jobInheritsOnlyStandardDescriptors() async throws {
        let bw = try await JobsProcess(name: "fds", extra: ["workers 1"])
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let id = try await bw.submit("fds")
        let s = try #require(try await bw.waitFinal([id], timeout: 30)[id])
        #expect(s["state"] as? String == "done")
        // What the job's process inherited: 0, 1, 2, plus the directory `ls` has open on /proc/self/fd.
        let fds = (s["stdout"] as? String ?? "").split(separator: " ").compactMap { Int($0) }
        #expect(!fds.isEmpty && fds.filter { $0 > 2 }.count <= 1, "open in the job: \(fds)")
    }

    @Test func exitCodesRetriesAndStdoutCut() async throws {
        let bw = try await JobsProcess(name: "exit", extra: ["workers 2", "retries 2", "max-stdout 16", "retry-backoff 200ms"])
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let failing = try await bw.submit("exit 3")
        let big = try await bw.submit("big")
        let final = try await bw.waitFinal([failing, big])
        #expect(final[failing]?["state"] as? String == "dead")
        #expect(final[failing]?["reason"] as? String == "exit")
        #expect(final[failing]?["exit_code"] as? Int == 3)
        #expect(final[failing]?["attempts"] as? Int == 3)
        #expect(final[big]?["state"] as? String == "done")
        #expect(final[big]?["stdout"] as? String == String(repeating: "x", count: 16))
        let executions = try String(contentsOfFile: bw.executionsPath, encoding: .utf8).split(separator: "\n")
        #expect(executions.filter { $0 == failing }.count == 3)
    }

    @Test func malformedRequestsGetJSONErrors() async throws {
        let bw = try await JobsProcess(name: "errors", extra: ["max-payload 1k"])
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let tooBig = try await bw.post(String(repeating: "a", count: 2048))
        #expect(tooBig.status == 413)
        #expect((try? json(tooBig.body))?["error"] is String, "\(tooBig.bodyText)")
        let unknown = try await curl(["http://127.0.0.1:\(bw.port)/v1/jobs/00000000-0000-0000-0000-000000000000"])
        #expect(unknown.status == 404)
        #expect((try? json(unknown.body))?["error"] is String, "\(unknown.bodyText)")
        let malformed = try await curl(["http://127.0.0.1:\(bw.port)/v1/jobs/NOT%20AN%20ID"])
        #expect(malformed.status == 400)
        #expect((try? json(malformed.body))?["error"] is String)
        let noRoute = try await curl(["http://127.0.0.1:\(bw.port)/v2/nothing"])
        #expect(noRoute.status == 404)
        #expect((try? json(noRoute.body))?["error"] is String, "\(noRoute.bodyText)")
        let accepted = try await bw.post("hello")
        #expect(accepted.status == 202)
        let id = try #require((try json(accepted.body))["id"] as? String)
        #expect(accepted.header("Location") == "/v1/jobs/\(id)")
        #expect((try json(accepted.body))["status"] as? String == "/v1/jobs/\(id)")
    }

    /// kill -9 with jobs in flight: after a restart every job ends done exactly once in status, and ran at
    /// least once (each execution appended its id to a file).
    @Test func killNineWithJobsInFlightLosesNothing() async throws {
        let bw = try await JobsProcess(name: "crash", extra: ["workers 2", "retries 0"])
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        var ids: [String] = []
        for _ in 0..<6 { ids.append(try await bw.submit("sleep 1")) }
        let started = await waitUntil(timeout: 20) {
            ((try? String(contentsOfFile: bw.executionsPath, encoding: .utf8)) ?? "").split(separator: "\n").count >= 1
        }
        #expect(started)
        try await bw.crashAndRestart()
        let final = try await bw.waitFinal(ids)
        for id in ids {
            #expect(final[id]?["state"] as? String == "done", "\(id): \(final[id] ?? [:])")
            #expect(final[id]?["attempts"] as? Int == 1)
        }
        let executions = try String(contentsOfFile: bw.executionsPath, encoding: .utf8).split(separator: "\n").map(String.init)
        for id in ids { #expect(executions.contains(id), "\(id) never ran") }
        let leftover = try bw.jobCgroups()
        #expect(leftover.isEmpty, "job cgroups left: \(leftover)")
    }
}
