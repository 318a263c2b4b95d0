import NIOCore

/// One logical MySQL message: a payload with the sequence id of its last wire packet.
/// Payloads of 16 MiB - 1 bytes or more travel as several wire packets; the codec joins and splits them.
public struct MySQLPacket: Sendable, Equatable {
    public static let maxWirePayload = 0xff_ffff

    public var sequenceID: UInt8
    public var payload: ByteBuffer

    public init(sequenceID: UInt8, payload: ByteBuffer) {
        self.sequenceID = sequenceID
        self.payload = payload
    }

    /// The first payload byte, which tells OK (0x00), EOF (0xFE), ERR (0xFF) and the rest apart.
    public var header: UInt8? { payload.getInteger(at: payload.readerIndex, as: UInt8.self) }

    public var isERR: Bool { header == 0xff }
    /// An EOF packet, or with CLIENT_DEPRECATE_EOF the OK packet that ends a result set (header 0xFE).
    /// A row can begin with 0xFE only as an 8-byte length prefix, so it is never this short.
    public var isEOF: Bool { header == 0xfe && payload.readableBytes < 9 }
    public var isOK: Bool { header == 0x00 }
}

/// Joins wire packets (3-byte little-endian length, 1-byte sequence id) into `MySQLPacket`s.
public struct MySQLPacketDecoder: ByteToMessageDecoder {
    public typealias InboundOut = MySQLPacket

    /// The largest joined message accepted; beyond it decoding fails (the peer is misbehaving or hostile).
    public let maxMessageSize: Int
    private var pending: ByteBuffer?

    public init(maxMessageSize: Int = 64 * 1024 * 1024) {
        self.maxMessageSize = maxMessageSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let packet = try decodePacket(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(packet))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Takes one whole message off `buffer`, or nothing if more bytes are needed. Usable without a channel.
    public mutating func decodePacket(_ buffer: inout ByteBuffer) throws -> MySQLPacket? {
        while true {
            guard buffer.readableBytes >= 4,
                let b0 = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                let lengthRest = buffer.getInteger(at: buffer.readerIndex + 1, endianness: .little, as: UInt16.self),
                let sequenceID = buffer.getInteger(at: buffer.readerIndex + 3, as: UInt8.self)
            else { return nil }
            let length = Int(b0) | Int(lengthRest) << 8
            guard buffer.readableBytes >= 4 + length else { return nil }
            let soFar = pending?.readableBytes ?? 0
            guard soFar + length <= maxMessageSize else {
                throw MySQLWireError.packetTooLarge(size: soFar + length, limit: maxMessageSize)
            }
            buffer.moveReaderIndex(forwardBy: 4)
            var slice = buffer.readSlice(length: length)!
            if length == MySQLPacket.maxWirePayload {
                // A full-size packet: the message continues in the next one.
                if pending == nil { pending = ByteBufferAllocator().buffer(capacity: length * 2) }
                pending!.writeBuffer(&slice)
                continue
            }
            if var joined = pending {
                joined.writeBuffer(&slice)
                pending = nil
                return MySQLPacket(sequenceID: sequenceID, payload: joined)
            }
            return MySQLPacket(sequenceID: sequenceID, payload: slice)
        }
    }
}

/// Writes `MySQLPacket`s as wire packets, splitting large payloads; sequence ids count up from the packet's.
public struct MySQLPacketEncoder: MessageToByteEncoder {
    public typealias OutboundIn = MySQLPacket

    public init() {}

    public func encode(data: MySQLPacket, out: inout ByteBuffer) throws {
        Self.encode(data, into: &out)
    }

    public static func encode(_ packet: MySQLPacket, into out: inout ByteBuffer) {
        var payload = packet.payload
        var sequenceID = packet.sequenceID
        while true {
            let chunk = min(payload.readableBytes, MySQLPacket.maxWirePayload)
            out.writeInteger(UInt8(chunk & 0xff))
            out.writeInteger(UInt16(chunk >> 8), endianness: .little)
            out.writeInteger(sequenceID)
            var slice = payload.readSlice(length: chunk)!
            out.writeBuffer(&slice)
            sequenceID &+= 1
            // A chunk of exactly the maximum size needs a following (possibly empty) packet to end the message.
            if chunk < MySQLPacket.maxWirePayload { return }
        }
    }

    /// How many wire packets `payloadSize` bytes take; the next sequence id is the first plus this.
    public static func wirePacketCount(payloadSize: Int) -> Int {
        payloadSize / MySQLPacket.maxWirePayload + 1
    }
}
