import BreakwaterHTTP1Wire
import Foundation
import Testing

/// Replays every checked-in fuzz corpus input (Fuzz/corpus/http1, layout in Fuzz/HTTP1FuzzTarget.swift)
/// through the scanners at every split point: no trap, and the invariants the fuzz target checks.
@Suite struct HTTP1FuzzCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/corpus/http1").standardizedFileURL

    @Test func corpusIsPresent() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
        #expect(files.count >= 20, "corpus at \(Self.corpus.path) has \(files.count) inputs")
    }

    @Test func everyInputAtEverySplit() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        var accepted = 0
        var refused = 0
        for name in files {
            let data = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            guard data.count >= 2 else { continue }
            let kind: HTTP1Head.Kind = data[0] & 1 == 0 ? .request : .response
            let toHEAD = data[0] & 2 != 0
            let wire = Array(data[2...])
            let whole = ScanTranscript.scan([wire], kind: kind, responseToHEAD: toHEAD, closeAtEnd: true)
            if whole.failure == nil { accepted += 1 } else { refused += 1 }
            for chunks in ScanTranscript.splits(wire) {
                let split = ScanTranscript.scan(chunks, kind: kind, responseToHEAD: toHEAD, closeAtEnd: true)
                #expect(split.failure == whole.failure, "\(name): error at a split \(split) vs \(whole)")
                #expect(split.messages.map(\.head) == whole.messages.map(\.head), "\(name): heads at a split")
                #expect(split.messages.map(\.payload) == whole.messages.map(\.payload), "\(name): payload at a split")
                if whole.failure == nil { #expect(split == whole, "\(name): \(split) vs \(whole)") }
            }
            for m in whole.messages {
                for f in m.head.fields {
                    #expect(f.name.upperBound < f.value.lowerBound + 1 && f.value.upperBound <= f.line.upperBound, "\(name): field offsets")
                    #expect(m.head.bytes[f.name.upperBound] == UInt8(ascii: ":"), "\(name): a name ends at its colon")
                }
            }
        }
        // The corpus exercises both outcomes.
        #expect(accepted >= 10 && refused >= 8, "accepted \(accepted), refused \(refused)")
    }
}
