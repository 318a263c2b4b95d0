import Foundation
import Testing

@testable import BreakwaterJobs

/// A reused worker (docs/jobs.md protocol): reads `BREAKWATER-JOB <id> <attempt> <length>` frames, logs
/// "<pid> <job id> <memory cgroup>" per job, answers `BREAKWATER-RESULT <code> <length>` frames.
let frameWorker = #"""
import os, sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
def cgroup():
    for line in open("/proc/self/cgroup"):
        parts = line.strip().split(":", 2)
        if "memory" in parts[1].split(",") or parts[0] == "0":
            return parts[2]
    return "?"
while True:
    line = inp.readline()
    if not line:
        break
    _, job, attempt, n = line.split()
    payload = inp.read(int(n)).decode()
    with open("EXECUTIONS", "a") as log:
        log.write("%d %s %s\n" % (os.getpid(), job.decode(), cgroup()))
    if payload == "hang":
        import time
        time.sleep(3600)
    if payload == "garble":
        out.write(b"not a result line\n")
        out.flush()
        continue
    if payload == "leak":
        a = []
        while True:
            a.append(bytearray(1 << 20))
    code, body = (int(payload[5:]), b"failing") if payload.startswith("exit ") else (0, ("ok:" + payload).encode())
    out.write(b"BREAKWATER-RESULT %d %d\n" % (code, len(body)) + body)
    out.flush()
"""#

/// `max-jobs-per-worker`: one long-lived worker serves up to N jobs then is replaced, each worker in its own
/// memory cgroup; a leak OOM-kills only its worker, which is replaced.
@Suite(.serialized) struct ReusedWorkerTests {
    @Test func aWorkerServesNJobsThenIsReplacedEachInItsOwnCgroup() async throws {
        let bw = try await JobsProcess(name: "reuse", extra: ["workers 1", "max-jobs-per-worker 3", "retries 0"],
                                       python: frameWorker)
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        var ids: [String] = []
        for i in 0..<7 { ids.append(try await bw.submit(i == 4 ? "exit 5" : "job\(i)")) }
        let final = try await bw.waitFinal(ids, timeout: 60)
        for (i, id) in ids.enumerated() where i != 4 {
            #expect(final[id]?["state"] as? String == "done", "\(final[id] ?? [:])")
            #expect(final[id]?["stdout"] as? String == "ok:job\(i)")
        }
        #expect(final[ids[4]]?["state"] as? String == "dead")
        #expect(final[ids[4]]?["exit_code"] as? Int == 5)
        #expect(final[ids[4]]?["reason"] as? String == "exit")
        let log = try String(contentsOfFile: bw.executionsPath, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: " ").map(String.init) }
        #expect(log.map { $0[1] } == ids, "jobs ran out of order or more than once: \(log)")
        let pids = log.map { $0[0] }
        #expect(Array(pids[0..<3]).allSatisfy { $0 == pids[0] } && Array(pids[3..<6]).allSatisfy { $0 == pids[3] },
                "workers did not serve 3 jobs each: \(pids)")
        #expect(Set([pids[0], pids[3], pids[6]]).count == 3, "no fresh worker after 3 jobs: \(pids)")
        // Each worker ran in a cgroup of its own beneath the section's parent.
        let cgroupOf = Dictionary(log.map { ($0[0], $0[2]) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(cgroupOf.values).count == 3, "\(cgroupOf)")
        for cg in cgroupOf.values { #expect(cg.contains("/breakwater-jobs-reuse-\(bw.port)/job-") && cg.contains("-worker-"), "\(cg)") }
        _ = await waitUntil(timeout: 5) { ((try? bw.jobCgroups()) ?? ["?"]).count <= 1 }
        let left = try bw.jobCgroups()
        #expect(left.count <= 1, "retired workers' cgroups left: \(left)")
    }

    @Test func aLeakKillsOnlyItsWorkerWhichIsReplaced() async throws {
        let bw = try await JobsProcess(name: "reuseleak", extra: ["workers 1", "max-jobs-per-worker 10", "retries 0", "memory-max 64M"],
                                       python: frameWorker)
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let before = try await bw.submit("before")
        let leak = try await bw.submit("leak")
        let after = try await bw.submit("after")
        let final = try await bw.waitFinal([before, leak, after], timeout: 60)
        #expect(final[before]?["state"] as? String == "done")
        #expect(final[leak]?["state"] as? String == "dead")
        #expect(final[leak]?["reason"] as? String == "oom", "\(final[leak] ?? [:])")
        #expect(final[after]?["state"] as? String == "done")
        let log = try String(contentsOfFile: bw.executionsPath, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: " ").map(String.init) }
        let pid = Dictionary(log.map { ($0[1], $0[0]) }, uniquingKeysWith: { a, _ in a })
        #expect(pid[before] == pid[leak], "the leak did not run in the reused worker: \(log)")
        #expect(pid[after] != pid[leak], "the OOM-killed worker was not replaced: \(log)")
    }
}

extension ReusedWorkerTests {
    /// A worker that hangs past `timeout` is killed (reason timeout); one that breaks the framing is killed
    /// (reason exit, with a message saying so); both are replaced and the next job completes.
    @Test func hangingAndGarblingWorkersAreKilledAndReplaced() async throws {
        let bw = try await JobsProcess(name: "reusebad", extra: ["workers 1", "max-jobs-per-worker 10", "retries 0", "timeout 1s"],
                                       python: frameWorker)
        defer { Task { await bw.stop() } }
        try await bw.waitReady()
        let hang = try await bw.submit("hang")
        let garble = try await bw.submit("garble")
        let after = try await bw.submit("after")
        let final = try await bw.waitFinal([hang, garble, after], timeout: 60)
        #expect(final[hang]?["state"] as? String == "dead")
        #expect(final[hang]?["reason"] as? String == "timeout", "\(final[hang] ?? [:])")
        #expect(final[garble]?["state"] as? String == "dead")
        #expect(final[garble]?["reason"] as? String == "exit")
        #expect((final[garble]?["stdout"] as? String ?? "").contains("broke the result framing"), "\(final[garble] ?? [:])")
        #expect(final[after]?["state"] as? String == "done")
        #expect(final[after]?["stdout"] as? String == "ok:after")
        let pids = try String(contentsOfFile: bw.executionsPath, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ")[0] }
        #expect(Set(pids).count == 3, "each bad worker should have been replaced: \(pids)")
    }
}

/// The result frame parser over every split of its input (as NIO's ByteToMessageDecoderVerifier does).
@Suite struct FramedExchangeTests {
    @Test func everySplitGivesTheSameResult() {
        let frame = Array("BREAKWATER-RESULT 3 11\nhello world".utf8)
        for cut in 0...frame.count {
            var x = FramedExchange(maxOutput: 5)
            var result = x.feed(frame[0..<cut])
            if result == nil { result = x.feed(frame[cut...]) }
            #expect(result == .result(code: 3, output: Array("hello".utf8)), "split at \(cut)")
            #expect(!x.extraBytes)
        }
        for size in 1...4 {
            var x = FramedExchange(maxOutput: 64)
            var result: FramedExchange.Result?
            var i = 0
            while result == nil && i < frame.count {
                result = x.feed(frame[i..<min(i + size, frame.count)])
                i += size
            }
            #expect(result == .result(code: 3, output: Array("hello world".utf8)), "chunks of \(size)")
        }
    }

    @Test func malformedFramesAreNamed() {
        var a = FramedExchange(maxOutput: 10)
        guard case .malformed(let why)? = a.feed(Array("hello\n".utf8)[...]) else { Issue.record("accepted"); return }
        #expect(why.contains("BREAKWATER-RESULT"))
        var b = FramedExchange(maxOutput: 10)
        guard case .malformed? = b.feed(Array(repeating: UInt8(ascii: "x"), count: 300)[...]) else { Issue.record("accepted"); return }
        var c = FramedExchange(maxOutput: 10)
        #expect(c.feed(Array("BREAKWATER-RESULT 0 2\nokEXTRA".utf8)[...]) == .result(code: 0, output: Array("ok".utf8)))
        #expect(c.extraBytes)
    }
}
