import Foundation
import NIOCore
import NIOPosix

/// A bare TCP listener on a fixed loopback port that can be killed and revived, for layer-4
/// health checks (spec HC-5): it accepts and closes, nothing else.
final class PortListener: @unchecked Sendable {
    let port: Int
    private var channel: Channel?

    init(port: Int) {
        self.port = port
    }

    func start() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in ch.close() }
            .bind(host: "127.0.0.1", port: port).get()
    }

    func stop() async {
        try? await channel?.close()
        channel = nil
    }
}

/// Runs one admin-socket command line through socat (a real peer) and returns the output.
func adminCommand(_ socketPath: String, _ line: String) async throws -> String {
    let (code, out, err) = try await runProcess("/usr/bin/socat", ["-t", "5", "-", "UNIX-CONNECT:\(socketPath)"], timeout: 10,
                                                stdinFeeder: { h in try? h.write(contentsOf: Data((line + "\n").utf8)) })
    if code != 0 { throw HarnessError.message("socat failed (\(code)): \(err)") }
    return out
}
