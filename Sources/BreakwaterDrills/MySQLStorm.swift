import BreakwaterMySQLWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// N MySQL clients that connect at once, then each runs `SELECT 1` with a short pause until the deadline,
/// holding its connection the whole time (the write-up's application servers). Bounded by `count` and
/// `seconds`; every connection is closed at the end.
struct MySQLStorm {
    struct Result {
        var connected = 0
        var errors1040 = 0
        var otherErrors = 0
        var queries = 0
        var queryErrors = 0
        var connectMs: [Double] = []
        var firstOtherError: String?

        func connectPercentile(_ p: Double) -> Double {
            var l = LoadResult()
            l.latenciesMs = connectMs
            return l.percentile(p)
        }
    }

    var port: Int
    var user: String
    var password: String
    var count: Int
    var seconds: Double
    var pauseMs: Int64 = 50

    func run(group: EventLoopGroup) throws -> Result {
        let result = NIOLockedValueBox(Result())
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let deadline = NIODeadline.now() + .milliseconds(Int64(seconds * 1000))
        let done = (0..<count).map { _ -> EventLoopFuture<Void> in
            let loop = group.next()
            let started = NIODeadline.now()
            return MySQLClientConnection.connect(to: address, user: user, password: password, on: loop, connectTimeout: .seconds(10))
                .flatMap { conn -> EventLoopFuture<Void> in
                    let ms = Double((NIODeadline.now() - started).nanoseconds) / 1e6
                    result.withLockedValue { $0.connected += 1; $0.connectMs.append(ms) }
                    return Self.queryLoop(conn, until: deadline, pauseMs: pauseMs, result: result)
                        .flatMap { conn.close().flatMapError { _ in loop.makeSucceededVoidFuture() } }
                }
                .flatMapError { error in
                    result.withLockedValue { r in
                        if case MySQLWireError.server(let e) = error, e.code == 1040 { r.errors1040 += 1 } else {
                            r.otherErrors += 1
                            if r.firstOtherError == nil { r.firstOtherError = "\(error)" }
                        }
                    }
                    return loop.makeSucceededVoidFuture()
                }
        }
        try EventLoopFuture.andAllComplete(done, on: group.next()).wait()
        return result.withLockedValue { $0 }
    }

    private static func queryLoop(_ conn: MySQLClientConnection, until deadline: NIODeadline, pauseMs: Int64,
                                  result: NIOLockedValueBox<Result>) -> EventLoopFuture<Void> {
        let loop = conn.channel.eventLoop
        guard NIODeadline.now() < deadline else { return loop.makeSucceededVoidFuture() }
        return conn.query("SELECT 1").map { _ in result.withLockedValue { $0.queries += 1 } }
            .flatMapError { _ in
                result.withLockedValue { $0.queryErrors += 1 }
                return loop.makeSucceededVoidFuture()
            }
            .flatMap { loop.scheduleTask(in: .milliseconds(pauseMs)) {}.futureResult }
            .flatMap { queryLoop(conn, until: deadline, pauseMs: pauseMs, result: result) }
    }
}
