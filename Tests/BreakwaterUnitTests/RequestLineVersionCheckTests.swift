@testable import BreakwaterHTTP
import NIOCore
import Testing

/// The request-line version check (issue 9 #13: `GET /v` gets 400 at once) at every split point.
@Suite struct RequestLineVersionCheckTests {
    /// Feeds `text` in two reads split at `split`; returns false if either read was refused.
    func verdict(_ text: String, split: Int) -> Bool {
        var check = RequestLineVersionCheck(scanning: true)
        let bytes = Array(text.utf8)
        for part in [bytes[..<split], bytes[split...]] where check.scanning {
            let buffer = ByteBuffer(bytes: part)
            if !check.feed(buffer.readableBytesView) { return false }
        }
        return true
    }

    @Test(arguments: ["GET /v HTTP/1.1\r\nHost: x\r\n\r\n", "\r\nGET / HTTP/1.0\r\n\r\n", "M-SEARCH * HTTP/1.1\r\n",
                      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET /partial"])
    func accepted(_ text: String) {
        for split in 0...text.utf8.count { #expect(verdict(text, split: split), "split \(split)") }
    }

    @Test(arguments: ["GET /v\r\n", "GET /v\n", "\r\n\r\nGET\r\n", "GET\r\n\r\n"])
    func refused(_ text: String) {
        for split in 0...text.utf8.count { #expect(!verdict(text, split: split), "split \(split)") }
    }
}
