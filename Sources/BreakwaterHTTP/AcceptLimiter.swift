import Atomics
import NIOCore
import Synchronization

/// Wakes listeners that stopped accepting because a `maxconn` was reached (spec GLB-2, FE-5).
/// Shared by all listeners; any thread.
final class AcceptGate: Sendable {
    private let sleepers: Mutex<[@Sendable () -> Void]> = Mutex([])

    func sleep(_ wake: @escaping @Sendable () -> Void) {
        sleepers.withLock { $0.append(wake) }
    }

    func wakeAll() {
        let toWake = sleepers.withLock { list -> [@Sendable () -> Void] in
            let out = list
            list.removeAll()
            return out
        }
        for wake in toWake { wake() }
    }
}

/// On a listening channel: counts accepted connections against the frontend's and the process's
/// `maxconn`, and stops calling `read()` (so the kernel backlog holds new connections) at the limit.
final class AcceptLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel
    typealias OutboundIn = Never

    private let runtime: ProxyRuntime
    private let frontend: FrontendRuntime
    private let frontendLimit: Int
    private let gate: AcceptGate
    private let registry: ConnectionRegistry
    private var readPending = false
    private var sleeping = false

    init(runtime: ProxyRuntime, frontend: FrontendRuntime, gate: AcceptGate, registry: ConnectionRegistry) {
        self.runtime = runtime
        self.frontend = frontend
        self.frontendLimit = frontend.config.maxconn ?? runtime.maxconn
        self.gate = gate
        self.registry = registry
    }

    private var atLimit: Bool {
        runtime.process.currentConnections.load(ordering: .relaxed) >= runtime.maxconn
            || frontend.counters.currentSessions.load(ordering: .relaxed) >= frontendLimit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        runtime.process.currentConnections.wrappingIncrement(ordering: .relaxed)
        runtime.process.cumulativeConnections.wrappingIncrement(ordering: .relaxed)
        frontend.counters.noteSessions(frontend.counters.currentSessions.wrappingIncrementThenLoad(ordering: .relaxed))
        frontend.counters.totalSessions.wrappingIncrement(ordering: .relaxed)
        registry.add(child)
        let runtime = self.runtime
        let frontend = self.frontend
        let gate = self.gate
        let registry = self.registry
        child.closeFuture.whenComplete { _ in
            runtime.process.currentConnections.wrappingDecrement(ordering: .relaxed)
            frontend.counters.currentSessions.wrappingDecrement(ordering: .relaxed)
            registry.remove(child)
            gate.wakeAll()
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if atLimit {
            readPending = true
            goToSleep(context: context)
        } else {
            context.read()
        }
    }

    private func goToSleep(context: ChannelHandlerContext) {
        guard !sleeping else { return }
        sleeping = true
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        gate.sleep {
            loop.execute {
                let (handler, context) = bound.value
                handler.wake(context: context)
            }
        }
        // A slot may have freed between the check and the registration.
        if !atLimit { gate.wakeAll() }
    }

    private func wake(context: ChannelHandlerContext) {
        sleeping = false
        guard readPending else { return }
        if atLimit {
            goToSleep(context: context)
        } else {
            readPending = false
            context.read()
        }
    }
}

/// Every live client connection, so a graceful stop can ask each one to finish and close.
final class ConnectionRegistry: Sendable {
    private let channels: Mutex<[ObjectIdentifier: Channel]> = Mutex([:])

    func add(_ channel: Channel) {
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: Channel) {
        channels.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var all: [Channel] { channels.withLock { Array($0.values) } }
    var count: Int { channels.withLock { $0.count } }
}
