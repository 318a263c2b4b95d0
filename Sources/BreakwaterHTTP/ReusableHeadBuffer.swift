import NIOCore

/// The buffer an HTTP/1 encoder writes heads into, kept between the heads of one connection.
///
/// A fresh `ByteBuffer` per head costs two heap allocations (storage object and bytes). Once the
/// socket has written the previous head, the kept copy is the only reference again and `clear()`
/// reuses its storage; if that head is still queued, `clear` allocates new storage
/// (the old cost), so bytes are never shared with a pending write.
struct ReusableHeadBuffer {
    private var kept: ByteBuffer?
    /// A buffer grown beyond this (a huge head) is not kept, so an idle connection holds little.
    static let maxKeptCapacity = 4096

    /// An empty buffer with room for at least `capacity` bytes: the kept one, else one from `pool`.
    mutating func take(_ allocator: ByteBufferAllocator, capacity: Int, pool: HeadStoragePool? = nil) -> ByteBuffer {
        guard var buffer = kept ?? pool?.takeBuffer() else { return allocator.buffer(capacity: capacity) }
        kept = nil  // drop our reference first, so `clear` sees the storage unique
        buffer.clear(minimumCapacity: capacity)  // shared: one fresh storage of `capacity`, as before
        return buffer
    }

    /// Keeps `buffer` (about to be written) for the next head.
    mutating func keep(_ buffer: ByteBuffer) {
        kept = buffer.capacity <= Self.maxKeptCapacity ? buffer : nil
    }

    /// Hands the kept buffer to `pool` (the connection went idle).
    mutating func giveBack(to pool: HeadStoragePool) {
        guard let buffer = kept else { return }
        kept = nil
        pool.giveBack(buffer)
    }
}
