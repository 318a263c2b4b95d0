import BreakwaterHTTP1Wire
import NIOCore

/// Per-request storage that idle HTTP/1.1 client connections of one event loop have handed back:
/// the request head's arrays (`HTTP1HeadStorage`) and the response head's write buffer.
///
/// A busy connection keeps its storage from one request to the next (no allocation per request);
/// once its response is complete and no byte of the next request has arrived, it returns the
/// storage here and takes some back at that request's first byte, so an idle connection holds
/// none (HAProxy likewise returns a connection's buffers to a pool between requests). Bounded:
/// it keeps at most twice the loop's busy connections (at least `minimumKept`, at most `limit`)
/// entries of a kind; storage returned beyond that is freed, so many idle connections leave
/// little behind. Touched only on its event loop.
final class HeadStoragePool {
    /// ~1 KiB per entry.
    static let defaultLimit = 256
    static let minimumKept = 16

    let limit: Int
    private var heads: [HTTP1HeadStorage] = []
    private var buffers: [ByteBuffer] = []
    /// Connections of this loop with a request in progress (`HTTP1RequestDecoder`).
    private(set) var busyConnections = 0

    init(limit: Int = defaultLimit) {
        self.limit = limit
    }

    var headStorageCount: Int { heads.count }
    var bufferCount: Int { buffers.count }
    /// How many entries of a kind the pool keeps now.
    var keepLimit: Int { min(limit, max(Self.minimumKept, 2 * busyConnections)) }

    func connectionBecameBusy() { busyConnections += 1 }
    func connectionBecameIdle() { busyConnections = max(0, busyConnections - 1) }

    func takeHeadStorage() -> HTTP1HeadStorage? { heads.popLast() }

    func giveBack(_ storage: HTTP1HeadStorage) {
        guard heads.count < keepLimit else { return }
        heads.append(storage)
    }

    func takeBuffer() -> ByteBuffer? { buffers.popLast() }

    func giveBack(_ buffer: ByteBuffer) {
        guard buffers.count < keepLimit else { return }
        buffers.append(buffer)
    }
}
