import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import BreakwaterRESP

/// The RESP2 decoder: every split of valid input decodes the same (ByteToMessageDecoderVerifier), and garbage is a
/// protocol error, never a crash or a hang.
@Suite struct RESPDecoderTests {
    @Test func everySplitDecodesTheSame() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: [
            ("+OK\r\n", [.simpleString("OK")]),
            ("-NOSCRIPT No matching script\r\n", [.error("NOSCRIPT No matching script")]),
            (":1\r\n:-42\r\n", [.integer(1), .integer(-42)]),
            ("$5\r\nhe\r\no\r\n$0\r\n\r\n$-1\r\n", [.bulkString(Array("he\r\no".utf8)), .bulkString([]), .bulkString(nil)]),
            ("*3\r\n$2\r\nts\r\n:7\r\n*1\r\n+x\r\n*-1\r\n*0\r\n", [
                .array([.bulkString(Array("ts".utf8)), .integer(7), .array([.simpleString("x")])]), .array(nil), .array([]),
            ]),
        ], decoderFactory: { RESPDecoder() })
    }

    @Test func malformedInputIsAProtocolError() {
        for bad in ["?x\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "$-2\r\n", "*-5\r\n", "+OK\rX", "$99999999999\r\n"] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder(maxBulkBytes: 1 << 20)))
            #expect(throws: (any Error).self, "\(bad.debugDescription)") {
                try channel.writeInbound(ByteBuffer(string: bad))
            }
            _ = try? channel.finish()
        }
    }

    /// Deterministic pseudo-random garbage and mutations of valid replies, fed in random splits: each run ends in
    /// values or an error, and the decoder never reads past its bounds (a trap would fail the test run).
    @Test func fuzzGarbageAndMutations() {
        var rng = SplitMix(seed: 12)
        var errored = 0, decoded = 0
        let seeds = ["*2\r\n$2\r\nts\r\n:1\r\n", "+OK\r\n", "$3\r\nabc\r\n", "-ERR x\r\n", "*1\r\n*1\r\n:5\r\n"]
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = Array(seeds[Int(rng.next() % UInt64(seeds.count))].utf8)
                for _ in 0..<(1 + rng.next() % 3) where !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder(maxBulkBytes: 1024, maxArrayCount: 64, maxDepth: 4)))
            var pos = 0
            var failed = false
            while pos < bytes.count, !failed {
                let n = 1 + Int(rng.next() % 7)
                let chunk = bytes[pos..<min(bytes.count, pos + n)]
                pos += chunk.count
                do { try channel.writeInbound(ByteBuffer(bytes: chunk)) } catch { failed = true }
            }
            if failed { errored += 1 }
            while let _: RESPValue = try? channel.readInbound() { decoded += 1 }
            _ = try? channel.finish()
        }
        // Both outcomes occur: mutations keep some replies valid, garbage is refused.
        #expect(errored > 100)
        #expect(decoded > 100)
    }

    @Test func commandEncoding() {
        var b = ByteBufferAllocator().buffer(capacity: 64)
        RESPValue.writeCommand(["HGET", "sensor:p", "ts"], into: &b)
        #expect(String(buffer: b) == "*3\r\n$4\r\nHGET\r\n$8\r\nsensor:p\r\n$2\r\nts\r\n")
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
