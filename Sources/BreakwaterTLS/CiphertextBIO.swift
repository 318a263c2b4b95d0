import CBreakwaterOpenSSL
import NIOCore

/// The ciphertext side of one TLS connection: a callback BIO between OpenSSL's record buffers and
/// the connection's `ByteBuffer`s.
///
/// * Inbound: the socket's buffer is kept as it arrived and OpenSSL copies records out of it
///   straight into its own read buffer (a memory BIO cost one more copy into the BIO first). A
///   buffer is held only while OpenSSL has not consumed it, so NIO can reuse its receive buffer.
/// * Outbound: OpenSSL's records are appended to one `ByteBuffer` that the handler writes to the
///   socket as it is (a memory BIO cost a copy in and a copy out into a fresh buffer per flush). A
///   small buffer is kept and reused once the socket has written it.
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
    private let allocator: ByteBufferAllocator

    /// Largest outbound buffer kept between flushes: one small response's records (a connection
    /// holds it idle); larger flushes get a buffer of their own, released once written.
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

    /// Ciphertext bytes waiting for `takeOutbound`.
    var outboundBytes: Int { outbound?.readableBytes ?? 0 }

    /// Makes room for `bytes` more ciphertext, so one flush of many records grows the buffer once.
    func reserveOutbound(_ bytes: Int) {
        guard outbound != nil else {
            outbound = allocator.buffer(capacity: max(bytes, Self.reusableOutboundCapacity))
            return
        }
        if outbound!.readableBytes == 0 {
            // Reuses the storage if the socket has let go of the last flush and it is large enough.
            outbound!.clear(minimumCapacity: bytes)
        } else {
            outbound!.reserveCapacity(minimumWritableBytes: bytes)
        }
    }

    fileprivate func write(from bytes: UnsafeRawBufferPointer) {
        if outbound == nil {
            outbound = allocator.buffer(capacity: max(bytes.count, Self.reusableOutboundCapacity))
        } else if outbound!.readableBytes == 0 {
            // Reuses the storage if the socket has let go of the last flush, else allocates.
            outbound!.clear()
        }
        outbound!.writeBytes(bytes)
    }

    /// The ciphertext to write to the socket now, nil when there is none. The buffer is kept for
    /// reuse when small (its storage is reused once the socket has written it), released otherwise.
    func takeOutbound() -> ByteBuffer? {
        guard let out = outbound, out.readableBytes > 0 else { return nil }
        if out.capacity <= Self.reusableOutboundCapacity {
            outbound!.moveReaderIndex(to: out.writerIndex)
        } else {
            outbound = nil
        }
        return out
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
