import BreakwaterACL
import BreakwaterHTTP1Wire
import NIOHTTP1

/// `HeaderHygiene` on a received HTTP/1.1 head: the same scan, refusals and upstream edits as on a
/// NIOHTTP1 head, read from the field offsets and recorded as `HTTP1HeadEdits`, so the plain proxy
/// path builds no header strings (only the values of the few framing fields it reads).
extension HeaderHygiene {
    static func scan(wire head: HTTP1Head) -> Scan {
        var s = Scan()
        for field in head.fields {
            switch field.name.count {
            case 4 where head.nameEquals(field, lowercase: "host"): s.hostCount += 1
            case 17 where head.nameEquals(field, lowercase: "transfer-encoding"):
                s.transferEncoding.append(HTTP1FieldText.string(head.bytes[field.value]))
            case 14 where head.nameEquals(field, lowercase: "content-length"):
                s.contentLength.append(HTTP1FieldText.string(head.bytes[field.value]))
            case 6 where head.nameEquals(field, lowercase: "expect"): s.hasExpect = true
            default: if isHopByHop(field, in: head) { s.hasHopByHop = true }
            }
        }
        return s
    }

    /// `scan(wire:).hasHopByHop` alone, for a response head: its framing the parser has read and
    /// checked already, so no value strings (nor the arrays holding them) need building.
    static func hasHopByHop(wire head: HTTP1Head) -> Bool {
        for field in head.fields where isHopByHop(field, in: head) { return true }
        return false
    }

    @inline(__always)
    private static func isHopByHop(_ field: HTTP1Field, in head: HTTP1Head) -> Bool {
        switch field.name.count {
        case 10: return head.nameEquals(field, lowercase: "connection") || head.nameEquals(field, lowercase: "keep-alive")
        case 16: return head.nameEquals(field, lowercase: "proxy-connection")
        case 2: return head.nameEquals(field, lowercase: "te")
        case 7: return head.nameEquals(field, lowercase: "trailer") || head.nameEquals(field, lowercase: "upgrade")
        default: return false
        }
    }

    /// `validate` for a received head (its target holds visible ASCII only: the scanner refuses
    /// the rest).
    static func validate(wire head: HTTP1Head, _ scan: Scan) -> String? {
        if let reason = validateFraming(scan) { return reason }
        if head.versionMajor != 1 && head.versionMajor != 2 { return "unsupported version" }
        if head.versionMinor == 1 && scan.hostCount > 1 { return "several host headers" }
        return nil
    }

    /// `prepareForUpstream` as edits of the received head.
    static func prepareForUpstream(wire head: HTTP1Head, request: ProxyRequest, scan: Scan) {
        var edits = request.edits
        if scan.hasExpect {
            var expect = false
            for field in head.fields where head.nameEquals(field, lowercase: "expect") {
                if HTTP1FieldText.string(head.bytes[field.value]).lowercased() == "100-continue" { expect = true }
            }
            if expect {
                request.expectContinue = head.versionMinor >= 1
                edits.remove(name: "expect", in: head)
            }
        }
        if scan.hasHopByHop {
            removeHopByHop(head, &edits, keepingNamed: ["close", "keep-alive", "transfer-encoding", "content-length", "host"])
        }
        // Identical duplicate Content-Length values were accepted above; send one.
        let cl = scan.contentLength
        if cl.count > 1 || cl.first?.contains(",") == true, let first = cl.first {
            let v = String(trimOWS(first.split(separator: ",").first ?? ""))
            edits.replaceOrAdd(name: "content-length", value: v, in: head)
        }
        // The method goes as spelled; the version is HTTP/1.1 towards every server.
        if head.versionMajor != 1 || head.versionMinor != 1 { edits.version = (1, 1) }
        request.edits = edits
    }
}

extension HeaderHygiene {
    /// A server's hop-by-hop fields and those its `Connection` names, as `responseHead` strips
    /// them from a NIOHTTP1 head (framing fields stay: the encoder frames the body from them).
    static func removeHopByHop(_ head: HTTP1Head, _ edits: inout HTTP1HeadEdits) {
        removeHopByHop(head, &edits, keepingNamed: ["close", "keep-alive", "content-length", "transfer-encoding"])
    }

    /// Removes the hop-by-hop fields and every field a `Connection` token names, except tokens in
    /// `kept` (lower case), reading the tokens as bytes: the same fields as lower-casing each
    /// token and `HTTPHeaders.remove(name:)`, with no string unless a token has non-ASCII bytes.
    static func removeHopByHop(_ head: HTTP1Head, _ edits: inout HTTP1HeadEdits, keepingNamed kept: [StaticString]) {
        for (i, field) in head.fields.enumerated() where isHopByHop(head, field) { edits.remove(field: i) }
        let bytes = head.bytes
        for field in head.fields where head.nameEquals(field, lowercase: "connection") {
            var start = field.value.lowerBound
            while start <= field.value.upperBound {
                var end = start
                while end < field.value.upperBound && bytes[end] != UInt8(ascii: ",") { end += 1 }
                var token = start..<end
                while let f = token.first, bytes[f] == 0x20 || bytes[f] == 0x09 { token = (f + 1)..<token.upperBound }
                while let l = token.last, bytes[l] == 0x20 || bytes[l] == 0x09 { token = token.lowerBound..<l }
                start = end + 1
                if token.isEmpty || kept.contains(where: { head.bytes(token, equalLowercase: $0) }) { continue }
                if bytes[token].contains(where: { $0 >= 0x80 }) {
                    // Unicode lower-casing may map such a token onto an ASCII name: keep NIOHTTP1's reading.
                    let name = HTTP1FieldText.string(bytes[token]).lowercased()
                    if !kept.contains(where: { name == $0.description }) { edits.remove(name: name, in: head) }
                    continue
                }
                edits.remove(nameBytes: token, in: head)
            }
        }
    }

    /// `hopByHop` on a field name, without a string.
    private static func isHopByHop(_ head: HTTP1Head, _ field: HTTP1Field) -> Bool {
        switch field.name.count {
        case 10: return head.nameEquals(field, lowercase: "connection") || head.nameEquals(field, lowercase: "keep-alive")
        case 16: return head.nameEquals(field, lowercase: "proxy-connection")
        case 2: return head.nameEquals(field, lowercase: "te")
        case 7: return head.nameEquals(field, lowercase: "trailer") || head.nameEquals(field, lowercase: "upgrade")
        default: return false
        }
    }
}
