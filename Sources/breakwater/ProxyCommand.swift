import ArgumentParser
import BreakwaterConfig
import BreakwaterConfigModel
import BreakwaterControlPlane
import BreakwaterHTTP
import BreakwaterObservability
import Dispatch
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// `breakwater proxy`: run the load balancer until SIGTERM (graceful drain) or SIGINT (stop).
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the load balancer from an HAProxy-dialect configuration."
    )

    @Option(name: .customShort("f"), help: "Configuration file; repeat to concatenate several in order.")
    var files: [String] = []

    @Option(help: "Seconds SIGTERM waits for in-flight requests before closing what is left.")
    var gracePeriod: Int = 30

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one -f FILE is required") }
    }

    func run() async throws {
        let parsed = ConfigParser().load(paths: files)
        for d in parsed.diagnostics { printError(d.description) }
        guard let snapshot = parsed.snapshot, !parsed.hasErrors else {
            printError("Fatal errors found in configuration.")
            throw ExitCode(1)
        }
        guard snapshot.frontends.contains(where: { !$0.binds.isEmpty }) else {
            printError("[ALERT] No enabled listener found (check for 'bind' directives) ! Exiting.")
            throw ExitCode(1)
        }

        let writer = LogWriter()
        let framer = SyslogFramer(tag: snapshot.global.logTag ?? "breakwater")
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "breakwater")

        let threads = snapshot.global.nbthread ?? System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let runtime: ProxyRuntime
        do {
            runtime = try ProxyRuntime(snapshot: snapshot, logWriter: writer, framer: framer)
        } catch {
            printError("[ALERT] \(error)")
            throw ExitCode(1)
        }
        let server = ProxyServer(runtime: runtime, group: group, logger: logger)
        let stopping = StopFlag()
        let admin = AdminServer(runtime: ProxyRuntimeHandle(runtime: runtime, server: server, nbthread: threads),
                                group: group, logger: logger, stopping: { stopping.isSet })
        let checker = HealthChecker(runtime: runtime, group: group, logger: logger)
        do {
            try await server.start()
            try await admin.start(snapshot.global.statsSockets)
            checker.start()
        } catch {
            printError("[ALERT] Starting proxy: \(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        if let pidfile = snapshot.global.pidfile {
            let text = "\(getpid())\n"
            if let f = fopen(pidfile, "w") {
                fputs(text, f)
                fclose(f)
            }
        }

        let signal = await waitForStopSignal()
        stopping.set()
        checker.stop()
        switch signal {
        case SIGTERM:
            logger.notice("SIGTERM received: draining for up to \(gracePeriod)s")
            await server.drain(grace: .seconds(Int64(gracePeriod)))
        default:
            logger.notice("SIGINT received: stopping")
            await server.drain(grace: .zero)
        }
        await admin.stop()
        writer.flush()
        for socket in snapshot.global.statsSockets {
            if case .unix(let path) = socket.address { unlink(path) }
        }
        if let pidfile = snapshot.global.pidfile { unlink(pidfile) }
        try? await group.shutdownGracefully()
    }
}

/// Set once when the process starts stopping (`Stopping` in `show info`).
final class StopFlag: Sendable {
    private let flag = ManagedFlag()
    var isSet: Bool { flag.value }
    func set() { flag.value = true }
}

import Synchronization
final class ManagedFlag: Sendable {
    private let storage = Atomic<Bool>(false)
    var value: Bool {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(newValue, ordering: .relaxed) }
    }
}

/// Suspends until SIGTERM or SIGINT arrives and returns which.
func waitForStopSignal() async -> Int32 {
    await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
        let once = OnceBox(continuation)
        let queue = DispatchQueue(label: "breakwater.signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { once.resume(sig) }
            source.resume()
            sources.append(source)
        }
        SignalSources.keep(sources)
    }
}

final class OnceBox: Sendable {
    private let continuation: Mutex<CheckedContinuation<Int32, Never>?>
    init(_ c: CheckedContinuation<Int32, Never>) { continuation = Mutex(c) }
    func resume(_ sig: Int32) {
        let c = continuation.withLock { c -> CheckedContinuation<Int32, Never>? in
            let out = c
            c = nil
            return out
        }
        c?.resume(returning: sig)
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func keep(_ s: [DispatchSourceSignal]) { sources.append(contentsOf: s) }
}
