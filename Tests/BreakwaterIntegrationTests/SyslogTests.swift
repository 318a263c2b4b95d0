import Foundation
import NIOCore
import NIOPosix
import Testing

/// Traffic logs over UDP syslog and a UNIX datagram socket (spec GLB-1, LOG-1), received by real
/// datagram sockets in the test.
extension Integration {
    @Suite struct Syslog {
        final class Collector: ChannelInboundHandler, @unchecked Sendable {
            typealias InboundIn = AddressedEnvelope<ByteBuffer>
            let lines = Locked<[String]>([])
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                var env = unwrapInboundIn(data)
                let s = env.data.readString(length: env.data.readableBytes) ?? ""
                lines.withLock { $0.append(s) }
            }
        }

        @Test("UDP syslog (local format, facility local0) and a UNIX datagram target with rfc5424")
        func udpAndUnixTargets() async throws {
            let udp = Collector()
            let udpChannel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { $0.pipeline.addHandler(udp) }
                .bind(host: "127.0.0.1", port: 0).get()
            let dir = try makeTempDir("syslog")
            let path = dir.appendingPathComponent("log.sock").path
            // socat is the UNIX datagram receiver (like a syslog daemon on /dev/log).
            let socat = try ManagedProcess(executable: "/usr/bin/socat", arguments: ["-u", "UNIX-RECV:\(path)", "-"], dir: dir)
            #expect(await waitUntil(timeout: 5) { FileManager.default.fileExists(atPath: path) }, "socat did not bind \(path)")
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                """
                global
                    log 127.0.0.1:\(udpChannel.localAddress!.port!) local0
                    log \(path) format rfc5424 local1 info
                    log-tag edge

                \(Cfg.defaults())
                frontend fe
                    bind 127.0.0.1:\(port)
                    default_backend be

                backend be
                \(serverLine("s1", b))
                """
            }
            #expect(try await oneShot(proxy.port, requestText("GET", "/logged"))?.status == 200)
            let gotUDP = await waitUntil(timeout: 5) { udp.lines.current.contains { $0.contains("/logged") } }
            let gotUnix = await waitUntil(timeout: 5) { socat.stdout.contains("/logged") }
            #expect(gotUDP && gotUnix)
            if let line = udp.lines.current.first(where: { $0.contains("/logged") }) {
                // <PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE\n, local0.info = 134 (LOG-1)
                #expect(line.hasPrefix("<134>"), "\(line)")
                #expect(line.contains(" edge[\(proxy.pid)]: 127.0.0.1:"), "\(line)")
                #expect(line.hasSuffix("\"GET /logged HTTP/1.1\"\n"))
            }
            if let line = socat.stdout.split(separator: "\n").first(where: { $0.contains("/logged") }) {
                // local1.info = 142; rfc5424 header `<PRI>1 TIMESTAMP HOST TAG PID - - MSG`
                #expect(line.hasPrefix("<142>1 "), "\(line)")
                #expect(line.contains(" edge \(proxy.pid) - - 127.0.0.1:"), "\(line)")
            }
            await proxy.stop()
            await b.stop()
            try await udpChannel.close()
            await socat.stop()
        }
    }
}
