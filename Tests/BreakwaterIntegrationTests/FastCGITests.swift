import BreakwaterConfigModel
import BreakwaterFastCGI
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A response read by `FastCGIClientHandler` from a real php-fpm.
struct FCGIResponse: Sendable {
    var head: HTTPResponseHead
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:]
    }
}

/// Collects one response from the FastCGI client handler.
final class FCGICollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var promise: EventLoopPromise<FCGIResponse>?

    func expect(_ promise: EventLoopPromise<FCGIResponse>) {
        head = nil
        body = []
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body(let b): body += b.readableBytesView
        case .end:
            if let h = head { promise?.succeed(FCGIResponse(head: h, body: body)) }
            promise = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise?.fail(error)
        promise = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.eof)
        promise = nil
    }
}

/// A real NIO connection to php-fpm through `FastCGIClientHandler` (no proxy, no parser needed).
final class FCGIClient: @unchecked Sendable {
    let channel: Channel
    let collector: FCGICollector
    let stderr = Locked<[String]>([])

    static let appConfig: FastCGIAppConfig = {
        var c = FastCGIAppConfig(name: "wordpress_backend", docroot: "/", location: .init(file: "test", line: 1))
        c.index = "index.php"
        c.pathInfoRegex = #"^(/.+\.php)(/.*)?$"#
        c.passHeaders = [FastCGIAppConfig.PassHeader(name: "Authorization", location: .init(file: "test", line: 1))]
        return c
    }()

    static func connect(_ fpm: PHPFPM, group: EventLoopGroup, keepConn: Bool = true) async throws -> FCGIClient {
        var config = appConfig
        config.docroot = fpm.docroot.path
        config.keepConn = keepConn
        let app = try FastCGIApplication(config)
        let collector = FCGICollector()
        let stderr = Locked<[String]>([])
        let address = try fpm.socketPath.map { try SocketAddress(unixDomainSocketPath: $0) }
            ?? SocketAddress(ipAddress: "127.0.0.1", port: fpm.port)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addFastCGIClientHandlers(app: app) { line in
                        stderr.withLock { $0.append(line) }
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(to: address).get()
        return FCGIClient(channel: channel, collector: collector, stderr: stderr)
    }

    private init(channel: Channel, collector: FCGICollector, stderr: Locked<[String]>) {
        self.channel = channel
        self.collector = collector
        self.stderr.withLock { $0 = [] }
        self.stderrBox = stderr
    }
    private let stderrBox: Locked<[String]>
    var stderrLines: [String] { stderrBox.current }

    /// Sends one request (body in 64 KiB parts) and waits for the complete response.
    func send(_ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
              timeout: Int64 = 30) async throws -> FCGIResponse {
        var h = HTTPHeaders([("Host", "fcgi.test")] + headers)
        if let body { h.replaceOrAdd(name: "Content-Length", value: String(body.count)) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: h)
        let channel = self.channel
        let collector = self.collector
        let promise = channel.eventLoop.makePromise(of: FCGIResponse.self)
        try await channel.eventLoop.submit {
            collector.expect(promise)
            let handler = try channel.pipeline.syncOperations.handler(type: FastCGIClientHandler.self)
            try handler.prepare(FastCGIRequestContext(clientAddress: "127.0.0.1", clientPort: 40000,
                                                      frontendAddress: "127.0.0.1", frontendPort: 8080), head: head)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body {
                var offset = 0
                while offset < body.count {
                    let n = min(65536, body.count - offset)
                    channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body[offset..<(offset + n)]))), promise: nil)
                    offset += n
                }
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }.get()
        let timeoutTask = channel.eventLoop.scheduleTask(in: .seconds(timeout)) { promise.fail(ChannelError.connectTimeout(.seconds(timeout))) }
        defer { timeoutTask.cancel() }
        return try await promise.futureResult.get()
    }

    func close() async { try? await channel.close() }
}

/// Hex of the FNV-1a 64 hash as PHP's `hash('fnv1a64', …)` prints it.
func fnvHex(_ bytes: [UInt8]) -> String {
    var h = FNV1a()
    h.update(bytes)
    let s = String(h.hash, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

extension Integration {
    /// `FastCGIClientHandler` against a real php-fpm pool (Debian `php-fpm`), over TCP and a UNIX socket.
    @Suite struct FastCGIClient {
        @Test("GET /index.php/extra/path?x=1: SCRIPT_FILENAME, PATH_INFO, QUERY_STRING as PHP sees them; / maps to index.php")
        func pathInfo() async throws {
            let fpm = try await PHPFPM.start(scripts: PHPFPM.testScripts)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let client = try await FCGIClient.connect(fpm, group: group)
            let docroot = fpm.docroot.path
            var r = try await client.send(.GET, "/index.php/extra/path?x=1")
            #expect(r.head.status.code == 200, "\(r.text)")
            var j = r.json
            #expect(j["SCRIPT_FILENAME"] as? String == docroot + "/index.php")
            #expect(j["SCRIPT_NAME"] as? String == "/index.php")
            #expect(j["PATH_INFO"] as? String == "/extra/path")
            #expect(j["PATH_TRANSLATED"] as? String == docroot + "/extra/path")
            #expect(j["QUERY_STRING"] as? String == "x=1")
            #expect(j["REQUEST_URI"] as? String == "/index.php/extra/path?x=1")
            #expect(j["GATEWAY_INTERFACE"] as? String == "CGI/1.1")
            #expect(j["HTTP_HOST"] as? String == "fcgi.test")
            #expect(r.head.headers["x-from-php"] == ["index"])
            #expect(r.head.headers["content-length"] == [String(r.body.count)])
            // Same connection again (keep-conn), and `/` → index.php.
            r = try await client.send(.GET, "/")
            j = r.json
            #expect(r.head.status.code == 200)
            #expect(j["SCRIPT_FILENAME"] as? String == docroot + "/index.php")
            #expect(j["PATH_INFO"] is NSNull)
            await client.close()
            try await group.shutdownGracefully()
            await fpm.stop()
        }

        @Test("POST bodies of 0 B, 1 KiB and 10 MiB arrive intact")
        func postBodies() async throws {
            let fpm = try await PHPFPM.start(scripts: PHPFPM.testScripts)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let client = try await FCGIClient.connect(fpm, group: group)
            for size in [0, 1024, 10 * 1024 * 1024] {
                var body = [UInt8](repeating: 0, count: size)
                var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(size)
                for i in 0..<size {
                    x ^= x << 13; x ^= x >> 7; x ^= x << 17
                    body[i] = UInt8(truncatingIfNeeded: x)
                }
                let r = try await client.send(.POST, "/index.php", headers: [("Content-Type", "application/octet-stream")], body: body, timeout: 60)
                let j = r.json
                #expect(r.head.status.code == 200, "\(size): \(r.text.prefix(300))")
                #expect(j["CONTENT_LENGTH"] as? String == String(size))
                #expect(j["body_len"] as? Int == size)
                #expect(j["body_fnv"] as? String == fnvHex(body), "body of \(size) bytes intact")
            }
            await client.close()
            try await group.shutdownGracefully()
            await fpm.stop()
        }

        @Test("Status: 404 and a custom header come back; Proxy: never becomes HTTP_PROXY; STDERR reaches the callback")
        func statusProxyStderr() async throws {
            let fpm = try await PHPFPM.start(scripts: PHPFPM.testScripts)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let client = try await FCGIClient.connect(fpm, group: group)
            var r = try await client.send(.GET, "/notfound.php")
            #expect(r.head.status.code == 404)
            #expect(r.head.headers["x-from-php"] == ["notfound"])
            #expect(r.text == "no such thing")
            r = try await client.send(.GET, "/index.php", headers: [("Proxy", "http://evil.example:3128"), ("X-Custom", "c1"),
                                                                      ("Authorization", "Basic YWxpY2U6c2VjcmV0")])
            let j = r.json
            #expect(j["HTTP_PROXY"] is NSNull, "httpoxy: \(j["HTTP_PROXY"] ?? "")")
            #expect(j["getenv_HTTP_PROXY"] is NSNull)
            #expect(j["HTTP_X_CUSTOM"] as? String == "c1")
            #expect(j["HTTP_AUTHORIZATION"] as? String == "Basic YWxpY2U6c2VjcmV0", "pass-header Authorization")
            #expect(j["REMOTE_USER"] as? String == "alice")
            r = try await client.send(.GET, "/stderr.php?m=42")
            #expect(r.text == "logged")
            #expect(client.stderrLines.contains { $0.contains("bw-stderr-marker 42") }, "stderr: \(client.stderrLines)")
            await client.close()
            try await group.shutdownGracefully()
            await fpm.stop()
        }

        @Test("UNIX socket pool, keep-conn off (one connection per request), a streamed 4 MiB response")
        func unixSocketAndStreaming() async throws {
            let fpm = try await PHPFPM.start(listen: .unix, scripts: PHPFPM.testScripts)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var client = try await FCGIClient.connect(fpm, group: group, keepConn: false)
            var r = try await client.send(.GET, "/index.php/p?q=unix")
            #expect(r.json["PATH_INFO"] as? String == "/p")
            #expect(!r.head.isKeepAlive, "keep-conn off: the proxy must not reuse the connection")
            await client.close()
            client = try await FCGIClient.connect(fpm, group: group)
            r = try await client.send(.GET, "/big.php?n=4194304", timeout: 60)
            #expect(r.body.count == 4_194_304)
            #expect(r.head.headers["transfer-encoding"] == ["chunked"] || r.head.headers["content-length"] == ["4194304"])
            await client.close()
            try await group.shutdownGracefully()
            await fpm.stop()
        }
    }

    /// The issue's configuration through the proxy. These need the `fcgi-app` / `use-fcgi-app` /
    /// `proto fcgi` parser; until it lands `ProxyProcess` fails to start with "unknown keyword".
    @Suite struct FastCGIProxy {
        static func seedConfig(port: Int, fpm: PHPFPM, servers: String? = nil, maxconn: Int = 250, backendExtra: String = "") -> String {
            let docroot = fpm.docroot.path
            let server = servers ?? """
                server fpm_node_01 127.0.0.1:\(fpm.port) check maxconn \(maxconn)
                server fpm_node_02 127.0.0.1:\(fpm.port) check maxconn \(maxconn)
            """
            return config(port: port, frontend: "    default_backend php_fpm_cluster", backends: """
            fcgi-app wordpress_backend
                log-stderr global
                docroot \(docroot)
                index index.php
                path-info ^(/.+\\.php)(/.*)?$
                set-param SCRIPT_FILENAME \(docroot)/\\1
                set-param HTTP_PROXY ""
                pass-header Authorization

            backend php_fpm_cluster
                mode http
                use-fcgi-app wordpress_backend
                balance leastconn
                option tcp-check
            \(backendExtra)
            \(server)
            """)
        }

        @Test("The seed block runs: path info, /, POST bodies, 404 + headers, httpoxy, STDERR in the log")
        func seedBlock() async throws {
            let fpm = try await PHPFPM.start(scripts: PHPFPM.testScripts)
            let proxy = try await ProxyProcess { Self.seedConfig(port: $0, fpm: fpm) }
            let base = "http://127.0.0.1:\(proxy.port)"
            let docroot = fpm.docroot.path
            var r = try await curl(["\(base)/index.php/extra/path?x=1"])
            var j = ((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]) ?? [:]
            #expect(r.status == 200, "\(r.bodyText)")
            #expect(j["SCRIPT_FILENAME"] as? String == docroot + "/index.php", "SEED-2 \\1 with the slash rule")
            #expect(j["PATH_INFO"] as? String == "/extra/path")
            #expect(j["QUERY_STRING"] as? String == "x=1")
            r = try await curl(["\(base)/"])
            j = ((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]) ?? [:]
            #expect(j["SCRIPT_NAME"] as? String == "/index.php")
            for size in [0, 1024, 10 * 1024 * 1024] {
                let file = try makeTempDir("body").appendingPathComponent("b")
                let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
                try Data(body).write(to: file)
                r = try await curl(["-X", "POST", "--data-binary", "@\(file.path)", "-H", "Content-Type: application/octet-stream",
                                    "\(base)/index.php"], timeout: 60)
                j = ((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]) ?? [:]
                #expect(j["body_len"] as? Int == size)
                #expect(j["body_fnv"] as? String == fnvHex(body))
            }
            r = try await curl(["\(base)/notfound.php"])
            #expect(r.status == 404)
            #expect(r.header("x-from-php") == "notfound")
            r = try await curl(["-H", "Proxy: http://evil:1", "\(base)/index.php"])
            j = ((try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any]) ?? [:]
            #expect(j["HTTP_PROXY"] is NSNull)
            r = try await curl(["\(base)/stderr.php?m=seed"])
            #expect(r.bodyText == "logged")
            let logged = await waitUntil(timeout: 5) { proxy.proc.stdout.contains("bw-stderr-marker seed") }
            #expect(logged, "PHP stderr in the log: \(proxy.proc.stdout.suffix(500))")
            r = try await curl(["\(base)/bad%zz.php"])
            #expect(r.status == 500, "path decoding error → 500 IH--")
            let lines = await proxy.waitForLogLines(1)
            #expect(lines.contains { $0.contains(" 500 ") && $0.contains("IH--") })
            await proxy.stop()
            await fpm.stop()
        }

        @Test("UNIX socket server with proto fcgi")
        func unixSocket() async throws {
            let fpm = try await PHPFPM.start(listen: .unix, scripts: PHPFPM.testScripts)
            let proxy = try await ProxyProcess {
                Self.seedConfig(port: $0, fpm: fpm, servers: "    server sock \(fpm.socketPath!) proto fcgi check")
            }
            let r = try await curl(["http://127.0.0.1:\(proxy.port)/index.php/a?b=c"])
            #expect(r.status == 200)
            #expect(r.bodyText.contains("\"PATH_INFO\":\"\\/a\""), "\(r.bodyText)")
            await proxy.stop()
            await fpm.stop()
        }

        @Test("4 workers behind maxconn 4, 64 concurrent slow requests: all wait in the proxy queue and complete")
        func maxconnQueue() async throws {
            let fpm = try await PHPFPM.start(maxChildren: 4, scripts: PHPFPM.testScripts)
            let proxy = try await ProxyProcess {
                Self.seedConfig(port: $0, fpm: fpm, servers: "    server fpm 127.0.0.1:\(fpm.port) proto fcgi check maxconn 4",
                                backendExtra: "    timeout queue 30s")
            }
            let base = "http://127.0.0.1:\(proxy.port)"
            var args = ["--parallel", "--parallel-max", "64", "-w", "%{http_code}\\n"]
            for _ in 0..<64 { args += ["-o", "/dev/null", "\(base)/slow.php?ms=200"] }
            let (code, out, err) = try await runProcess("/usr/bin/curl", ["-sS", "--max-time", "30"] + args, timeout: 60)
            #expect(code == 0, "\(err)")
            let statuses = out.split(separator: "\n")
            #expect(statuses.count == 64 && statuses.allSatisfy { $0 == "200" }, "\(statuses)")
            let log = await proxy.waitForLogLines(64)
            #expect(!log.contains { $0.contains(" 503 ") || $0.contains(" 504 ") }, "no request timed out")
            await proxy.stop()
            await fpm.stop()
        }
    }
}

/// The same requests through HAProxy 2.6's fcgi-app and Breakwater against one php-fpm pool: what
/// PHP sees must match (spec FCGI-4..FCGI-7). HAProxy-valid config only (no SEED spellings).
extension Integration {
    @Suite struct FastCGIDifferential {
        /// A HAProxy-valid fcgi-app config on one php-fpm pool; `rules` go into the frontend.
        static func config(port: Int, fpm: PHPFPM, rules: String = "") -> String {
            """
            defaults
                mode http
                timeout connect 2s
                timeout client 10s
                timeout server 10s

            fcgi-app app
                docroot \(fpm.docroot.path)
                index index.php
                path-info ^(/.+\\.php)(/.*)?$

            frontend fe
                bind 127.0.0.1:\(port)
            \(rules)
                default_backend php

            backend php
                use-fcgi-app app
                server fpm 127.0.0.1:\(fpm.port) proto fcgi

            """
        }

        @Test("HAProxy 2.6 fcgi-app and Breakwater give PHP the same parameters")
        func sameParameters() async throws {
            guard FileManager.default.isExecutableFile(atPath: Differential.haproxyPath) else {
                Issue.record("haproxy is not installed at \(Differential.haproxyPath): scripts/install-test-deps.sh installs it")
                return
            }
            let fpm = try await PHPFPM.start(scripts: PHPFPM.testScripts)
            func cfg(_ port: Int) -> String { Self.config(port: port, fpm: fpm) }
            let dir = try makeTempDir("fcgi-diff")
            let hport = Ports.free()
            let hcfg = dir.appendingPathComponent("haproxy.cfg")
            try cfg(hport).write(to: hcfg, atomically: true, encoding: .utf8)
            let haproxy = try ManagedProcess(executable: Differential.haproxyPath, arguments: ["-f", hcfg.path, "-db"], dir: dir)
            try await ProxyProcess.waitForPort(hport, proc: haproxy, name: "haproxy")
            let proxy = try await ProxyProcess { cfg($0) }
            let keys = ["SCRIPT_FILENAME", "SCRIPT_NAME", "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REQUEST_URI",
                        "REQUEST_METHOD", "DOCUMENT_ROOT", "CONTENT_LENGTH", "HTTP_X_CUSTOM", "HTTP_PROXY"]
            let requests: [[String]] = [
                ["/index.php/extra/path?x=1"], ["/"], ["/sub/"], ["/index.php?a=b&c=%20d"],
                ["-H", "X-Custom: v1", "-H", "Proxy: http://evil", "/index.php"],
                ["-X", "POST", "--data-binary", "hello world", "/index.php/p"],
            ]
            var compared = 0
            for req in requests {
                let path = req.last!
                let args = Array(req.dropLast())
                let h = try await curl(args + ["http://127.0.0.1:\(hport)\(path)"])
                let b = try await curl(args + ["http://127.0.0.1:\(proxy.port)\(path)"])
                #expect(h.status == b.status, "\(path): haproxy \(h.status) breakwater \(b.status)")
                let hj = ((try? JSONSerialization.jsonObject(with: h.body)) as? [String: Any]) ?? [:]
                let bj = ((try? JSONSerialization.jsonObject(with: b.body)) as? [String: Any]) ?? [:]
                guard !hj.isEmpty else { continue }
                compared += 1
                for k in keys {
                    let hv = hj[k].map { "\($0)" } ?? "absent"
                    let bv = bj[k].map { "\($0)" } ?? "absent"
                    #expect(hv == bv, "\(path) \(k): haproxy \(hv) breakwater \(bv)")
                }
            }
            #expect(compared >= 4, "HAProxy answered with PHP output for most requests")
            await haproxy.stop()
            await proxy.stop()
            await fpm.stop()
        }
    }
}
