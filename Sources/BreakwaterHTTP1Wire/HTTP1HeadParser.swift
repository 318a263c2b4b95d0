/// A byte-level, resumable parser for one HTTP/1.x request or response head.
///
/// It walks the bytes once, keeping them in the head's own array and recording offsets of the
/// start line parts and of every field; only the framing headers are interpreted (see
/// `HTTP1Framing`). Input may arrive split at any byte: the state survives between calls.
/// Strictness follows HAProxy 2.6 where it refuses, plus the refusals the proxy has always made
/// (CL+TE, obs-fold, controls in values: see `HTTP1ParseError`).
public struct HTTP1HeadParser: Sendable {
    public enum Step: Sendable, Equatable {
        /// Every input byte was taken; the head is not complete yet.
        case needMore
        /// The head is complete after `consumed` bytes of this input; the rest is body or the next message.
        case head(HTTP1Head, consumed: Int)
        case error(HTTP1ParseError)
    }

    private enum State: UInt8, Sendable {
        case leadingEmpty, leadingLF
        case method, afterMethod, target, afterTarget
        case version, afterVersion, startLineLF
        case statusSpace, status, afterStatus, reason
        case lineStart, name, valueOWS, value, valueLF, endLF
    }

    public let kind: HTTP1Head.Kind
    public let limits: HTTP1Limits
    private var state: State
    private var head: HTTP1Head
    private var tokenStart = 0
    private var valueEnd = 0
    private var counter = 0
    private var number = 0
    private var lineStart = 0
    private var failed: HTTP1ParseError?
    private var transferEncoding = TransferEncodingScan()
    /// The previous head's arrays (`HTTP1MessageScanner`), taken over by the first byte of this one.
    var spareBytes: [UInt8]
    var spareFields: [HTTP1Field]

    public init(kind: HTTP1Head.Kind, limits: HTTP1Limits = HTTP1Limits()) {
        self.init(kind: kind, limits: limits, reusing: [], [])
    }

    /// A parser whose head reuses the storage of `bytes` and `fields` (a previous head's): once that
    /// head is released they are uniquely referenced and keep their capacity, so a head of a
    /// connection that parses one after another costs no array allocation.
    init(kind: HTTP1Head.Kind, limits: HTTP1Limits, reusing bytes: [UInt8], _ fields: [HTTP1Field]) {
        self.kind = kind
        self.limits = limits
        self.state = kind == .request ? .leadingEmpty : .version
        self.head = HTTP1Head(kind: kind, bytes: [])
        self.spareBytes = bytes
        self.spareFields = fields
    }

    /// True once some byte of a start line (not just leading empty lines) has been taken.
    /// (Between calls every taken byte is in `head.bytes`.)
    public var hasStarted: Bool { !head.bytes.isEmpty }

    public mutating func parse(_ input: UnsafeRawBufferPointer) -> Step {
        if let failed { return .error(failed) }
        var i = 0
        let n = input.count
        let base = head.bytes.count
        var skipped = 0
        // Input before this index is already in `head.bytes` (or was a skipped empty line).
        var flushFrom = 0
        while i < n {
            let b = input[i]
            let at = base + i - skipped
            switch state {
            case .leadingEmpty:
                // RFC 9112 §2.2: empty lines before a request line are ignored.
                if b == HTTP1Bytes.cr { state = .leadingLF; skipped += 1; flushFrom = i + 1 }
                else if b == HTTP1Bytes.lf { skipped += 1; flushFrom = i + 1 }
                else if HTTP1Bytes.isToken(b) { state = .method; tokenStart = at }
                else { return fail(.invalidMethod) }
            case .leadingLF:
                guard b == HTTP1Bytes.lf else { return fail(.bareCR) }
                skipped += 1
                flushFrom = i + 1
                state = .leadingEmpty
            case .method:
                if HTTP1Bytes.isToken(b) { break }
                guard HTTP1Bytes.isOWS(b) else {
                    return fail(b == HTTP1Bytes.cr || b == HTTP1Bytes.lf ? .invalidStartLine : .invalidMethod)
                }
                head.method = tokenStart..<at
                state = .afterMethod
            case .afterMethod:
                if HTTP1Bytes.isOWS(b) { break }
                guard HTTP1Bytes.isTarget(b) else {
                    return fail(b == HTTP1Bytes.cr || b == HTTP1Bytes.lf ? .invalidStartLine : .invalidTarget)
                }
                tokenStart = at
                state = .target
            case .target:
                if HTTP1Bytes.isTarget(b) { break }
                if b == HTTP1Bytes.cr || b == HTTP1Bytes.lf { return fail(.invalidVersion) }  // HTTP/0.9 line
                guard HTTP1Bytes.isOWS(b) else { return fail(.invalidTarget) }
                head.target = tokenStart..<at
                state = .afterTarget
            case .afterTarget:
                if HTTP1Bytes.isOWS(b) { break }
                tokenStart = at
                counter = 0
                state = .version
                if let e = versionByte(b) { return fail(e) }
            case .version:
                if counter == 0 && kind == .response { tokenStart = at }
                if let e = versionByte(b) { return fail(e) }
                if counter == 8 {
                    if kind == .request { state = .afterVersion } else { state = .statusSpace }
                }
            case .afterVersion:
                if b == HTTP1Bytes.cr { state = .startLineLF }
                else if b == HTTP1Bytes.lf { endStartLine(at) }
                else { return fail(.invalidVersion) }
            case .startLineLF:
                guard b == HTTP1Bytes.lf else { return fail(.bareCR) }
                endStartLine(at)
            case .statusSpace:
                guard b == HTTP1Bytes.sp else { return fail(.invalidVersion) }
                state = .status
                counter = 0
                number = 0
            case .status:
                guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return fail(.invalidStatus) }
                number = number * 10 + Int(b - UInt8(ascii: "0"))
                counter += 1
                if counter == 3 {
                    head.status = number
                    head.reason = (at + 1)..<(at + 1)
                    state = .afterStatus
                }
            case .afterStatus:
                if b == HTTP1Bytes.sp { tokenStart = at + 1; head.reason = tokenStart..<tokenStart; state = .reason }
                else if b == HTTP1Bytes.cr { state = .startLineLF }
                else if b == HTTP1Bytes.lf { endStartLine(at) }
                else { return fail(.invalidStatus) }
            case .reason:
                if b == HTTP1Bytes.cr { head.reason = tokenStart..<at; state = .startLineLF }
                else if b == HTTP1Bytes.lf { head.reason = tokenStart..<at; endStartLine(at) }
                else if !(HTTP1Bytes.isFieldContent(b) || HTTP1Bytes.isOWS(b)) { return fail(.invalidStartLine) }
            case .lineStart:
                if b == HTTP1Bytes.cr { state = .endLF }
                else if b == HTTP1Bytes.lf {
                    return finish(input, consumed: i + 1, from: flushFrom)
                } else if HTTP1Bytes.isOWS(b) { return fail(.obsFold) }
                else if HTTP1Bytes.isToken(b) { tokenStart = at; state = .name }
                else { return fail(.invalidHeaderName) }
            case .name:
                if HTTP1Bytes.isToken(b) { break }
                if b == HTTP1Bytes.colon {
                    // The first field comes before the first `flush`: reserve here, or the array
                    // is allocated for one field and again for sixteen.
                    if head.fields.capacity == 0 { head.fields = Self.recycled(&spareFields, minimumCapacity: 16) }
                    head.fields.append(HTTP1Field(name: tokenStart..<at, value: (at + 1)..<(at + 1), line: lineStart..<lineStart))
                    if head.fields.count > limits.maxFieldCount { return fail(.tooManyFields) }
                    state = .valueOWS
                } else if HTTP1Bytes.isOWS(b) { return fail(.whitespaceBeforeColon) }
                else { return fail(.invalidHeaderName) }
            case .valueOWS:
                if HTTP1Bytes.isOWS(b) { break }
                if b == HTTP1Bytes.cr { setValue(at..<at); state = .valueLF }
                else if b == HTTP1Bytes.lf { setValue(at..<at); flush(input, &flushFrom, to: i + 1); if let e = endField(at) { return fail(e) } }
                else if HTTP1Bytes.isFieldContent(b) { tokenStart = at; valueEnd = at + 1; state = .value }
                else { return fail(.invalidHeaderValue) }
            case .value:
                if HTTP1Bytes.isFieldContent(b) || HTTP1Bytes.isOWS(b) {
                    if HTTP1Bytes.isFieldContent(b) { valueEnd = at + 1 }
                    // The rest of the value in a tight loop (most of a head's bytes), up to the
                    // last byte the head limit lets the outer loop accept.
                    let last = min(n, limits.maxHeadBytes - base + skipped) - 1
                    while i < last {
                        let c = input[i + 1]
                        if HTTP1Bytes.isFieldContent(c) { valueEnd = base + i + 2 - skipped }
                        else if !HTTP1Bytes.isOWS(c) { break }
                        i += 1
                    }
                }
                else if b == HTTP1Bytes.cr { setValue(tokenStart..<valueEnd); state = .valueLF }
                else if b == HTTP1Bytes.lf { setValue(tokenStart..<valueEnd); flush(input, &flushFrom, to: i + 1); if let e = endField(at) { return fail(e) } }
                else { return fail(.invalidHeaderValue) }
            case .valueLF:
                guard b == HTTP1Bytes.lf else { return fail(.bareCR) }
                flush(input, &flushFrom, to: i + 1); if let e = endField(at) { return fail(e) }
            case .endLF:
                guard b == HTTP1Bytes.lf else { return fail(.bareCR) }
                return finish(input, consumed: i + 1, from: flushFrom)
            }
            i += 1
            if base + i - skipped > limits.maxHeadBytes {
                return fail(state.rawValue < State.lineStart.rawValue ? .startLineTooLong : .headTooLarge)
            }
        }
        flush(input, &flushFrom, to: n)
        return .needMore
    }

    // MARK: - Steps

    private mutating func fail(_ error: HTTP1ParseError) -> Step {
        failed = error
        return .error(error)
    }

    /// Moves `input[from..<end]` into the head, so field offsets are readable before the call ends.
    private mutating func flush(_ input: UnsafeRawBufferPointer, _ from: inout Int, to end: Int) {
        guard end > from else { return }
        if head.bytes.isEmpty {
            // One allocation for a head of up to 2 KB that arrives in one read (the common case),
            // not a few growing ones; and room for a typical field count.
            head.bytes = Self.recycled(&spareBytes, minimumCapacity: min(input.count - from, 2048))
            if head.fields.capacity == 0 { head.fields = Self.recycled(&spareFields, minimumCapacity: 16) }
        }
        head.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[from..<end]))
        from = end
    }

    /// `spare` emptied, with room for `minimumCapacity`; no allocation if it is unique and large
    /// enough, else the one a fresh array would cost (a shared one is copied on write, never reused).
    private static func recycled<Element>(_ spare: inout [Element], minimumCapacity: Int) -> [Element] {
        var array = spare
        spare = []
        if array.capacity > 0 { array.removeAll(keepingCapacity: true) }
        if array.capacity < minimumCapacity { array.reserveCapacity(minimumCapacity) }
        return array
    }

    private mutating func finish(_ input: UnsafeRawBufferPointer, consumed: Int, from: Int) -> Step {
        var from = from
        flush(input, &from, to: consumed)
        if let e = transferEncoding.verdict(kind: kind) { return fail(e) }
        head.framing.chunked = transferEncoding.chunked
        head.framing.codingBeforeChunked = transferEncoding.otherCoding
        if head.framing.chunked && head.framing.contentLength != nil { return fail(.contentLengthWithTransferEncoding) }
        let done = head
        head = HTTP1Head(kind: kind, bytes: [])
        failed = .invalidStartLine  // one head per parser
        return .head(done, consumed: consumed)
    }

    private mutating func versionByte(_ b: UInt8) -> HTTP1ParseError? {
        let expected: UInt8
        switch counter {
        case 0: expected = UInt8(ascii: "H")
        case 1, 2: expected = UInt8(ascii: "T")
        case 3: expected = UInt8(ascii: "P")
        case 4: expected = UInt8(ascii: "/")
        case 5, 7:
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return .invalidVersion }
            if counter == 5 { head.versionMajor = Int(b - UInt8(ascii: "0")) } else { head.versionMinor = Int(b - UInt8(ascii: "0")) }
            counter += 1
            return nil
        case 6: expected = UInt8(ascii: ".")
        default: return .invalidVersion
        }
        guard b == expected else { return .invalidVersion }
        counter += 1
        return nil
    }

    private mutating func endStartLine(_ lfAt: Int) {
        head.startLine = 0..<(lfAt + 1)
        lineStart = lfAt + 1
        state = .lineStart
    }

    private mutating func setValue(_ range: Range<Int>) {
        head.fields[head.fields.count - 1].value = range
    }

    /// A field line ended at the LF at `lfAt`: record it and read it if it is a framing header.
    private mutating func endField(_ lfAt: Int) -> HTTP1ParseError? {
        let index = head.fields.count - 1
        head.fields[index].line = lineStart..<(lfAt + 1)
        lineStart = lfAt + 1
        state = .lineStart
        return interpret(index)
    }

    // MARK: - Framing headers

    private mutating func interpret(_ index: Int) -> HTTP1ParseError? {
        let field = head.fields[index]
        let bytes = head.bytes
        switch field.name.count {
        case 4 where HTTP1Bytes.equalsLowercase(bytes, field.name, "host"):
            guard kind == .request else { return nil }
            if head.framing.hostField != nil { return .duplicateHost }
            head.framing.hostField = index
        case 6 where HTTP1Bytes.equalsLowercase(bytes, field.name, "expect"):
            if HTTP1Bytes.equalsLowercase(bytes, field.value, "100-continue") { head.framing.expectContinue = true }
        case 7 where HTTP1Bytes.equalsLowercase(bytes, field.name, "upgrade"):
            head.framing.hasUpgrade = true
        case 10 where HTTP1Bytes.equalsLowercase(bytes, field.name, "connection"):
            head.framing.addConnectionField(index)
            HTTP1ListScan.forEachElement(bytes, field.value) { token in
                if HTTP1Bytes.equalsLowercase(bytes, token, "close") { head.framing.connectionClose = true }
                else if HTTP1Bytes.equalsLowercase(bytes, token, "keep-alive") { head.framing.connectionKeepAlive = true }
                else if HTTP1Bytes.equalsLowercase(bytes, token, "upgrade") { head.framing.connectionUpgrade = true }
                return true
            }
        case 14 where HTTP1Bytes.equalsLowercase(bytes, field.name, "content-length"):
            return contentLength(field.value)
        case 17 where HTTP1Bytes.equalsLowercase(bytes, field.name, "transfer-encoding"):
            HTTP1ListScan.forEachElement(bytes, field.value) { token in
                transferEncoding.add(isChunked: HTTP1Bytes.equalsLowercase(bytes, token, "chunked"))
                return true
            }
            transferEncoding.present = true
        default:
            break
        }
        return nil
    }

    /// `Content-Length: 5`, or a list of identical values (`5, 5`), possibly over several fields:
    /// merged as HAProxy does; different values or anything but digits are refused.
    private mutating func contentLength(_ value: Range<Int>) -> HTTP1ParseError? {
        var sawElement = false
        var error: HTTP1ParseError?
        let bytes = head.bytes
        HTTP1ListScan.forEachElement(bytes, value, keepEmpty: true) { element in
            guard !element.isEmpty else { error = .invalidContentLength; return false }
            var n = 0
            for i in element {
                let d = bytes[i]
                guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { error = .invalidContentLength; return false }
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int(d - UInt8(ascii: "0")))
                guard !o1 && !o2 else { error = .invalidContentLength; return false }
                n = s
            }
            if let existing = head.framing.contentLength, existing != n { error = .conflictingContentLength; return false }
            head.framing.contentLength = n
            sawElement = true
            return true
        }
        if let error { return error }
        return sawElement ? nil : .invalidContentLength
    }
}

/// Tracks the codings of every `Transfer-Encoding` field of a head.
struct TransferEncodingScan: Sendable {
    var present = false
    var chunked = false
    var codingAfterChunked = false
    var chunkedTwice = false
    var otherCoding = false

    mutating func add(isChunked: Bool) {
        if chunked { if isChunked { chunkedTwice = true } else { codingAfterChunked = true } }
        if isChunked { chunked = true } else { otherCoding = true }
    }

    func verdict(kind: HTTP1Head.Kind) -> HTTP1ParseError? {
        guard present else { return nil }
        if !chunked || codingAfterChunked || chunkedTwice { return .invalidTransferEncoding }
        return nil
    }
}

/// Splits a comma-separated field value (RFC 9110 §5.6.1) into trimmed element ranges.
enum HTTP1ListScan {
    /// Hands the elements to `body` in order, without building an array (no heap allocation per
    /// framing header); `body` returns false to stop.
    @inline(__always)
    static func forEachElement(_ bytes: [UInt8], _ range: Range<Int>, keepEmpty: Bool = false,
                               _ body: (Range<Int>) -> Bool) {
        var start = range.lowerBound
        var i = range.lowerBound
        while i <= range.upperBound {
            if i == range.upperBound || bytes[i] == UInt8(ascii: ",") {
                var lo = start
                var hi = i
                while lo < hi && HTTP1Bytes.isOWS(bytes[lo]) { lo += 1 }
                while hi > lo && HTTP1Bytes.isOWS(bytes[hi - 1]) { hi -= 1 }
                if lo < hi || keepEmpty, !body(lo..<hi) { return }
                start = i + 1
            }
            i += 1
        }
    }
}
