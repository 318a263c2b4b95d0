import BreakwaterConfigModel
@testable import BreakwaterTLS
import Foundation
import Testing

@Suite(.serialized) struct HandshakeTests {
    @Test func sClientHandshakeAndResumptionAcrossTwoServersSharingAKeyFile() async throws {
        let dir = try makeTempDir("hs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let keys = dir.appendingPathComponent("tickets.key")
        _ = try keyFile(at: keys)
        let config = TLSBindConfig(certificates: [pem], alpn: ["h2", "http/1.1"], ticketKeysFile: keys.path)
        let a = try await TinyTLSServer(context: TLSServerContext(config: config, ticketRing: TicketKeyRing(loading: keys.path, id: 0)))
        let b = try await TinyTLSServer(context: TLSServerContext(config: config, ticketRing: TicketKeyRing(loading: keys.path, id: 0)))
        defer { Task { await a.stop(); await b.stop() } }
        let sess = dir.appendingPathComponent("sess").path
        let first = try await sClient(port: a.port, args: ["-tls1_3", "-alpn", "http/1.1,h2", "-servername", "a.test", "-sess_out", sess])
        #expect(first.contains("New, TLSv1.3"))
        #expect(first.contains("proto=TLSv1.3 alpn=h2 sni=a.test resumed=0"))
        let second = try await sClient(port: b.port, args: ["-tls1_3", "-sess_in", sess])
        #expect(isReused(second), "\(second)")
        #expect(second.contains("resumed=1"))
    }
}
