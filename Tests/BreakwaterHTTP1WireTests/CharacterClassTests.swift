@testable import BreakwaterHTTP1Wire
import Testing

/// The scanners' byte classes, held as bit sets, against their RFC 9110 definitions for every byte.
@Suite struct HTTP1CharacterClassTests {
    @Test func tokenIsTchar() {
        let specials = Set("!#$%&'*+-.^_`|~".utf8)
        for b in UInt8.min...UInt8.max {
            let alnum = (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
            #expect(HTTP1Bytes.isToken(b) == (alnum || specials.contains(b)), "byte \(b)")
        }
    }

    @Test func targetIsVisibleASCII() {
        for b in UInt8.min...UInt8.max {
            #expect(HTTP1Bytes.isTarget(b) == (0x21...0x7E).contains(b), "byte \(b)")
        }
    }

    @Test func fieldContentIsVCHARAndObsText() {
        for b in UInt8.min...UInt8.max {
            #expect(HTTP1Bytes.isFieldContent(b) == ((0x21...0x7E).contains(b) || b >= 0x80), "byte \(b)")
        }
    }
}
