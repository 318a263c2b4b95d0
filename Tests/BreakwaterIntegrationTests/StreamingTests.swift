import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite struct Streaming {
        static func upload(total: Int, hwmLimit: Int) async throws {
            let b = try await TestBackend.start("sink")
            let proxy = try await ProxyProcess { port in
                config(port: port, timeouts: """
                    timeout connect 2s
                    timeout client 60s
                    timeout server 60s
                """, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s", b))")
            }
            signal(SIGPIPE, SIG_IGN)
            let blocks = total / Payload.blockSize
            // curl -T - streams stdin as a chunked body; the feeder generates it on the fly.
            let r = try await curl(["-X", "POST", "-T", "-", "-H", "Content-Type: application/octet-stream",
                                    "http://127.0.0.1:\(proxy.port)/upload"],
                                   timeout: 600) { fh in
                for i in 0..<blocks {
                    do { try fh.write(contentsOf: Data(Payload.block(i))) } catch { return }
                }
            }
            #expect(r.exitCode == 0, "curl: \(r.stderr)")
            #expect(r.status == 200)
            let f = echoFields(r.bodyText)
            #expect(f["bytes"] == String(total), "backend received \(f["bytes"] ?? "?") bytes")
            #expect(f["hash"] == String(Payload.hash(total: total).hash), "backend received the exact bytes")
            let hwm = vmHWM(pid: proxy.pid) ?? -1
            #expect(hwm > 0 && hwm < hwmLimit, "proxy VmHWM \(hwm / 1_048_576) MiB")
            await proxy.stop()
            await b.stop()
        }

        @Test("POST 64 MiB chunked body streams to the backend intact, proxy memory stays bounded")
        func upload64MiB() async throws {
            try await Streaming.upload(total: 64 << 20, hwmLimit: 200 << 20)
        }

        @Test("POST 1 GiB streams through in bounded memory", .timeLimit(.minutes(10)))
        func upload1GiB() async throws {
            try await Streaming.upload(total: 1 << 30, hwmLimit: 200 << 20)
        }

        @Test("64 MiB response downloaded with curl arrives intact, proxy memory stays bounded")
        func download64MiB() async throws {
            let total = 64 << 20
            let b = try await TestBackend.start("source") { _ in .stream(total: total) }
            let proxy = try await ProxyProcess { port in
                config(port: port, timeouts: """
                    timeout connect 2s
                    timeout client 60s
                    timeout server 60s
                """, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s", b))")
            }
            let dir = try makeTempDir("download")
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("body")
            let r = try await curl(["http://127.0.0.1:\(proxy.port)/big"], timeout: 300, bodyFile: file)
            #expect(r.exitCode == 0, "curl: \(r.stderr)")
            #expect(r.status == 200)
            let fh = try FileHandle(forReadingFrom: file)
            var h = FNV1a()
            var n = 0
            while let d = try fh.read(upToCount: 1 << 20), !d.isEmpty {
                h.update(d)
                n += d.count
            }
            try fh.close()
            #expect(n == total)
            #expect(h == Payload.hash(total: total), "downloaded bytes match")
            let hwm = vmHWM(pid: proxy.pid) ?? -1
            #expect(hwm > 0 && hwm < 200 << 20, "proxy VmHWM \(hwm / 1_048_576) MiB")
            await proxy.stop()
            await b.stop()
        }
    }
}
