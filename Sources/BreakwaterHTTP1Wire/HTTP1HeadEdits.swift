/// The changes a proxy makes to a received head before forwarding it, kept beside the head's
/// bytes instead of rebuilding the head: removed fields are skipped when the head is written,
/// added fields go after the kept ones (before the empty line), and the start line is rewritten
/// only when its version changes. The same operations as NIOHTTP1's `HTTPHeaders` `remove`,
/// `add` and `replaceOrAdd`, with the same resulting order, so both paths forward the same bytes.
public struct HTTP1HeadEdits: Sendable, Equatable {
    public struct AddedField: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// Indices into the head's `fields` not forwarded (few: hop-by-hop, `Expect`, framing): a bit
    /// per field for the first 64, so removing costs no allocation.
    private var removedLow: UInt64 = 0
    private var removedHigh: [Int] = []
    /// Fields written after the kept ones, in order.
    public private(set) var added: [AddedField] = []
    /// The version the start line is written with, when it differs from the received one.
    public var version: (major: Int, minor: Int)? {
        get { versionMajor.map { ($0, versionMinor) } }
        set {
            versionMajor = newValue?.major
            versionMinor = newValue?.minor ?? 0
        }
    }
    private var versionMajor: Int?
    private var versionMinor = 0

    public init() {}

    public var isEmpty: Bool { removedLow == 0 && removedHigh.isEmpty && added.isEmpty && versionMajor == nil }

    /// The removed field indices, ascending.
    public var removed: [Int] {
        (0..<64).filter { removedLow & (1 << UInt64($0)) != 0 } + removedHigh.sorted()
    }

    @inline(__always)
    public func isRemoved(_ field: Int) -> Bool {
        field < 64 ? removedLow & (1 << UInt64(field)) != 0 : removedHigh.contains(field)
    }

    /// Drops one received field.
    public mutating func remove(field: Int) {
        if field < 64 {
            removedLow |= 1 << UInt64(field)
        } else if !removedHigh.contains(field) {
            removedHigh.append(field)
        }
    }

    /// Drops every field named `name` (ASCII case ignored), received or added.
    public mutating func remove(name: String, in head: HTTP1Head) {
        for (i, field) in head.fields.enumerated() where head.nameEquals(field, name) { remove(field: i) }
        added.removeAll { HTTP1HeadEdits.equalsIgnoringCase($0.name, name) }
    }

    public mutating func add(name: String, value: String) {
        added.append(AddedField(name: name, value: value))
    }

    /// `HTTPHeaders.replaceOrAdd`: every field of that name goes, one new one is appended.
    public mutating func replaceOrAdd(name: String, value: String, in head: HTTP1Head) {
        remove(name: name, in: head)
        add(name: name, value: value)
    }

    /// Drops every received field whose name equals `head.bytes[name]`, ASCII case ignored.
    public mutating func remove(nameBytes name: Range<Int>, in head: HTTP1Head) {
        for (i, field) in head.fields.enumerated() where field.name.count == name.count {
            var same = true
            var a = field.name.lowerBound
            for b in name {
                if HTTP1Bytes.lower(head.bytes[a]) != HTTP1Bytes.lower(head.bytes[b]) { same = false; break }
                a += 1
            }
            if same { remove(field: i) }
        }
    }

    /// Whether a field named `name` is forwarded (received and kept, or added).
    public func contains(name: String, in head: HTTP1Head) -> Bool {
        for (i, field) in head.fields.enumerated() where !isRemoved(i) && head.nameEquals(field, name) { return true }
        return added.contains { HTTP1HeadEdits.equalsIgnoringCase($0.name, name) }
    }

    public static func == (a: HTTP1HeadEdits, b: HTTP1HeadEdits) -> Bool {
        a.removedLow == b.removedLow && a.removedHigh.sorted() == b.removedHigh.sorted() && a.added == b.added && a.versionMajor == b.versionMajor && a.versionMinor == b.versionMinor
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { HTTP1Bytes.lower($0) == HTTP1Bytes.lower($1) }
    }
}

extension HTTP1Head {
    /// The field's name equals `name`, ASCII case ignored.
    public func nameEquals(_ field: HTTP1Field, _ name: String) -> Bool {
        let n = name.utf8
        guard field.name.count == n.count else { return false }
        var i = field.name.lowerBound
        for c in n {
            if HTTP1Bytes.lower(bytes[i]) != HTTP1Bytes.lower(c) { return false }
            i += 1
        }
        return true
    }

    /// The field's name, lower-cased, equals `lowercase` (which is compared as it is).
    public func nameIsLowercased(_ field: HTTP1Field, _ lowercase: String) -> Bool {
        let n = lowercase.utf8
        guard field.name.count == n.count else { return false }
        var i = field.name.lowerBound
        for c in n {
            if HTTP1Bytes.lower(bytes[i]) != c { return false }
            i += 1
        }
        return true
    }

    /// `bytes[range]` equals the lower-case `literal`, ASCII case ignored.
    public func bytes(_ range: Range<Int>, equalLowercase literal: StaticString) -> Bool {
        HTTP1Bytes.equalsLowercase(bytes, range, literal)
    }

    /// `nameEquals` against a lower-case literal, without building a `String`.
    public func nameEquals(_ field: HTTP1Field, lowercase literal: StaticString) -> Bool {
        HTTP1Bytes.equalsLowercase(bytes, field.name, literal)
    }

    /// The start line is `METHOD SP target SP HTTP/x.y CRLF` (or `HTTP/x.y SP code SP reason
    /// CRLF`) exactly, so it can be copied as it is: no bare LF ending.
    public var startLineIsCanonical: Bool {
        startLine.count >= 2 && bytes[startLine.upperBound - 2] == HTTP1Bytes.cr
    }

    /// The field line is `name: value CRLF` exactly (one space, no trailing whitespace), so it is
    /// what the NIOHTTP1-shaped encoders would write for it and can be copied as it is.
    public func lineIsCanonical(_ field: HTTP1Field) -> Bool {
        let b = field.name.upperBound
        return field.value.lowerBound == b + 2 && bytes[b] == HTTP1Bytes.colon && bytes[b + 1] == HTTP1Bytes.sp
            && field.line.upperBound == field.value.upperBound + 2 && bytes[field.value.upperBound] == HTTP1Bytes.cr
            && field.line.lowerBound == field.name.lowerBound
    }

    /// The method equals `literal` byte for byte (methods are case-sensitive).
    public func methodIs(_ literal: StaticString) -> Bool {
        guard method.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { lit in
            var i = method.lowerBound
            for c in lit {
                if bytes[i] != c { return false }
                i += 1
            }
            return true
        }
    }
}
