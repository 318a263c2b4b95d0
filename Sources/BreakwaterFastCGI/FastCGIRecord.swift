import NIOCore

/// FastCGI 1.0 record types (FastCGI specification §8).
public enum FastCGIRecordType: UInt8, Sendable, Equatable, CaseIterable {
    case beginRequest = 1
    case abortRequest = 2
    case endRequest = 3
    case params = 4
    case stdin = 5
    case stdout = 6
    case stderr = 7
    case data = 8
    case getValues = 9
    case getValuesResult = 10
    case unknownType = 11
}

/// `FCGI_*` role of a BEGIN_REQUEST.
public enum FastCGIRole: UInt16, Sendable, Equatable {
    case responder = 1
    case authorizer = 2
    case filter = 3
}

/// `protocolStatus` of an END_REQUEST.
public enum FastCGIProtocolStatus: UInt8, Sendable, Equatable {
    case requestComplete = 0
    case cantMultiplexConnection = 1
    case overloaded = 2
    case unknownRole = 3
}

/// One name-value pair (PARAMS, GET_VALUES, GET_VALUES_RESULT). Names and values are bytes: a
/// percent-decoded path need not be UTF-8.
public struct FastCGINameValuePair: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var name: [UInt8]
    public var value: [UInt8]

    public init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, _ value: String) {
        self.name = Array(name.utf8)
        self.value = Array(value.utf8)
    }

    public var nameString: String { String(decoding: name, as: UTF8.self) }
    public var valueString: String { String(decoding: value, as: UTF8.self) }
    public var description: String { "\(nameString)=\(valueString)" }

    /// Bytes this pair takes in a PARAMS stream.
    public var encodedLength: Int {
        (name.count > 127 ? 4 : 1) + (value.count > 127 ? 4 : 1) + name.count + value.count
    }
}

/// Errors of the FastCGI client: the proxy answers 502 (`PH--`) for protocol errors, 500 (`IH--`)
/// for `invalidRequestPath`.
public enum FastCGIError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedVersion(UInt8)
    case unknownRecordType(UInt8)
    /// A record whose content length does not fit its type (BEGIN/END_REQUEST must be 8 bytes …).
    case invalidContentLength(type: UInt8, length: Int)
    /// A management record (GET_VALUES…) with a non-zero request id, or an application record with id 0.
    case invalidRequestID(type: UInt8, id: UInt16)
    /// A name-value pair stream that is truncated or whose lengths are out of range.
    case invalidNameValuePairs
    /// A record the client did not expect (wrong request id, STDOUT after END_REQUEST …).
    case unexpectedRecord(type: UInt8, id: UInt16)
    /// The application's CGI response headers are invalid or too large.
    case invalidResponseHeaders(String)
    /// END_REQUEST with a protocol status other than REQUEST_COMPLETE.
    case requestRejected(FastCGIProtocolStatus)
    /// END_REQUEST before a complete CGI header block.
    case truncatedResponse
    /// The request path cannot be mapped to a script (FCGI-7): the proxy answers 500 `IH--`.
    case invalidRequestPath(String)
    /// A request body of unknown length (chunked) larger than the buffering limit.
    case requestBodyTooLarge

    public var description: String {
        switch self {
        case .unsupportedVersion(let v): return "FastCGI: unsupported record version \(v)"
        case .unknownRecordType(let t): return "FastCGI: unknown record type \(t)"
        case .invalidContentLength(let t, let l): return "FastCGI: record type \(t) with invalid content length \(l)"
        case .invalidRequestID(let t, let id): return "FastCGI: record type \(t) with invalid request id \(id)"
        case .invalidNameValuePairs: return "FastCGI: malformed name-value pairs"
        case .unexpectedRecord(let t, let id): return "FastCGI: unexpected record type \(t) for request \(id)"
        case .invalidResponseHeaders(let why): return "FastCGI: invalid CGI response headers: \(why)"
        case .requestRejected(let s): return "FastCGI: application rejected the request (\(s))"
        case .truncatedResponse: return "FastCGI: response ended before its headers were complete"
        case .invalidRequestPath(let why): return "FastCGI: cannot map the request path: \(why)"
        case .requestBodyTooLarge: return "FastCGI: request body of unknown length too large to buffer"
        }
    }
}

/// One FastCGI record with its content already interpreted per type.
public struct FastCGIRecord: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case beginRequest(role: FastCGIRole, keepConnection: Bool)
        case abortRequest
        case endRequest(appStatus: UInt32, protocolStatus: FastCGIProtocolStatus)
        /// A chunk of the PARAMS stream; pairs may span records, so this stays raw. Empty = end of stream.
        case params(ByteBuffer)
        case stdin(ByteBuffer)
        case stdout(ByteBuffer)
        case stderr(ByteBuffer)
        case data(ByteBuffer)
        case getValues([FastCGINameValuePair])
        case getValuesResult([FastCGINameValuePair])
        case unknownType(UInt8)

        public var type: FastCGIRecordType {
            switch self {
            case .beginRequest: return .beginRequest
            case .abortRequest: return .abortRequest
            case .endRequest: return .endRequest
            case .params: return .params
            case .stdin: return .stdin
            case .stdout: return .stdout
            case .stderr: return .stderr
            case .data: return .data
            case .getValues: return .getValues
            case .getValuesResult: return .getValuesResult
            case .unknownType: return .unknownType
            }
        }
    }

    public static let version: UInt8 = 1
    public static let headerLength = 8
    public static let maxContentLength = 65535
    public static let keepConnectionFlag: UInt8 = 1

    public var requestID: UInt16
    public var body: Body

    public init(requestID: UInt16, body: Body) {
        self.requestID = requestID
        self.body = body
    }
}

// MARK: - Encoding

extension FastCGIRecord {
    /// Writes the 8-byte record header.
    @inlinable
    public static func writeHeader(type: FastCGIRecordType, requestID: UInt16, contentLength: Int, paddingLength: Int = 0,
                                   into buffer: inout ByteBuffer) {
        precondition(contentLength <= maxContentLength && paddingLength <= 255)
        buffer.writeInteger(version)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(requestID)
        buffer.writeInteger(UInt16(contentLength))
        buffer.writeInteger(UInt8(paddingLength))
        buffer.writeInteger(UInt8(0))
    }

    /// Appends this record (split into several records of the same type when its content is longer
    /// than 65535 bytes) to `buffer`, padded to a multiple of 8 bytes.
    public func encode(into buffer: inout ByteBuffer) {
        switch body {
        case .beginRequest(let role, let keep):
            Self.writeHeader(type: .beginRequest, requestID: requestID, contentLength: 8, into: &buffer)
            buffer.writeInteger(role.rawValue)
            buffer.writeInteger(keep ? Self.keepConnectionFlag : 0)
            buffer.writeRepeatingByte(0, count: 5)
        case .abortRequest:
            Self.writeHeader(type: .abortRequest, requestID: requestID, contentLength: 0, into: &buffer)
        case .endRequest(let appStatus, let protocolStatus):
            Self.writeHeader(type: .endRequest, requestID: requestID, contentLength: 8, into: &buffer)
            buffer.writeInteger(appStatus)
            buffer.writeInteger(protocolStatus.rawValue)
            buffer.writeRepeatingByte(0, count: 3)
        case .params(let b): Self.encodeStream(.params, requestID: requestID, content: b, into: &buffer)
        case .stdin(let b): Self.encodeStream(.stdin, requestID: requestID, content: b, into: &buffer)
        case .stdout(let b): Self.encodeStream(.stdout, requestID: requestID, content: b, into: &buffer)
        case .stderr(let b): Self.encodeStream(.stderr, requestID: requestID, content: b, into: &buffer)
        case .data(let b): Self.encodeStream(.data, requestID: requestID, content: b, into: &buffer)
        case .getValues(let pairs), .getValuesResult(let pairs):
            var content = ByteBuffer()
            for p in pairs { Self.writePair(p, into: &content) }
            Self.encodeStream(body.type, requestID: requestID, content: content, into: &buffer)
        case .unknownType(let t):
            Self.writeHeader(type: .unknownType, requestID: requestID, contentLength: 8, into: &buffer)
            buffer.writeInteger(t)
            buffer.writeRepeatingByte(0, count: 7)
        }
    }

    /// Stream content as records of at most 65535 bytes (one empty record for empty content).
    static func encodeStream(_ type: FastCGIRecordType, requestID: UInt16, content: ByteBuffer, into buffer: inout ByteBuffer) {
        var content = content
        repeat {
            let n = min(content.readableBytes, maxContentLength)
            let padding = (8 - n % 8) % 8
            writeHeader(type: type, requestID: requestID, contentLength: n, paddingLength: padding, into: &buffer)
            var slice = content.readSlice(length: n)!
            buffer.writeBuffer(&slice)
            buffer.writeRepeatingByte(0, count: padding)
        } while content.readableBytes > 0
    }

    /// A name-value pair with 1-byte lengths up to 127 and 4-byte lengths (high bit set) above.
    public static func writePair(_ pair: FastCGINameValuePair, into buffer: inout ByteBuffer) {
        writeLength(pair.name.count, into: &buffer)
        writeLength(pair.value.count, into: &buffer)
        buffer.writeBytes(pair.name)
        buffer.writeBytes(pair.value)
    }

    @inline(__always)
    static func writeLength(_ n: Int, into buffer: inout ByteBuffer) {
        if n <= 127 {
            buffer.writeInteger(UInt8(n))
        } else {
            buffer.writeInteger(UInt32(n) | 0x8000_0000)
        }
    }

    /// Parses a complete name-value pair stream (PARAMS after reassembly, GET_VALUES…).
    public static func parsePairs(_ buffer: ByteBuffer) throws(FastCGIError) -> [FastCGINameValuePair] {
        var b = buffer
        var out: [FastCGINameValuePair] = []
        while b.readableBytes > 0 {
            guard let nl = readLength(&b), let vl = readLength(&b),
                  let name = b.readBytes(length: nl), let value = b.readBytes(length: vl) else {
                throw .invalidNameValuePairs
            }
            out.append(FastCGINameValuePair(name: name, value: value))
        }
        return out
    }

    static func readLength(_ b: inout ByteBuffer) -> Int? {
        guard let first = b.getInteger(at: b.readerIndex, as: UInt8.self) else { return nil }
        if first & 0x80 == 0 {
            b.moveReaderIndex(forwardBy: 1)
            return Int(first)
        }
        guard let four = b.readInteger(as: UInt32.self) else { return nil }
        return Int(four & 0x7FFF_FFFF)
    }
}

/// Encodes outbound records (used by tests and simple clients; the client handler writes records
/// itself to avoid copying STDIN bodies).
public struct FastCGIRecordEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = FastCGIRecord
    public init() {}
    public func encode(data: FastCGIRecord, out: inout ByteBuffer) throws {
        data.encode(into: &out)
    }
}

// MARK: - Decoding

/// Decodes FastCGI records. Memory is bounded: a record is at most 8 + 65535 + 255 bytes, and
/// nothing is kept across records. Malformed input throws a `FastCGIError`.
public struct FastCGIRecordDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = FastCGIRecord

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let record = try Self.decodeRecord(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(record))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial record at EOF is left for the handler to notice (the connection closed early).
        try decode(context: context, buffer: &buffer)
    }

    /// Reads one record if complete; throws on malformed headers or content.
    public static func decodeRecord(from buffer: inout ByteBuffer) throws(FastCGIError) -> FastCGIRecord? {
        let start = buffer.readerIndex
        guard let version = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        guard version == FastCGIRecord.version else { throw .unsupportedVersion(version) }
        guard buffer.readableBytes >= FastCGIRecord.headerLength,
              let rawType = buffer.getInteger(at: start + 1, as: UInt8.self),
              let requestID = buffer.getInteger(at: start + 2, as: UInt16.self),
              let contentLength = buffer.getInteger(at: start + 4, as: UInt16.self),
              let paddingLength = buffer.getInteger(at: start + 6, as: UInt8.self) else { return nil }
        guard let type = FastCGIRecordType(rawValue: rawType) else { throw .unknownRecordType(rawType) }
        let length = Int(contentLength)
        // Validate what the header alone allows before waiting for the content.
        switch type {
        case .beginRequest, .endRequest, .unknownType:
            guard length == 8 else { throw .invalidContentLength(type: rawType, length: length) }
        case .abortRequest:
            guard length == 0 else { throw .invalidContentLength(type: rawType, length: length) }
        default: break
        }
        switch type {
        case .getValues, .getValuesResult, .unknownType:
            guard requestID == 0 else { throw .invalidRequestID(type: rawType, id: requestID) }
        default:
            guard requestID != 0 else { throw .invalidRequestID(type: rawType, id: requestID) }
        }
        let total = FastCGIRecord.headerLength + length + Int(paddingLength)
        guard buffer.readableBytes >= total else { return nil }
        buffer.moveReaderIndex(forwardBy: FastCGIRecord.headerLength)
        var content = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: Int(paddingLength))
        let body: FastCGIRecord.Body
        switch type {
        case .beginRequest:
            let roleRaw = content.readInteger(as: UInt16.self)!
            let flags = content.readInteger(as: UInt8.self)!
            guard let role = FastCGIRole(rawValue: roleRaw) else { throw .invalidContentLength(type: rawType, length: length) }
            body = .beginRequest(role: role, keepConnection: flags & FastCGIRecord.keepConnectionFlag != 0)
        case .abortRequest:
            body = .abortRequest
        case .endRequest:
            let app = content.readInteger(as: UInt32.self)!
            let raw = content.readInteger(as: UInt8.self)!
            guard let status = FastCGIProtocolStatus(rawValue: raw) else { throw .invalidContentLength(type: rawType, length: length) }
            body = .endRequest(appStatus: app, protocolStatus: status)
        case .params: body = .params(content)
        case .stdin: body = .stdin(content)
        case .stdout: body = .stdout(content)
        case .stderr: body = .stderr(content)
        case .data: body = .data(content)
        case .getValues: body = .getValues(try FastCGIRecord.parsePairs(content))
        case .getValuesResult: body = .getValuesResult(try FastCGIRecord.parsePairs(content))
        case .unknownType: body = .unknownType(content.readInteger(as: UInt8.self)!)
        }
        return FastCGIRecord(requestID: requestID, body: body)
    }
}
