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

    @Option(name: .customLong("sf", withSingleDash: true),
            help: "PIDs of running Breakwater processes to stop softly once this one serves (hitless reload).")
    var softStopPIDs: [Int32] = []

    @Option(help: "Server state saved by the previous process (health, admin state, weight).")
    var serverStateFile: String?

    @Flag(help: "Rebuild data-tier state files (mysql-mux state-file) from the configuration instead of keeping them.")
    var initial = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one -f FILE is required") }
    }

    func run() async throws {
        let environment = ProcessEnvironment.current()
        InheritedDescriptors.closeStraySocketsIfReloaded(environment)
        // Signals are taken over first: a USR2 arriving during startup must not kill the process.
        let signals = SignalStream([SIGTERM, SIGINT, SIGUSR1, SIGUSR2])
        let parsed = ConfigParser().load(paths: files)
        for d in parsed.diagnostics { printError(d.description) }
        guard let snapshot = parsed.snapshot, !parsed.hasErrors else {
            printError("Fatal errors found in configuration.")
            throw ExitCode(1)
        }
        guard snapshot.hasAnyListener else {
            printError("[ALERT] No enabled listener found (check for 'bind' directives) ! Exiting.")
            throw ExitCode(1)
        }
        if let pidfile = snapshot.global.pidfile, let problem = StartupChecks.pidfileProblem(pidfile) {
            printError(problem)
            throw ExitCode(1)
        }
        for alert in StartupChecks.logTargetAlerts(snapshot) { printError(alert) }

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
        let sections: [any SectionService]
        do {
            sections = try SectionRegistry.services(
                for: snapshot, context: SectionContext(group: group, logger: logger, initial: initial,
                                                     replacing: !softStopPIDs.isEmpty))
        } catch {
            printError("[ALERT] \(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        if let path = serverStateFile, let text = ServerStateFile.read(path) {
            let n = ServerStateFile.apply(text, to: runtime)
            logger.notice("restored the state of \(n) servers from \(path)")
            unlink(path)
        }
        for section in sections {
            do {
                try await section.start()
            } catch {
                printError("[ALERT] Starting \(section.displayName): \(error)")
                for s in sections { await s.stop(grace: .zero) }
                try? await group.shutdownGracefully()
                throw ExitCode(1)
            }
        }
        do {
            // The admin socket exists before the listeners accept, so whoever sees the port open
            // can also talk to the socket.
            try await admin.start(snapshot.global.statsSockets,
                                  inherited: AdminListenerSockets.inherited(from: environment))
            try await server.start(inherited: ListenerSockets.inheritedGroups(from: environment))
            checker.start()
        } catch {
            // A failed start leaves no socket file of its own behind, and never a predecessor's.
            await admin.stop()
            admin.removeSocketFiles(createdOnly: true)
            printError("[ALERT] Starting proxy: \(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        if let pidfile = snapshot.global.pidfile, let problem = StartupChecks.writePidfile(pidfile) {
            printError(problem)
        }

        // This process serves now: the ones it replaces stop accepting and drain.
        for pid in softStopPIDs { kill(pid, SIGUSR1) }

        let files = self.files
        let reload = ReloadCoordinator(
            arguments: ["proxy"] + files.flatMap { ["-f", $0] } + ["--grace-period", String(gracePeriod)],
            server: server, runtime: runtime, logger: logger, admin: admin,
            validate: {
                let result = ConfigParser().load(paths: files)
                return result.hasErrors ? result.diagnostics.map(\.description).joined(separator: "\n") : nil
            })
        var handedOver = false
        loop: for await sig in signals.stream {
            switch sig {
            case SIGUSR2:
                logger.notice("SIGUSR2 received: reloading")
                await reload.reload()
            case SIGUSR1:
                logger.notice("SIGUSR1 received: soft stop, draining for up to \(gracePeriod)s")
                handedOver = true
                reload.handedOver.set()
                stopping.set()
                checker.stop()
                await admin.stop()
                await server.drain(grace: .seconds(Int64(gracePeriod)))
                break loop
            case SIGTERM:
                logger.notice("SIGTERM received: draining for up to \(gracePeriod)s")
                stopping.set()
                checker.stop()
                await server.drain(grace: .seconds(Int64(gracePeriod)))
                break loop
            default:
                logger.notice("SIGINT received: stopping")
                stopping.set()
                checker.stop()
                await server.drain(grace: .zero)
                break loop
            }
        }
        await admin.stop()
        for section in sections { await section.stop(grace: .seconds(Int64(gracePeriod))) }
        writer.flush()
        if !handedOver {
            // A successor owns the socket files and the pidfile after a handover; a file some other
            // process re-created at the same path is not this process's to remove.
            admin.removeSocketFiles()
            if let pidfile = snapshot.global.pidfile { unlink(pidfile) }
        }
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

/// Delivers the given signals as an async sequence (the signals are ignored by default handlers).
final class SignalStream: Sendable {
    let stream: AsyncStream<Int32>
    private let sources: [DispatchSourceSignalBox]

    init(_ signals: [Int32]) {
        var continuation: AsyncStream<Int32>.Continuation!
        stream = AsyncStream(bufferingPolicy: .bufferingNewest(16)) { continuation = $0 }
        let queue = DispatchQueue(label: "breakwater.signals")
        let c = continuation!
        sources = signals.map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { c.yield(sig) }
            source.resume()
            return DispatchSourceSignalBox(source)
        }
    }
}

/// Keeps a signal source alive; DispatchSource is thread-safe.
final class DispatchSourceSignalBox: @unchecked Sendable {
    let source: DispatchSourceSignal
    init(_ s: DispatchSourceSignal) { source = s }
}
