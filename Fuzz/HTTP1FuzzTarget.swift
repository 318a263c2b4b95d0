// libFuzzer entry over the HTTP/1 request and response scanners (BreakwaterHTTP1Wire).
// Built by scripts/fuzz-http1.sh together with Sources/BreakwaterHTTP1Wire/*.swift as one module,
// so the normal `swift build` never sees it.
//
// Input layout: byte 0 picks the kind (bit 0: response, bit 1: the response answers a HEAD) and
// byte 1 a split point; the rest is the wire. Invariants checked (a violation traps):
// - no event consumes more than it was given, and `needMore` takes everything;
// - a head's bytes are exactly the bytes taken for it (minus leading empty lines of requests);
// - the same bytes split in two reads give the same heads, payload, ends and error as one read;
// - with every chunked body's framing kept (`keepChunkFraming()`), the same heads, ends, error and,
//   when no error, the same wire bytes, each body reported whole as it came.

struct FuzzTranscript: Equatable {
    var heads: [[UInt8]] = []
    var wire: [UInt8] = []
    var payload: [UInt8] = []
    var ends = 0
    var error: HTTP1ParseError?
}

func fuzzScan(_ chunks: [ArraySlice<UInt8>], kind: HTTP1Head.Kind, toHEAD: Bool, keepFraming: Bool = false) -> FuzzTranscript {
    var scanner = HTTP1MessageScanner(kind: kind, limits: HTTP1Limits(maxHeadBytes: 4096, maxFieldCount: 32))
    scanner.expectResponse(toHEAD: toHEAD)
    var t = FuzzTranscript()
    // Bytes taken while a head was incomplete: with leading empty lines removed they must be the head.
    var pendingHead: [UInt8] = []
    for chunk in chunks where t.error == nil {
        chunk.withUnsafeBytes { raw in
            var offset = 0
            while true {
                let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                let (event, consumed) = scanner.next(rest)
                precondition(consumed >= 0 && consumed <= rest.count, "consumed out of range")
                let taken = rest[..<consumed]
                offset += consumed
                switch event {
                case .needMore:
                    precondition(offset == raw.count, "needMore left input")
                    pendingHead += taken
                    return
                case .head(let head):
                    pendingHead += taken
                    let start = pendingHead.firstIndex { $0 != 0x0D && $0 != 0x0A } ?? pendingHead.endIndex
                    precondition(Array(pendingHead[start...]) == head.bytes, "head bytes are not the bytes taken")
                    pendingHead = []
                    precondition(head.bytes.count <= 4096, "head over its limit")
                    for f in head.fields { precondition(f.name.upperBound <= f.value.lowerBound && f.value.upperBound <= f.line.upperBound) }
                    t.heads.append(head.bytes)
                    t.wire += head.bytes
                    if keepFraming { _ = scanner.keepChunkFraming() }
                case .body:
                    t.wire += taken
                    t.payload += taken
                case .framing:
                    t.wire += taken
                case .end:
                    t.wire += taken
                    t.ends += 1
                case .error(let e):
                    t.error = e
                    return
                }
            }
        }
    }
    if t.error == nil, let e = scanner.inputClosed() {
        if case .end = e { t.ends += 1 } else if case .error(let err) = e { t.error = err }
    }
    return t
}

@_cdecl("LLVMFuzzerTestOneInput")
public func http1FuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let all = Array(UnsafeBufferPointer(start: data, count: size))
    let kind: HTTP1Head.Kind = all[0] & 1 == 0 ? .request : .response
    let toHEAD = all[0] & 2 != 0
    let wire = all[2...]
    let whole = fuzzScan([wire], kind: kind, toHEAD: toHEAD)
    let cut = wire.startIndex + Int(all[1]) % (wire.count + 1)
    let split = fuzzScan([wire[..<cut], wire[cut...]], kind: kind, toHEAD: toHEAD)
    // Framing bytes taken before an error depend on where reads end (one read fails before
    // reporting them); everything else must not.
    precondition(split.error == whole.error && split.heads == whole.heads && split.ends == whole.ends
                 && split.payload == whole.payload, "split at \(cut - wire.startIndex) changed the result")
    if whole.error == nil { precondition(split.wire == whole.wire, "split changed the wire bytes") }
    let kept = fuzzScan([wire[..<cut], wire[cut...]], kind: kind, toHEAD: toHEAD, keepFraming: true)
    precondition(kept.error == whole.error && kept.heads == whole.heads && kept.ends == whole.ends,
                 "keeping chunk framing changed the result")
    if whole.error == nil { precondition(kept.wire == whole.wire, "keeping chunk framing changed the wire bytes") }
    return 0
}
