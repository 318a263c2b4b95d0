import BreakwaterMySQLWire
import NIOCore
import NIOEmbedded
import NIOTestUtils
import XCTest

final class MySQLPacketCodecTests: XCTestCase {
    private func wire(_ packets: [MySQLPacket]) -> ByteBuffer {
        var out = ByteBuffer()
        for p in packets { MySQLPacketEncoder.encode(p, into: &out) }
        return out
    }

    private func packet(_ seq: UInt8, _ bytes: [UInt8]) -> MySQLPacket {
        MySQLPacket(sequenceID: seq, payload: ByteBuffer(bytes: bytes))
    }

    func testEverySplitPointDecodesTheSamePackets() throws {
        let ok = MySQLOKPacket(affectedRows: 3, lastInsertID: 70000, info: "Rows matched: 3").encode()
        let packets = [
            packet(0, [0x03] + Array("SELECT 1".utf8)),
            MySQLPacket(sequenceID: 1, payload: ok),
            packet(2, []),
            MySQLPacket(sequenceID: 3, payload: MySQLTextRow.encode(["a", nil, String(repeating: "x", count: 300)])),
        ]
        let input = wire(packets)
        let expected = packets.map { ($0 == packets[2] ? MySQLPacket(sequenceID: 2, payload: ByteBuffer()) : $0) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, expected)],
            decoderFactory: { MySQLPacketDecoder() })
    }

    func testSixteenMebibytePayloadIsSplitAndJoined() throws {
        for size in [MySQLPacket.maxWirePayload - 1, MySQLPacket.maxWirePayload, MySQLPacket.maxWirePayload + 5] {
            var payload = ByteBuffer()
            payload.writeRepeatingByte(0x61, count: size)
            let buf = wire([MySQLPacket(sequenceID: 7, payload: payload)])
            let wirePackets = MySQLPacketEncoder.wirePacketCount(payloadSize: size)
            XCTAssertEqual(buf.readableBytes, size + 4 * wirePackets)
            var decoder = MySQLPacketDecoder()
            var input = buf
            let out = try XCTUnwrap(try decoder.decodePacket(&input))
            XCTAssertEqual(out.payload.readableBytes, size)
            XCTAssertEqual(out.sequenceID, 7 &+ UInt8(wirePackets - 1))
            XCTAssertEqual(input.readableBytes, 0)
        }
    }

    func testOversizedMessageIsACleanError() throws {
        var decoder = MySQLPacketDecoder(maxMessageSize: 100)
        var input = wire([packet(0, [UInt8](repeating: 1, count: 101))])
        XCTAssertThrowsError(try decoder.decodePacket(&input)) { error in
            XCTAssertEqual(error as? MySQLWireError, .packetTooLarge(size: 101, limit: 100))
        }
    }

    func testHandshakeRoundTrip() throws {
        let scramble = MySQLAuthPlugin.makeScramble()
        XCTAssertFalse(scramble.contains(0))
        let greeting = MySQLHandshakeV10(serverVersion: "10.11.0-breakwater", connectionID: 42, scramble: scramble)
        XCTAssertEqual(try MySQLHandshakeV10(payload: greeting.encode()), greeting)
        let response = MySQLHandshakeResponse41(
            capabilities: .breakwaterDefault, username: "app",
            authResponse: MySQLAuthPlugin.nativePasswordResponse(password: "pw", scramble: scramble),
            database: "shop", authPluginName: MySQLAuthPlugin.nativePassword, attributes: ["_os": "Linux"])
        XCTAssertEqual(try MySQLHandshakeResponse41(payload: response.encode()), response)
    }

    func testNativePasswordVerifiesAgainstPlainAndHashedPasswords() {
        let scramble = MySQLAuthPlugin.makeScramble()
        let answer = MySQLAuthPlugin.nativePasswordResponse(password: "secret", scramble: scramble)
        // The well-known hash of "secret" as MySQL's PASSWORD() prints it.
        XCTAssertEqual(MySQLAuthPlugin.nativePasswordHash(password: "secret"), "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7")
        XCTAssertTrue(MySQLAuthPlugin.verifyNativePassword(response: answer, scramble: scramble, storedPassword: "secret"))
        XCTAssertTrue(MySQLAuthPlugin.verifyNativePassword(
            response: answer, scramble: scramble, storedPassword: "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"))
        XCTAssertFalse(MySQLAuthPlugin.verifyNativePassword(response: answer, scramble: scramble, storedPassword: "other"))
        let sha2 = MySQLAuthPlugin.cachingSHA2Response(password: "secret", scramble: scramble)
        XCTAssertTrue(MySQLAuthPlugin.verifyCachingSHA2(response: sha2, scramble: scramble, plainPassword: "secret"))
        XCTAssertFalse(MySQLAuthPlugin.verifyCachingSHA2(response: sha2, scramble: scramble, plainPassword: "nope"))
    }

    func testResultSetTrackerFollowsDeprecateEOFAndClassicEOF() throws {
        for caps: MySQLCapabilities in [[.protocol41], [.protocol41, .deprecateEOF]] {
            var tracker = MySQLResponseTracker(kind: .resultSet, capabilities: caps)
            var count = ByteBuffer()
            count.writeMySQLLengthEncodedInteger(2)
            var packets = [MySQLPacket(sequenceID: 1, payload: count)]
            packets.append(MySQLPacket(sequenceID: 2, payload: MySQLColumnDefinition(name: "a").encode()))
            packets.append(MySQLPacket(sequenceID: 3, payload: MySQLColumnDefinition(name: "b").encode()))
            if !caps.contains(.deprecateEOF) { packets.append(MySQLPacket(sequenceID: 4, payload: MySQLEOFPacket().encode())) }
            packets.append(MySQLPacket(sequenceID: 5, payload: MySQLTextRow.encode(["1", nil])))
            let end = caps.contains(.deprecateEOF)
                ? MySQLOKPacket(status: [.autocommit, .inTransaction]).encode(header: 0xfe)
                : MySQLEOFPacket(status: [.autocommit, .inTransaction]).encode()
            packets.append(MySQLPacket(sequenceID: 6, payload: end))
            var events: [MySQLResponseTracker.Event] = []
            for (i, p) in packets.enumerated() {
                let (event, done) = try tracker.packet(p)
                events.append(event)
                XCTAssertEqual(done, i == packets.count - 1)
            }
            XCTAssertEqual(events.last, .resultSetEnd([.autocommit, .inTransaction]))
            XCTAssertEqual(events.filter { $0 == .row }.count, 1)
        }
    }

    /// Random garbage through the decoder, the greeting and response parsers and the trackers:
    /// each either decodes or throws a `MySQLWireError`, never traps.
    func testFuzzedInputNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<3000 {
            let length = Int.random(in: 0..<200, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 3 == 0, bytes.count > 4 {
                // Plausible headers reach deeper into the parsers.
                bytes[0] = UInt8(bytes.count - 4); bytes[1] = 0; bytes[2] = 0
                bytes[4] = [0x00, 0x0a, 0xfe, 0xff, 0x01, 0x02][round % 6]
            }
            var input = ByteBuffer(bytes: bytes)
            var decoder = MySQLPacketDecoder(maxMessageSize: 1 << 20)
            do {
                while let p = try decoder.decodePacket(&input) {
                    _ = try? MySQLHandshakeV10(payload: p.payload)
                    _ = try? MySQLHandshakeResponse41(payload: p.payload)
                    _ = try? MySQLOKPacket(payload: p.payload, capabilities: .breakwaterDefault)
                    _ = try? MySQLErrorPacket(payload: p.payload)
                    _ = try? MySQLColumnDefinition(payload: p.payload)
                    _ = try? MySQLTextRow.decode(payload: p.payload, columnCount: 3)
                    _ = try? MySQLBinaryProtocol.decodeStringRow(payload: p.payload, columnCount: 3)
                    for kind: MySQLResponseTracker.Kind in [.resultSet, .prepare, .fieldList, .okOrError, .statistics] {
                        var tracker = MySQLResponseTracker(kind: kind, capabilities: .breakwaterDefault)
                        do { _ = try tracker.packet(p) } catch {}
                    }
                    var auth = MySQLClientAuthStateMachine(username: "u", password: "p", database: nil)
                    _ = auth.packet(p)
                    _ = auth.packet(p)
                }
            } catch let error as MySQLWireError {
                XCTAssertFalse(error.description.isEmpty)
            }
        }
    }

    /// Garbage from a "server" fails the client's connect with a readable error and closes the channel.
    func testClientHandlerFailsCleanlyOnGarbageGreeting() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: MySQLClientConnection.ServerInfo.self)
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(MySQLPacketDecoder()), MessageToByteHandler(MySQLPacketEncoder()))
        try channel.pipeline.syncOperations.addHandler(MySQLClientHandler(
            username: "u", password: "p", database: nil, handshakePromise: promise))
        var garbage = ByteBuffer()
        MySQLPacketEncoder.encode(MySQLPacket(sequenceID: 0, payload: ByteBuffer(bytes: [0x09, 1, 2, 3])), into: &garbage)
        try channel.writeInbound(garbage)
        var failure: Error?
        promise.futureResult.whenFailure { failure = $0 }
        channel.embeddedEventLoop.run()
        XCTAssertEqual(failure as? MySQLWireError, .unsupported("handshake protocol version 9 (only 10 is spoken)"))
        XCTAssertFalse(channel.isActive)
    }
}
