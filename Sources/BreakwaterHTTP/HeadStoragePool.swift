import BreakwaterHTTP1Wire
import NIOCore

/// Per-request storage that idle HTTP/1.1 client connections of one event loop have handed back:
/// the request head's arrays (`HTTP1HeadStorage`) and the response head's write buffer.
///
/// A busy connection keeps its storage from one request to the next (no allocation per request);
/// once its response is complete and no byte of the next request has arrived, it returns the
/// storage here and takes some back at that request's first byte, so an idle connection holds
/// none (HAProxy likewise returns a connection's buffers to a pool between requests). Bounded:
/// beyond `limit` entries of a kind, returned storage is freed. Touched only on its event loop.
final class HeadStoragePool {
    /// Enough for the connections one loop has busy at once in the benches; ~1 KiB per entry.
    static let defaultLimit = 256

    let limit: Int
    private var heads: [HTTP1HeadStorage] = []
    private var buffers: [ByteBuffer] = []

    init(limit: Int = defaultLimit) {
        self.limit = limit
        heads.reserveCapacity(limit)
        buffers.reserveCapacity(limit)
    }

    var headStorageCount: Int { heads.count }
    var bufferCount: Int { buffers.count }

    func takeHeadStorage() -> HTTP1HeadStorage? { heads.popLast() }

    func giveBack(_ storage: HTTP1HeadStorage) {
        guard heads.count < limit else { return }
        heads.append(storage)
    }

    func takeBuffer() -> ByteBuffer? { buffers.popLast() }

    func giveBack(_ buffer: ByteBuffer) {
        guard buffers.count < limit else { return }
        buffers.append(buffer)
    }
}
