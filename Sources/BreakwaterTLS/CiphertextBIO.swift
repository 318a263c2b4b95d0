import CBreakwaterOpenSSL
import NIOCore

/// The ciphertext side of one TLS connection: a callback BIO between OpenSSL's record buffers and
/// the connection's `ByteBuffer`s.
///
/// * Inbound: the socket's buffer is kept as it arrived and OpenSSL copies records out of it
///   straight into its own read buffer (a memory BIO cost one more copy into the BIO first). A
///   buffer is held only while OpenSSL has not consumed it, so NIO can reuse its receive buffer.
/// * Outbound: OpenSSL's records are appended to one `ByteBuffer` that the handler writes to the
///   socket as it is (a memory BIO cost a copy in and a copy out into a fresh buffer per flush). It is
///   sized from the plaintext of the flush and handed over whole. Only a small one (at most
///   `reusableOutboundCapacity`) is kept, to be written into again once the socket has released it;
///   the two memory BIOs kept theirs, grown to the largest read and the largest flush, for the
///   connection's life.
///
/// The BIO's data pointer is this object, unretained: the handler owns both it and the `SSL *`
/// (which owns the BIO) and frees the `SSL *` first. Event-loop only.
final class CiphertextBIO {
    /// The BIO to give `SSL_set_bio` (as both its read and write BIO; SSL takes one reference).
    let bio: OpaquePointer
    /// Ciphertext from the socket OpenSSL has not read yet.
    private var inbound: ByteBuffer?
    /// Ciphertext OpenSSL produced that is not yet handed to the socket.
    private var outbound: ByteBuffer?
    /// The last small buffer handed to the socket: once the socket has written and released it, the
    /// next flush writes into its storage again instead of allocating (two mallocs per flush).
    private var spareOutbound: ByteBuffer?
    private let allocator: ByteBufferAllocator

    /// First allocation for records written without a reservation (handshake flights, alerts,
    /// close_notify); it grows if a certificate chain needs more.
    static let unreservedOutboundCapacity = 1024
    /// Largest ciphertext buffer kept between flushes (a short response; an idle connection holds it).
    static let reusableOutboundCapacity = 2048

    init?(allocator: ByteBufferAllocator) {
        guard let method = Self.method else { return nil }
        self.allocator = allocator
        // The data pointer is set right below, once `self` exists; the BIO never calls back before.
        guard let bio = bw_callback_bio_new(method, nil) else { return nil }
        self.bio = bio
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Created once (a Swift static is initialized once, under a lock) and never changed after:
    /// OpenSSL only reads a BIO method, from any thread.
    nonisolated(unsafe) private static let method: OpaquePointer? = bw_callback_bio_method(cipherBIORead, cipherBIOWrite)

    // MARK: - Inbound

    /// Ciphertext bytes OpenSSL can still read.
    var inboundBytes: Int { inbound?.readableBytes ?? 0 }

    /// Queues ciphertext from the socket. Normally nothing is left of the last read (OpenSSL reads
    /// until it needs more), so the buffer is kept as it is, not copied.
    func receive(_ buffer: ByteBuffer) {
        guard var queued = inbound, queued.readableBytes > 0 else {
            inbound = buffer
            return
        }
        inbound = nil  // unique, so the append below does not copy the storage first
        var more = buffer
        queued.writeBuffer(&more)
        inbound = queued
    }

    /// Lets go of the socket's buffer once OpenSSL has read all of it.
    func releaseConsumedInbound() {
        if let b = inbound, b.readableBytes == 0 { inbound = nil }
    }

    /// Drops what OpenSSL will never read (the connection is closed).
    func discardInbound() { inbound = nil }

    fileprivate func read(into out: UnsafeMutableRawPointer, count: Int) -> Int {
        guard let available = inbound?.readableBytes, available > 0 else { return 0 }
        let n = min(count, available)
        inbound!.withUnsafeReadableBytes { out.copyMemory(from: $0.baseAddress!, byteCount: n) }
        inbound!.moveReaderIndex(forwardBy: n)
        return n
    }

    // MARK: - Outbound

    /// Makes room for `bytes` more ciphertext, so one flush of many records allocates once.
    func reserveOutbound(_ bytes: Int) {
        if outbound == nil {
            outbound = takeSpare(minimumCapacity: bytes) ?? allocator.buffer(capacity: bytes)
        } else {
            outbound!.reserveCapacity(minimumWritableBytes: bytes)
        }
    }

    fileprivate func write(from bytes: UnsafeRawBufferPointer) {
        if outbound == nil {
            let capacity = max(bytes.count, Self.unreservedOutboundCapacity)
            outbound = takeSpare(minimumCapacity: capacity) ?? allocator.buffer(capacity: capacity)
        }
        outbound!.writeBytes(bytes)
    }

    /// The ciphertext to write to the socket now, nil when there is none; the next records start a
    /// new buffer (the socket owns this one until it is written).
    func takeOutbound() -> ByteBuffer? {
        guard let out = outbound, out.readableBytes > 0 else { return nil }
        outbound = nil
        if out.capacity <= Self.reusableOutboundCapacity { spareOutbound = out }
        return out
    }

    /// The spare buffer, emptied, if it is large enough; `clear()` keeps its storage only when the
    /// socket no longer holds it (otherwise it allocates, as a new buffer would).
    private func takeSpare(minimumCapacity: Int) -> ByteBuffer? {
        guard var spare = spareOutbound, spare.capacity >= minimumCapacity else { return nil }
        spareOutbound = nil
        spare.clear()
        return spare
    }
}

private func cipherBIORead(_ ctx: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<CChar>?, _ len: Int32) -> Int32 {
    guard let ctx, let out, len > 0 else { return 0 }
    let bio = Unmanaged<CiphertextBIO>.fromOpaque(ctx).takeUnretainedValue()
    return Int32(bio.read(into: UnsafeMutableRawPointer(out), count: Int(len)))
}

private func cipherBIOWrite(_ ctx: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<CChar>?, _ len: Int32) -> Int32 {
    guard let ctx, let bytes, len > 0 else { return 0 }
    let bio = Unmanaged<CiphertextBIO>.fromOpaque(ctx).takeUnretainedValue()
    bio.write(from: UnsafeRawBufferPointer(start: bytes, count: Int(len)))
    return len
}
