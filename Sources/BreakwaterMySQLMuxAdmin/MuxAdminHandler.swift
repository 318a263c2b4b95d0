import BreakwaterMySQLWire
import NIOCore

/// The admin listener's session: MySQL handshake against the admin user, then each COM_QUERY runs as an
/// admin command or as SQL on the store's queue (never on the event loop).
final class MuxAdminHandler: ChannelInboundHandler {
    typealias InboundIn = MySQLPacket
    typealias OutboundOut = MySQLPacket

    private enum State { case handshaking, ready, busy }

    private let admin: MuxAdminServer
    private let scramble = MySQLAuthPlugin.makeScramble()
    private var state = State.handshaking
    private static let capabilities = MuxAdminServer.capabilities

    init(admin: MuxAdminServer) { self.admin = admin }

    func channelActive(context: ChannelHandlerContext) {
        let greeting = MySQLHandshakeV10(
            serverVersion: "10.11.0-Breakwater-admin", connectionID: 1, scramble: scramble,
            capabilities: Self.capabilities)
        context.writeAndFlush(wrapOutboundOut(MySQLPacket(sequenceID: 0, payload: greeting.encode())), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let packet = unwrapInboundIn(data)
        switch state {
        case .handshaking:
            guard let response = try? MySQLHandshakeResponse41(payload: packet.payload),
                response.username == admin.user,
                MySQLAuthPlugin.verifyNativePassword(response: response.authResponse, scramble: scramble, storedPassword: admin.password)
            else {
                let err = MySQLErrorPacket(code: 1045, sqlState: "28000", message: "Access denied for the admin interface")
                context.writeAndFlush(wrapOutboundOut(MySQLPacket(sequenceID: packet.sequenceID &+ 1, payload: err.encode())))
                    .whenComplete { _ in context.close(promise: nil) }
                return
            }
            state = .ready
            context.writeAndFlush(wrapOutboundOut(MySQLPacket(sequenceID: packet.sequenceID &+ 1, payload: MySQLOKPacket().encode())), promise: nil)
        case .busy:
            reply(context, [error(1047, "commands must wait for the previous answer")])
            context.close(promise: nil)
        case .ready:
            switch packet.header.flatMap(MySQLCommand.init(rawValue:)) {
            case .quit: context.close(promise: nil)
            case .ping, .initDB, .resetConnection: reply(context, [ok()])
            case .query:
                var buf = packet.payload
                buf.moveReaderIndex(forwardBy: 1)
                let sql = buf.readString(length: buf.readableBytes) ?? ""
                state = .busy
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                admin.run(MuxAdminCommand.parse(sql), on: context.eventLoop).hop(to: context.eventLoop).whenComplete { result in
                    let (handler, context) = loopBound.value
                    handler.state = .ready
                    switch result {
                    case .success(let answer): handler.reply(context, handler.packets(for: answer))
                    case .failure(let err): handler.reply(context, [handler.error(1045, "\(err)")])
                    }
                }
            default:
                reply(context, [error(1047, "command not supported by the admin interface")])
            }
        }
    }

    private func packets(for answer: MuxAdminServer.Answer) -> [ByteBuffer] {
        switch answer {
        case .ok(let changes): return [MySQLOKPacket(affectedRows: UInt64(changes)).encode()]
        case .rows(let columns, let rows):
            var count = ByteBuffer()
            count.writeMySQLLengthEncodedInteger(UInt64(columns.count))
            var out = [count]
            out += columns.map { MySQLColumnDefinition(name: $0, table: "admin").encode() }
            out.append(MySQLEOFPacket().encode())
            out += rows.map { MySQLTextRow.encode($0) }
            out.append(MySQLEOFPacket().encode())
            return out
        }
    }

    private func ok() -> ByteBuffer { MySQLOKPacket().encode() }
    private func error(_ code: UInt16, _ message: String) -> ByteBuffer {
        MySQLErrorPacket(code: code, message: message).encode()
    }

    private func reply(_ context: ChannelHandlerContext, _ payloads: [ByteBuffer]) {
        for (i, p) in payloads.enumerated() {
            context.write(wrapOutboundOut(MySQLPacket(sequenceID: UInt8(truncatingIfNeeded: i + 1), payload: p)), promise: nil)
        }
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
