// TEMPORARY (fcgi helper): in-process proxy with a hand-built snapshot, until the parser lands.
import BreakwaterConfigModel
import BreakwaterHTTP
import BreakwaterObservability
import Foundation
import Logging
import NIOPosix
import Testing

extension Integration {
    @Suite struct TempFastCGIInProcess {
        @Test func proxyToPHPFPM() async throws {
            let fpm = try await PHPFPM.start(maxChildren: 4, scripts: PHPFPM.testScripts)
            let loc = BreakwaterConfigModel.SourceLocation(file: "t", line: 1)
            let port = Ports.free()
            var fe = FrontendConfig(name: "fe", location: loc)
            fe.mode = .http
            fe.binds = [BindConfig(host: "127.0.0.1", port: port, location: loc)]
            fe.defaultBackend = "php"
            fe.options.httplog = true
            fe.logTargets = [LogTarget(destination: .stdout, format: .raw, facility: 16)]
            var app = FastCGIAppConfig(name: "wordpress_backend", docroot: fpm.docroot.path, location: loc)
            app.index = "index.php"
            app.pathInfoRegex = #"^(/.+\.php)(/.*)?$"#
            app.setParams = [.init(name: "SCRIPT_FILENAME", valueTemplate: fpm.docroot.path + #"/\1"#, location: loc),
                             .init(name: "HTTP_PROXY", valueTemplate: "", location: loc)]
            app.logStderr = [LogTarget(destination: .stdout, format: .raw, facility: 16)]
            var be = BackendConfig(name: "php", location: loc)
            be.mode = .http
            be.balance = .leastconn
            be.fastCGIApp = app
            be.timeouts.connect = 2000
            be.timeouts.server = 10000
            var s = ServerConfig(name: "fpm", host: "127.0.0.1", port: fpm.port, location: loc)
            s.proto = .fcgi
            s.maxconn = 4
            s.health.enabled = true
            be.servers = [s]
            let snapshot = ConfigSnapshot(frontends: [fe], backends: [be])
            let runtime = try ProxyRuntime(snapshot: snapshot, logWriter: LogWriter(), framer: SyslogFramer(tag: "breakwater"))
            let server = ProxyServer(runtime: runtime, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "t"))
            try await server.start()
            let base = "http://127.0.0.1:\(port)"
            var r = try await curl(["\(base)/index.php/extra/path?x=1"])
            print("R1", r.status, r.heads.last?.headers ?? [], r.bodyText)
            #expect(r.status == 200)
            #expect(r.bodyText.contains(#""SCRIPT_FILENAME":"\#(fpm.docroot.path.replacingOccurrences(of: "/", with: "\\/"))\/index.php""#))
            r = try await curl(["\(base)/notfound.php"])
            #expect(r.status == 404 && r.header("x-from-php") == "notfound")
            r = try await curl(["\(base)/bad%zz.php"])
            #expect(r.status == 500)
            r = try await curl(["\(base)/stderr.php?m=inproc"])
            #expect(r.bodyText == "logged")
            let file = try makeTempDir("b").appendingPathComponent("b")
            let body = (0..<(10 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            try Data(body).write(to: file)
            r = try await curl(["-X", "POST", "--data-binary", "@\(file.path)", "\(base)/index.php"], timeout: 60)
            #expect(r.bodyText.contains(fnvHex(body)))
            r = try await curl(["-X", "POST", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file.path)", "\(base)/index.php"], timeout: 60)
            #expect(r.bodyText.contains(fnvHex(body)), "chunked upload")
            r = try await curl(["\(base)/big.php?n=4194304"], timeout: 60)
            #expect(r.body.count == 4194304)
            var args = ["--parallel", "--parallel-max", "64", "-w", "%{http_code}\\n"]
            for _ in 0..<64 { args += ["-o", "/dev/null", "\(base)/slow.php?ms=100"] }
            let (_, out, _) = try await runProcess("/usr/bin/curl", ["-sS", "--max-time", "30"] + args, timeout: 60)
            #expect(out.split(separator: "\n").filter { $0 == "200" }.count == 64)
            r = try await curl(["\(base)/fpm-status"])
            print("STATUS", r.bodyText)
            #expect(r.bodyText.contains("max listen queue:     0"))
            await server.stopAccepting()
            await fpm.stop()
        }
    }
}
