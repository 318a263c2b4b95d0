import NIOCore

/// Decodes RESP2 replies. Bounded: bulk strings up to `maxBulkBytes`, arrays up to `maxArrayCount` elements and
/// `maxDepth` levels; anything else is a `RESPProtocolError`. Parses from the reader index without consuming until
/// a whole value is present, so every split of the input decodes the same.
public struct RESPDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    public var maxBulkBytes: Int
    public var maxArrayCount: Int
    public var maxDepth: Int

    public init(maxBulkBytes: Int = 64 << 20, maxArrayCount: Int = 1 << 20, maxDepth: Int = 16) {
        self.maxBulkBytes = maxBulkBytes
        self.maxArrayCount = maxArrayCount
        self.maxDepth = maxDepth
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let (value, end) = try parse(buffer, at: buffer.readerIndex, depth: 0) else { return .needMoreData }
        buffer.moveReaderIndex(to: end)
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 && seenEOF {
            throw RESPProtocolError(description: "the connection closed inside a RESP reply (\(buffer.readableBytes) bytes left)")
        }
        return .needMoreData
    }

    /// The value at `index` and the index after it, nil if incomplete.
    func parse(_ buffer: ByteBuffer, at index: Int, depth: Int) throws -> (RESPValue, Int)? {
        guard depth <= maxDepth else { throw RESPProtocolError(description: "RESP arrays nested deeper than \(maxDepth)") }
        guard let type = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        guard let (line, afterLine) = try readLine(buffer, at: index + 1) else { return nil }
        switch type {
        case UInt8(ascii: "+"): return (.simpleString(String(decoding: line, as: UTF8.self)), afterLine)
        case UInt8(ascii: "-"): return (.error(String(decoding: line, as: UTF8.self)), afterLine)
        case UInt8(ascii: ":"): return (.integer(try integer(line)), afterLine)
        case UInt8(ascii: "$"):
            let n = try integer(line)
            if n == -1 { return (.bulkString(nil), afterLine) }
            guard n >= 0, n <= maxBulkBytes else { throw RESPProtocolError(description: "RESP bulk string length \(n) outside 0...\(maxBulkBytes)") }
            guard buffer.writerIndex - afterLine >= Int(n) + 2 else { return nil }
            let bytes = buffer.getBytes(at: afterLine, length: Int(n))!
            guard buffer.getInteger(at: afterLine + Int(n), as: UInt16.self) == 0x0D0A else {
                throw RESPProtocolError(description: "RESP bulk string not followed by CRLF")
            }
            return (.bulkString(bytes), afterLine + Int(n) + 2)
        case UInt8(ascii: "*"):
            let n = try integer(line)
            if n == -1 { return (.array(nil), afterLine) }
            guard n >= 0, n <= maxArrayCount else { throw RESPProtocolError(description: "RESP array length \(n) outside 0...\(maxArrayCount)") }
            var items: [RESPValue] = []
            var pos = afterLine
            for _ in 0..<n {
                guard let (v, next) = try parse(buffer, at: pos, depth: depth + 1) else { return nil }
                items.append(v)
                pos = next
            }
            return (.array(items), pos)
        default:
            throw RESPProtocolError(description: "unknown RESP type byte 0x\(String(type, radix: 16))")
        }
    }

    /// The bytes up to CRLF (at most 64 KiB of line), and the index after the CRLF.
    private func readLine(_ buffer: ByteBuffer, at index: Int) throws -> ([UInt8], Int)? {
        let view = buffer.readableBytesView
        let start = index - buffer.readerIndex
        guard start <= view.count else { return nil }
        let region = view.dropFirst(start)
        guard let cr = region.firstIndex(of: 0x0D) else {
            if region.count > 65536 { throw RESPProtocolError(description: "RESP line longer than 64 KiB") }
            return nil
        }
        let next = view.index(after: cr)
        guard next < view.endIndex else { return nil }
        guard view[next] == 0x0A else { throw RESPProtocolError(description: "RESP line with CR not followed by LF") }
        return (Array(view[region.startIndex..<cr]), buffer.readerIndex + (next - view.startIndex) + 1)
    }

    private func integer(_ line: [UInt8]) throws -> Int64 {
        guard let v = Int64(String(decoding: line, as: UTF8.self)) else {
            throw RESPProtocolError(description: "RESP integer '\(String(decoding: line.prefix(32), as: UTF8.self))' is not a number")
        }
        return v
    }
}
