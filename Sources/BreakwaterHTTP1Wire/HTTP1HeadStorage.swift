/// The two arrays a head is parsed into (its bytes and its field offsets), empty but with their
/// capacity, so the next head can be parsed into them without allocating. A scanner keeps the
/// last head's between messages; an idle connection hands them to its event loop's pool
/// (`HTTP1MessageScanner.takeIdleStorage()`) and the next head's first byte takes some back.
public struct HTTP1HeadStorage: Sendable {
    var bytes: [UInt8]
    var fields: [HTTP1Field]

    init(bytes: [UInt8], fields: [HTTP1Field]) {
        self.bytes = bytes
        self.fields = fields
    }

    /// Storage with room for a head of `bytes` bytes and `fields` fields (for tests and warm pools).
    public init(reservingBytes bytes: Int, fields: Int) {
        self.bytes = []
        self.bytes.reserveCapacity(bytes)
        self.fields = []
        self.fields.reserveCapacity(fields)
    }

    public var byteCapacity: Int { bytes.capacity }
    public var fieldCapacity: Int { fields.capacity }
}

extension HTTP1HeadParser {
    /// Arrays for this head to fill (the previous head's, or another connection's from a pool).
    mutating func adoptSpareStorage(_ storage: HTTP1HeadStorage) {
        guard !hasStarted else { return }
        spareBytes = storage.bytes
        spareFields = storage.fields
    }
}

extension HTTP1MessageScanner {
    /// The arrays kept for the next head, when the scanner is between messages with no byte of the
    /// next one seen (its parser takes them at its first input); nil otherwise or when it keeps none.
    public mutating func takeIdleStorage() -> HTTP1HeadStorage? {
        guard case .head = state, spareBytes.capacity > 0 || spareFields.capacity > 0 else { return nil }
        let storage = HTTP1HeadStorage(bytes: spareBytes, fields: spareFields)
        spareBytes = []
        spareFields = []
        return storage
    }

    /// Gives the next head arrays to fill, when the scanner keeps none.
    public mutating func adoptIdleStorage(_ storage: HTTP1HeadStorage) {
        guard spareBytes.capacity == 0 && spareFields.capacity == 0 else { return }
        spareBytes = storage.bytes
        spareFields = storage.fields
    }
}
