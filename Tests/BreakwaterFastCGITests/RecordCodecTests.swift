import BreakwaterFastCGI
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

/// The record codec (FastCGI 1.0 §3, §8): round trips, every split of the input, malformed input, fuzz.
@Suite struct RecordCodecTests {
    static func bytes(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

    static let samples: [FastCGIRecord] = [
        FastCGIRecord(requestID: 1, body: .beginRequest(role: .responder, keepConnection: true)),
        FastCGIRecord(requestID: 1, body: .beginRequest(role: .responder, keepConnection: false)),
        FastCGIRecord(requestID: 7, body: .abortRequest),
        FastCGIRecord(requestID: 1, body: .endRequest(appStatus: 0xDEAD_BEEF, protocolStatus: .requestComplete)),
        FastCGIRecord(requestID: 1, body: .endRequest(appStatus: 0, protocolStatus: .overloaded)),
        FastCGIRecord(requestID: 1, body: .params(bytes("\u{4}\u{3}HOSTabc"))),
        FastCGIRecord(requestID: 1, body: .params(ByteBuffer())),
        FastCGIRecord(requestID: 1, body: .stdin(bytes("hello world"))),
        FastCGIRecord(requestID: 1, body: .stdin(ByteBuffer())),
        FastCGIRecord(requestID: 1, body: .stdout(bytes("Status: 200\r\n\r\nbody"))),
        FastCGIRecord(requestID: 65535, body: .stderr(bytes("PHP Warning: x"))),
        FastCGIRecord(requestID: 2, body: .data(bytes("d"))),
        FastCGIRecord(requestID: 0, body: .getValues([FastCGINameValuePair("FCGI_MAX_REQS", ""), FastCGINameValuePair("FCGI_MPXS_CONNS", "")])),
        FastCGIRecord(requestID: 0, body: .getValuesResult([FastCGINameValuePair("FCGI_MAX_REQS", "250"), FastCGINameValuePair("FCGI_MPXS_CONNS", "0")])),
        FastCGIRecord(requestID: 0, body: .unknownType(42)),
    ]

    static func encode(_ records: [FastCGIRecord]) -> ByteBuffer {
        var b = ByteBuffer()
        for r in records { r.encode(into: &b) }
        return b
    }

    static func decodeAll(_ buffer: ByteBuffer) throws -> [FastCGIRecord] {
        var b = buffer
        var out: [FastCGIRecord] = []
        while let r = try FastCGIRecordDecoder.decodeRecord(from: &b) { out.append(r) }
        #expect(b.readableBytes == 0)
        return out
    }

    @Test func roundTripsEveryType() throws {
        for r in Self.samples {
            let encoded = Self.encode([r])
            #expect(encoded.readableBytes % 8 == 0, "padded to 8 bytes: \(r)")
            #expect(try Self.decodeAll(encoded) == [r])
        }
        #expect(try Self.decodeAll(Self.encode(Self.samples)) == Self.samples)
    }

    @Test func headerLayout() {
        let b = Self.encode([FastCGIRecord(requestID: 0x0102, body: .beginRequest(role: .responder, keepConnection: true))])
        #expect(Array(b.readableBytesView) == [1, 1, 1, 2, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
        let e = Self.encode([FastCGIRecord(requestID: 1, body: .stdin(ByteBuffer()))])
        #expect(Array(e.readableBytesView) == [1, 5, 0, 1, 0, 0, 0, 0])
    }

    @Test func longStreamsSplitAt65535() throws {
        let payload = ByteBuffer(bytes: (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let encoded = Self.encode([FastCGIRecord(requestID: 1, body: .stdout(payload))])
        let decoded = try Self.decodeAll(encoded)
        #expect(decoded.count == 4)
        var joined = ByteBuffer()
        for r in decoded {
            guard case .stdout(var b) = r.body else { Issue.record("type"); return }
            #expect(b.readableBytes <= 65535)
            joined.writeBuffer(&b)
        }
        #expect(joined == payload)
    }

    @Test func nameValuePairsWithOneAndFourByteLengths() throws {
        let longName = String(repeating: "N", count: 128)
        let longValue = String(repeating: "v", count: 70_000)
        let pairs = [
            FastCGINameValuePair("A", ""),
            FastCGINameValuePair(String(repeating: "x", count: 127), String(repeating: "y", count: 127)),
            FastCGINameValuePair(longName, "short"),
            FastCGINameValuePair("SHORT", longValue),
            FastCGINameValuePair(longName, longValue),
        ]
        var content = ByteBuffer()
        for p in pairs { FastCGIRecord.writePair(p, into: &content) }
        // 127 uses one byte; 128 uses four with the high bit set.
        var probe = ByteBuffer()
        FastCGIRecord.writePair(FastCGINameValuePair(longName, "v"), into: &probe)
        #expect(Array(probe.readableBytesView.prefix(5)) == [0x80, 0, 0, 128, 1])
        #expect(content.readableBytes == pairs.reduce(0) { $0 + $1.encodedLength })
        #expect(try FastCGIRecord.parsePairs(content) == pairs)
        // Through PARAMS records (pairs span records) and back.
        let records = try Self.decodeAll(Self.encode([FastCGIRecord(requestID: 1, body: .params(content))]))
        var joined = ByteBuffer()
        for r in records {
            guard case .params(var b) = r.body else { Issue.record("type"); return }
            joined.writeBuffer(&b)
        }
        #expect(try FastCGIRecord.parsePairs(joined) == pairs)
    }

    @Test func truncatedPairsAreAnError() {
        var b = ByteBuffer()
        FastCGIRecord.writePair(FastCGINameValuePair("NAME", "value"), into: &b)
        b.moveWriterIndex(to: b.writerIndex - 1)
        #expect(throws: FastCGIError.invalidNameValuePairs) { try FastCGIRecord.parsePairs(b) }
        #expect(throws: FastCGIError.invalidNameValuePairs) { try FastCGIRecord.parsePairs(ByteBuffer(bytes: [0x80, 0, 0])) }
    }

    @Test func verifierEverySplit() throws {
        let pairs = Self.samples.map { r -> (ByteBuffer, [FastCGIRecord]) in (Self.encode([r]), [r]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs + [(Self.encode(Self.samples), Self.samples)]) {
            FastCGIRecordDecoder()
        }
    }

    @Test func malformedHeadersAreTypedErrors() throws {
        func decode(_ bytes: [UInt8]) throws {
            var b = ByteBuffer(bytes: bytes)
            _ = try FastCGIRecordDecoder.decodeRecord(from: &b)
        }
        #expect(throws: FastCGIError.unsupportedVersion(2)) { try decode([2, 6, 0, 1, 0, 0, 0, 0]) }
        #expect(throws: FastCGIError.unknownRecordType(99)) { try decode([1, 99, 0, 1, 0, 0, 0, 0]) }
        #expect(throws: FastCGIError.invalidContentLength(type: 3, length: 4)) { try decode([1, 3, 0, 1, 0, 4, 0, 0]) }
        #expect(throws: FastCGIError.invalidContentLength(type: 2, length: 1)) { try decode([1, 2, 0, 1, 0, 1, 0, 0]) }
        #expect(throws: FastCGIError.invalidRequestID(type: 6, id: 0)) { try decode([1, 6, 0, 0, 0, 0, 0, 0]) }
        #expect(throws: FastCGIError.invalidRequestID(type: 9, id: 1)) { try decode([1, 9, 0, 1, 0, 0, 0, 0]) }
        #expect(throws: FastCGIError.invalidContentLength(type: 3, length: 8)) {
            try decode([1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0])  // protocol status 9
        }
        // Incomplete input is not an error, just not a record yet.
        var partial = ByteBuffer(bytes: [1, 6, 0, 1, 0, 5, 3, 0, 65, 66])
        #expect(try FastCGIRecordDecoder.decodeRecord(from: &partial) == nil)
    }

    @Test func decoderInAChannelReportsErrors() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FastCGIRecordDecoder()))
        #expect(throws: FastCGIError.unsupportedVersion(0)) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0]))
        }
        _ = try? channel.finish()
    }

    /// Random bytes and mutated valid streams never crash or hang; memory stays bounded by the record size.
    @Test func fuzz() {
        var rng = SplitMix64(seed: 0x5EED_FC61)
        let valid = Array(Self.encode(Self.samples).readableBytesView)
        for iteration in 0..<3000 {
            var input: [UInt8]
            if iteration % 2 == 0 {
                input = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                input = valid
                for _ in 0..<(1 + Int(rng.next() % 6)) {
                    let i = Int(rng.next() % UInt64(input.count))
                    switch rng.next() % 3 {
                    case 0: input[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: input.remove(at: i)
                    default: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                    }
                }
            }
            var buffer = ByteBuffer(bytes: input)
            var steps = 0
            while steps < input.count + 1 {
                steps += 1
                guard let record = try? FastCGIRecordDecoder.decodeRecord(from: &buffer) else { break }
                _ = record.body.type
                if case .params(let b) = record.body { _ = try? FastCGIRecord.parsePairs(b) }
            }
            #expect(steps <= input.count + 1)
        }
    }
}

/// Deterministic PRNG for the fuzz tests.
struct SplitMix64 {
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
