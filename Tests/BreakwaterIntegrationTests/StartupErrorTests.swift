import Foundation
import Testing

/// Start-up as a new user meets it (issue 9, items 7, 16, 17): every failure names the config line,
/// the path or address and the OS error in words, never a raw Swift error; a failed start leaves no
/// socket file; `check` and the bare command fail where HAProxy fails; `tls-keys rotate` keeps the
/// key file when a push fails.
extension Integration {
    @Suite struct StartupErrors {
        static func run(_ args: [String], timeout: Double = 20) async throws -> (code: Int32, out: String, err: String) {
            let (code, out, err) = try await runProcess(try breakwaterBinary(), args, timeout: timeout)
            return (code, out, err)
        }

        static func write(_ text: String, _ dir: URL, _ name: String = "bw.cfg") throws -> String {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        static func config(port: Int, global: String, backend: TestBackend) -> String {
            """
            global
            \(global)

            \(Cfg.defaults())
            frontend fe
                bind 127.0.0.1:\(port)
                default_backend be

            backend be
            \(serverLine("s1", backend))
            """
        }

        /// No raw Swift error values (`SomeError()`, `(errno: 2)`, `NSCocoaErrorDomain`).
        static func expectPlainWords(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            for raw in ["()", "errno:", "NSCocoaErrorDomain", "UnixDomainSocket", "bind(descriptor"] {
                #expect(!text.contains(raw), "raw error '\(raw)' in: \(text)", sourceLocation: sourceLocation)
            }
        }

        @Test("A regular file at the stats socket path is replaced by the socket, as HAProxy does")
        func regularFileAtSocketPath() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("start-file")
            let sock = dir.appendingPathComponent("admin.sock").path
            try "stale".write(toFile: sock, atomically: true, encoding: .utf8)
            let proxy = try await ProxyProcess { port in
                Self.config(port: port, global: "    stats socket \(sock) level admin", backend: bs[0])
            }
            #expect(try await adminCommand(sock, "show info").contains("Pid: \(proxy.pid)"))
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("A stats socket in a missing directory: config line, path, OS error; no socket file left")
        func socketInMissingDirectory() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("start-nodir")
            let good = dir.appendingPathComponent("first.sock").path
            let bad = dir.appendingPathComponent("missing/admin.sock").path
            let cfg = try Self.write(Self.config(port: Ports.free(), global: """
                    stats socket \(good) level admin
                    stats socket \(bad) level admin
                """, backend: bs[0]), dir)
            let r = try await Self.run(["proxy", "-f", cfg])
            #expect(r.code != 0)
            #expect(r.err.contains("\(cfg):3:"), "\(r.err)")
            #expect(r.err.contains(bad) && r.err.contains("No such file or directory"), "\(r.err)")
            Self.expectPlainWords(r.err)
            #expect(!FileManager.default.fileExists(atPath: good), "a failed start leaves no socket file")
            await stopAll(bs)
        }

        @Test("A frontend bind failure names its config line, the address and the OS error; no socket left")
        func bindFailureNamesLine() async throws {
            let bs = try await echoBackends("s1")
            let busy = PortListener(port: Ports.free())
            try await busy.start()
            let dir = try makeTempDir("start-bind")
            let sock = dir.appendingPathComponent("admin.sock").path
            let cfg = try Self.write(Self.config(port: busy.port, global: "    stats socket \(sock) level admin", backend: bs[0]), dir)
            let r = try await Self.run(["proxy", "-f", cfg])
            #expect(r.code != 0)
            #expect(r.err.contains("\(cfg):14: frontend 'fe': cannot bind 127.0.0.1:\(busy.port): Address already in use"), "\(r.err)")
            Self.expectPlainWords(r.err)
            #expect(!FileManager.default.fileExists(atPath: sock), "a failed start leaves no socket file")
            await busy.stop()
            await stopAll(bs)
        }

        @Test("A missing file: one error in words, no 'no enabled listener' on top")
        func missingFile() async throws {
            let r = try await Self.run(["proxy", "-f", "/nonexistent/bw.cfg"])
            #expect(r.code != 0)
            #expect(r.err.contains("cannot read configuration file '/nonexistent/bw.cfg': No such file or directory"), "\(r.err)")
            #expect(!r.err.lowercased().contains("listener"), "\(r.err)")
            Self.expectPlainWords(r.err)
        }

        @Test("-f DIR runs the directory's *.cfg files in lexical order")
        func directoryConfig() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("start-dir")
            let port = Ports.free()
            _ = try Self.write("global\n    log stdout format raw local0\n\n\(Cfg.defaults())\n", dir, "00-base.cfg")
            _ = try Self.write("frontend fe\n    bind 127.0.0.1:\(port)\n    default_backend be\n", dir, "10-fe.cfg")
            _ = try Self.write("backend be\n\(serverLine("s1", bs[0]))\n", dir, "20-be.cfg")
            let check = try await Self.run(["check", "-f", dir.path])
            #expect(check.code == 0, "\(check.err)")
            let proc = try ManagedProcess(executable: try breakwaterBinary(), arguments: ["proxy", "-f", dir.path], dir: dir)
            try await ProxyProcess.waitForPort(port, proc: proc, name: "breakwater")
            #expect(try await oneShot(port, requestText("GET", "/d"))?.status == 200)
            await proc.stop()
            await stopAll(bs)
        }

        @Test("check fails on an empty file and on a configuration without a listener; bare command fails")
        func checkWithoutListener() async throws {
            let dir = try makeTempDir("check-empty")
            let empty = try Self.write("", dir, "empty.cfg")
            let r1 = try await Self.run(["check", "-f", empty])
            #expect(r1.code != 0, "\(r1.err)")
            #expect(r1.err.contains("No enabled listener"), "\(r1.err)")
            let backendOnly = try Self.write("\(Cfg.defaults())\nbackend be\n    server s1 127.0.0.1:80\n", dir, "be.cfg")
            let r2 = try await Self.run(["check", "-f", backendOnly])
            #expect(r2.code != 0, "\(r2.err)")
            let bare = try await Self.run([])
            #expect(bare.code != 0)
            #expect((bare.out + bare.err).contains("SUBCOMMANDS"), "\(bare.err)")
        }

        @Test("An unwritable pidfile stops the start naming the path; daemon and a missing log socket are said")
        func pidfileDaemonAndLogSocket() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("start-pid")
            let pid = "/nonexistent-dir/bw.pid"
            let cfg = try Self.write(Self.config(port: Ports.free(), global: "    pidfile \(pid)", backend: bs[0]), dir)
            let r = try await Self.run(["proxy", "-f", cfg])
            #expect(r.code != 0)
            #expect(r.err.contains("pidfile '\(pid)': No such file or directory"), "\(r.err)")

            let logSock = dir.appendingPathComponent("no-such-log.sock").path
            let proxy = try await ProxyProcess { port in
                Self.config(port: port, global: "    daemon\n    log \(logSock) local0", backend: bs[0])
            }
            #expect(try await oneShot(proxy.port, requestText("GET", "/x"))?.status == 200, "it runs in the foreground")
            #expect(proxy.proc.stderr.contains("'daemon' is not supported"), "\(proxy.proc.stderr)")
            #expect(proxy.proc.stderr.contains("[ALERT] log socket '\(logSock)': No such file or directory"), "\(proxy.proc.stderr)")
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("tls-keys rotate: a push that fails leaves the key file unchanged and names the node")
        func rotateKeepsFileWhenPushFails() async throws {
            let dir = try makeTempDir("rotate")
            let file = dir.appendingPathComponent("tickets.key").path
            let initRun = try await Self.run(["tls-keys", "init", "--file", file, "--allow-persistent"])
            #expect(initRun.code == 0, "\(initRun.err)")
            let before = try String(contentsOfFile: file, encoding: .utf8)
            let missing = dir.appendingPathComponent("no-node.sock").path
            let r = try await Self.run(["tls-keys", "rotate", "--file", file, "--allow-persistent", "--socket", missing])
            #expect(r.code != 0)
            #expect(r.err.contains(missing) && r.err.contains("No such file or directory"), "\(r.err)")
            #expect(r.err.contains("left unchanged"), "\(r.err)")
            #expect(try String(contentsOfFile: file, encoding: .utf8) == before, "the key file must not change")
            // Without sockets to push to, rotating rewrites the file (nothing can disagree with it).
            let local = try await Self.run(["tls-keys", "rotate", "--file", file, "--allow-persistent"])
            #expect(local.code == 0, "\(local.err)")
            #expect(try String(contentsOfFile: file, encoding: .utf8) != before)
        }
    }
}
