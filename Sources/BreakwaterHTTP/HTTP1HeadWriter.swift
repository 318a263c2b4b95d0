import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

/// Writes a received head onwards as its own bytes plus `HTTP1HeadEdits`: runs of field lines
/// already in `name: value CRLF` form are copied in one go, removed fields are skipped, a line in
/// another form (no space after the colon, trailing whitespace, bare LF) is written the way the
/// NIOHTTP1-shaped encoders write it, and added fields come last. The output is byte for byte what
/// those encoders write for the same head materialised and edited through `HTTPHeaders`.
enum HTTP1HeadWriter {
    /// `METHOD SP target SP HTTP/x.y CRLF`: copied unless the version changes or the line has
    /// extra whitespace or a bare LF.
    static func writeRequestLine(_ head: HTTP1Head, version: (major: Int, minor: Int)?, to buffer: inout ByteBuffer) {
        let v = version ?? (head.versionMajor, head.versionMinor)
        let bytes = head.bytes
        let canonical = head.startLine.count == head.method.count + head.target.count + 12
            && bytes[head.method.upperBound] == UInt8(ascii: " ") && bytes[head.target.upperBound] == UInt8(ascii: " ")
            && bytes[head.startLine.upperBound - 2] == UInt8(ascii: "\r")
        if canonical && v.major == head.versionMajor && v.minor == head.versionMinor {
            buffer.writeBytes(bytes[head.startLine])
            return
        }
        buffer.writeBytes(bytes[head.method])
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeBytes(bytes[head.target])
        buffer.writeStaticString(" HTTP/")
        writeVersion(v, to: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// `HTTP/x.y SP code SP reason CRLF` with NIOHTTP1's reason phrase for the codes it knows
    /// (what `HTTPResponseStatus(statusCode:reasonPhrase:)` keeps), the server's for the others.
    static func writeStatusLine(_ head: HTTP1Head, version: (major: Int, minor: Int), to buffer: inout ByteBuffer) {
        let bytes = head.bytes
        let status = HTTPResponseStatus(statusCode: head.status)
        let known: Bool
        if case .custom = status { known = false } else { known = true }
        let canonical = head.startLine.count == 13 + head.reason.count + 2 && head.reason.lowerBound == 13
            && bytes[head.startLine.upperBound - 2] == UInt8(ascii: "\r") && bytes[3 + 9] == UInt8(ascii: " ")
            && bytes[9] != UInt8(ascii: "0")
        let reasonMatches = !known || reasonEquals(bytes[head.reason], status.reasonPhrase)
        if canonical && reasonMatches && version.major == head.versionMajor && version.minor == head.versionMinor {
            buffer.writeBytes(bytes[head.startLine])
            return
        }
        buffer.writeStaticString("HTTP/")
        writeVersion(version, to: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(String(head.status))
        buffer.writeInteger(UInt8(ascii: " "))
        if known { buffer.writeString(status.reasonPhrase) } else { buffer.writeBytes(bytes[head.reason]) }
        buffer.writeStaticString("\r\n")
    }

    /// The kept field lines, the added ones, and the empty line ending the head.
    static func writeFields(_ head: HTTP1Head, _ edits: HTTP1HeadEdits, to buffer: inout ByteBuffer) {
        let bytes = head.bytes
        var run = 0..<0
        for (i, field) in head.fields.enumerated() {
            if edits.isRemoved(i) { continue }
            if head.lineIsCanonical(field) {
                if run.upperBound == field.line.lowerBound && !run.isEmpty {
                    run = run.lowerBound..<field.line.upperBound
                } else {
                    if !run.isEmpty { buffer.writeBytes(bytes[run]) }
                    run = field.line
                }
                continue
            }
            if !run.isEmpty { buffer.writeBytes(bytes[run]) }
            run = 0..<0
            buffer.writeBytes(bytes[field.name])
            buffer.writeStaticString(": ")
            buffer.writeBytes(bytes[field.value])
            buffer.writeStaticString("\r\n")
        }
        if !run.isEmpty { buffer.writeBytes(bytes[run]) }
        for field in edits.added {
            HTTP1RequestEncoder.writeText(field.name, to: &buffer)
            buffer.writeStaticString(": ")
            HTTP1RequestEncoder.writeText(field.value, to: &buffer)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    private static func writeVersion(_ v: (major: Int, minor: Int), to buffer: inout ByteBuffer) {
        if (0...9).contains(v.major) && (0...9).contains(v.minor) {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(v.major))
            buffer.writeInteger(UInt8(ascii: "."))
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(v.minor))
        } else {
            buffer.writeString("\(v.major).\(v.minor)")
        }
    }

    private static func reasonEquals(_ bytes: ArraySlice<UInt8>, _ text: String) -> Bool {
        bytes.elementsEqual(text.utf8)
    }
}
