import Foundation
import Testing
@testable import BreakwaterTLS

private func secret(_ text: String) -> SecretBytes {
    var t = text
    return t.withUTF8 { SecretBytes(copying: UnsafeRawBufferPointer($0)) }
}

private func b64(_ size: Int, fill: UInt8) -> String { Data(repeating: fill, count: size).base64EncodedString() }

@Suite struct TicketKeyFileTests {
    @Test(arguments: [48, 80])
    func keepsTheLastThreeLinesAsPreviousCurrentNext(size: Int) throws {
        let lines = (1...5).map { b64(size, fill: UInt8($0)) }
        let keys = try TicketKeyRing.parseKeyFile(secret(lines.joined(separator: "\n") + "\n"), path: "f")
        #expect(keys.map { $0.base64() } == Array(lines.suffix(3)))
    }

    @Test func crlfLineEndingsAndNoFinalNewline() throws {
        let lines = (1...3).map { b64(48, fill: UInt8($0)) }
        let keys = try TicketKeyRing.parseKeyFile(secret(lines.joined(separator: "\r\n")), path: "f")
        #expect(keys.map { $0.base64() } == lines)
    }

    @Test func errorsCiteTheLine() {
        let good = b64(48, fill: 7)
        func error(_ text: String) -> TicketKeyError? {
            do { _ = try TicketKeyRing.parseKeyFile(secret(text), path: "k"); return nil } catch { return error }
        }
        #expect(error("\(good)\n@@@@\n\(good)\n") == .badBase64(path: "k", line: 2))
        #expect(error("\(good)\n\(good)\n\(b64(80, fill: 1))\n") == .wrongSize(path: "k", line: 3))
        #expect(error("\(b64(32, fill: 1))\n\(good)\n\(good)\n") == .wrongSize(path: "k", line: 1))
        #expect(error("\(good)\n\n\(good)\n\(good)\n") == .wrongSize(path: "k", line: 2))
        #expect(error("\(good)\n\(good)\n") == .tooFewKeys(path: "k"))
        #expect(error("") == .tooFewKeys(path: "k"))
        #expect(error("\(good) \n\(good)\n\(good)\n") == .badBase64(path: "k", line: 1))
        #expect(TicketKeyError.wrongSize(path: "k", line: 3).description == "'k' : wrong sized key on line 3")
        #expect(TicketKeyError.tooFewKeys(path: "k").description == "'k' : please supply at least 3 keys in the tls-tickets-file")
        #expect(TicketKeyError.badBase64(path: "k", line: 2).description == "'k' : unable to decode base64 key on line 2")
    }

    @Test func unreadableFile() {
        #expect(throws: TicketKeyError.unreadable(path: "/nonexistent/k")) { try TicketKeyRing.readKeyFile("/nonexistent/k") }
    }

    @Test func base64RoundTripAndStrictness() {
        for n in 0..<10 {
            let bytes = (0..<n).map { UInt8($0 * 37 & 0xFF) }
            let text = Data(bytes).base64EncodedString()
            let decoded = Base64.decodeSecret(text)
            #expect(decoded?.withUnsafeBytes { Array($0) } == bytes)
            #expect(bytes.withUnsafeBytes { Base64.encode($0) } == text)
        }
        #expect(Base64.decodeSecret("AAA") == nil)
        #expect(Base64.decodeSecret("A=AA") == nil)
        #expect(Base64.decodeSecret("AA-_") == nil)
        #expect(Base64.decodeSecret("====") == nil)
    }
}

@Suite struct TicketKeyRingSemanticsTests {
    func ring(_ fills: [UInt8], size: Int = 48, id: Int = 0) throws -> TicketKeyRing {
        let text = fills.map { b64(size, fill: $0) }.joined(separator: "\n")
        return TicketKeyRing(path: "/run/t.key", id: id, keys: try TicketKeyRing.parseKeyFile(secret(text), path: "t"))
    }

    func slots(_ r: TicketKeyRing) -> [String] { (0..<3).map { r.key(slot: $0).base64() } }

    /// TLS-7: before A B C; set D → B C D (A discarded); the injected key encrypts one rotation later.
    @Test func rotationAdvancesTheRingByOneStep() throws {
        let r = try ring([0xA, 0xB, 0xC])
        #expect(slots(r) == [b64(48, fill: 0xA), b64(48, fill: 0xB), b64(48, fill: 0xC)])
        try r.rotate(Base64.decodeSecret(b64(48, fill: 0xD))!)
        #expect(slots(r) == [b64(48, fill: 0xB), b64(48, fill: 0xC), b64(48, fill: 0xD)])
        try r.rotate(Base64.decodeSecret(b64(48, fill: 0xE))!)
        try r.rotate(Base64.decodeSecret(b64(48, fill: 0xF))!)
        #expect(slots(r) == [b64(48, fill: 0xD), b64(48, fill: 0xE), b64(48, fill: 0xF)])
    }

    @Test func wrongSizedKeyIsRefusedAndChangesNothing() throws {
        let r = try ring([1, 2, 3], size: 80)
        let before = slots(r)
        #expect(throws: TicketKeyRing.RotateError.wrongSize) { try r.rotate(Base64.decodeSecret(b64(48, fill: 9))!) }
        #expect(slots(r) == before)
    }

    /// CLI-9: ids in reverse order of first appearance; CLI-10 messages.
    @Test func registryNumberingAndCLIText() throws {
        let dir = try makeTempDir("reg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.key"), b = dir.appendingPathComponent("b.key")
        let la = try keyFile(at: a), lb = try keyFile(at: b, size: 80)
        let reg = try TicketKeyRegistry.load(paths: [a.path, b.path, a.path])
        #expect(reg.show([]) == "# id (file)\n0 (\(b.path))\n1 (\(a.path))\n")
        #expect(reg.show(["#1"]) == "# id secret\n# 1 (\(a.path))\n1.0 \(la[0])\n1.1 \(la[1])\n1.2 \(la[2])\n")
        #expect(reg.show([b.path]).hasPrefix("# id secret\n# 0 (\(b.path))\n0.0 \(lb[0])\n"))
        #expect(reg.show(["1"]) == "'show tls-keys' unable to locate referenced filename\n")
        #expect(reg.show(["*"]).components(separatedBy: "\n").count == 1 + 4 + 4 + 1)
        #expect(reg.set(["#1"]) == "'set ssl tls-key' expects a filename and the new TLS key in base64 encoding.\n")
        #expect(reg.set(["#7", la[0]]) == "'set ssl tls-key' unable to locate referenced filename\n")
        #expect(reg.set([a.path + "/", la[0]]) == "'set ssl tls-key' unable to locate referenced filename\n")
        #expect(reg.set(["#1", "***"]) == "'set ssl tls-key' received invalid base64 encoded TLS key.\n")
        #expect(reg.set(["#1", lb[0]]) == "'set ssl tls-key' received a key of wrong size.\n")
        let new = b64(48, fill: 0x42)
        #expect(reg.set([a.path, new]) == "TLS ticket key updated!\n")
        #expect(reg.show(["#1"]) == "# id secret\n# 1 (\(a.path))\n1.0 \(la[1])\n1.1 \(la[2])\n1.2 \(new)\n")
    }

    @Test func secretsDoNotPrintTheirBytes() throws {
        let s = Base64.decodeSecret(b64(48, fill: 0x41))!
        #expect("\(s)" == "SecretBytes(48 bytes)")
        #expect(!String(describing: s).contains("QUFB"))
    }

    /// The ring is shared by every event loop: concurrent rotations and reads stay consistent.
    @Test func concurrentRotationAndReads() async throws {
        let r = try ring([1, 2, 3])
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<500 {
                        if t == 0 { try? r.rotate(Base64.decodeSecret(b64(48, fill: UInt8(i & 0xFF)))!) }
                        let k = r.key(slot: i % 3)
                        #expect(k.withUnsafeBytes { bytes in bytes.allSatisfy { $0 == bytes[0] } })
                    }
                }
            }
        }
    }
}
