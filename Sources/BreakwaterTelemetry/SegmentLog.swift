import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A readable failure of the durable log: what failed, on which path, the OS error in words.
public struct LogError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// The directory's LOCK is held by another process (a reload's predecessor, until it has drained).
    var lockIsHeld = false
    init(_ what: String, path: String, errno code: Int32? = nil) {
        description = code.map { "\(what) \(path): \(String(cString: strerror($0)))" } ?? "\(what) \(path)"
    }
}

/// `log dir PATH`: append-only segment files `<first offset, 20 digits>.log` of CRC-framed records
/// (`u32 length | u32 crc32 | payload`, little-endian), and a `committed` file holding the coalescer's offset.
///
/// An offset counts records from the first ever written. The appender (the group committer's thread) and the reader
/// (the coalescer's thread) share this object; every field is guarded by `lock`. Writes and fsyncs run outside it.
final class SegmentLog: @unchecked Sendable {
    struct Segment {
        var base: UInt64
        var path: String
        /// Bytes known to be fsynced (the reader reads no further).
        var durableBytes: Int
        /// Records in the durable bytes.
        var records: UInt64
    }

    let directory: String
    let segmentTargetBytes: Int
    /// `max-log-size` and `max-log-records`: the bounds on what is not yet committed.
    let maxLiveBytes: Int
    let maxLiveRecords: Int
    /// The coalescer's position (`readNext`) and where `commitRead` commits to; coalescer thread only.
    private var readerCursor: Cursor?
    private let lock = NSLock()
    private var segments: [Segment] = []
    private var committed: UInt64 = 0
    private var activeFD: Int32 = -1
    private var lockFD: Int32 = -1

    /// The next offset to write.
    var endOffset: UInt64 { lock.withLock { segments.last.map { $0.base + $0.records } ?? committed } }
    var committedOffset: UInt64 { lock.withLock { committed } }
    /// Bytes of every segment still on disk (what `max-log-size` bounds).
    var totalBytes: Int { lock.withLock { segments.reduce(0) { $0 + $1.durableBytes } } }
    /// Bytes of segments holding records not yet committed: what `max-log-size` bounds (a wholly committed
    /// segment is deleted, or rolled away by the next append if it is the active one).
    var liveBytes: Int {
        lock.withLock { segments.filter { $0.base + $0.records > committed }.reduce(0) { $0 + $1.durableBytes } }
    }

    /// Opens (creating if needed) and recovers the directory: the last segment's torn tail, if any, is cut off;
    /// segments wholly below the committed offset are removed.
    init(directory: String, segmentTargetBytes: Int, maxLiveBytes: Int = .max, maxLiveRecords: Int = .max) throws {
        self.directory = directory
        self.segmentTargetBytes = segmentTargetBytes
        self.maxLiveBytes = maxLiveBytes
        self.maxLiveRecords = maxLiveRecords
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LogError("cannot create the log directory", path: directory, errno: errno)
        }
        lockFD = open(directory + "/LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw LogError("cannot open", path: directory + "/LOCK", errno: errno) }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(lockFD)
            var e = LogError("the log directory is in use by another breakwater process (LOCK is held):", path: directory)
            e.lockIsHeld = true
            throw e
        }
        committed = try Self.readCommitted(directory)
        try recover()
    }

    deinit { close() }

    /// Closes the active segment and releases `LOCK`, so a successor process can open the directory.
    func close() {
        let (fd, lfd) = lock.withLock { () -> (Int32, Int32) in
            defer { (activeFD, lockFD) = (-1, -1) }
            return (activeFD, lockFD)
        }
        if fd >= 0 { Glibc.close(fd) }
        if lfd >= 0 { Glibc.close(lfd) }
    }

    // MARK: recovery

    private func recover() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".log") && $0.count == 24 }.sorted()
        var found: [Segment] = []
        for (i, name) in names.enumerated() {
            guard let base = UInt64(name.prefix(20)) else { continue }
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw LogError("cannot read log segment", path: path, errno: errno)
            }
            let bytes = [UInt8](data)
            var pos = 0
            var count: UInt64 = 0
            while let (_, next) = Self.frame(in: bytes, at: pos) {
                pos = next
                count += 1
            }
            if pos != bytes.count {
                guard i == names.count - 1 else {
                    throw LogError("log segment is corrupt at byte \(pos) (not the last segment, so not a torn write); move it away to start:", path: path)
                }
                // A torn tail: the crash hit before its fsync, so no 202 covered it.
                guard truncate(path, off_t(pos)) == 0 else { throw LogError("cannot cut the torn tail of", path: path, errno: errno) }
            }
            if let prev = found.last, prev.base + prev.records != base {
                throw LogError("log segments are not contiguous (\(prev.base + prev.records) expected, found \(base)):", path: path)
            }
            found.append(Segment(base: base, path: path, durableBytes: pos, records: count))
        }
        segments = found
        if segments.isEmpty || segments.last!.base + segments.last!.records < committed {
            if let last = segments.last, last.base + last.records < committed {
                throw LogError("the committed offset \(committed) is past the log's end \(last.base + last.records) in", path: directory)
            }
            try openNewSegment(base: committed)
        } else {
            activeFD = open(segments.last!.path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard activeFD >= 0 else { throw LogError("cannot open", path: segments.last!.path, errno: errno) }
        }
        deleteCommittedSegments()
    }

    /// The frame at `pos`: its payload range and the next position, or nil if incomplete or its CRC fails.
    static func frame(in bytes: [UInt8], at pos: Int) -> (Range<Int>, Int)? {
        guard bytes.count - pos >= 8 else { return nil }
        var r = ByteReader(bytes: bytes[pos..<(pos + 8)])
        guard let len = r.integer(UInt32.self), let crc = r.integer(UInt32.self) else { return nil }
        let start = pos + 8, end = start + Int(len)
        guard end <= bytes.count, CRC32.checksum(bytes[start..<end]) == crc else { return nil }
        return (start..<end, end)
    }

    static func appendFrame(_ payload: [UInt8], into out: inout [UInt8]) {
        appendInteger(UInt32(payload.count), into: &out)
        appendInteger(CRC32.checksum(payload), into: &out)
        out += payload
    }

    // MARK: appending (group committer thread only)

    /// Writes the frames and fsyncs them; on success they become visible to the reader. On failure the segment is
    /// cut back to its durable length, so nothing half-written is ever read.
    func appendDurably(_ frames: [UInt8], records: UInt64) throws {
        let activeIsCommitted = lock.withLock { segments.last.map { $0.records > 0 && $0.base + $0.records <= committed } ?? false }
        if activeIsCommitted {
            try openNewSegment(base: endOffset)
            deleteCommittedSegments()
        }
        let (fd, path, durable) = lock.withLock { (activeFD, segments.last!.path, segments.last!.durableBytes) }
        var written = 0
        let ok = frames.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return fdatasync(fd) == 0
        }
        guard ok else {
            let code = errno
            _ = ftruncate(fd, off_t(durable))
            throw LogError("cannot write and fsync the log segment", path: path, errno: code)
        }
        let roll = lock.withLock { () -> Bool in
            segments[segments.count - 1].durableBytes += frames.count
            segments[segments.count - 1].records += records
            return segments[segments.count - 1].durableBytes >= segmentTargetBytes
        }
        if roll { try openNewSegment(base: endOffset) }
    }

    private func openNewSegment(base: UInt64) throws {
        let name = String(repeating: "0", count: 20 - String(base).count) + String(base) + ".log"
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogError("cannot create log segment", path: path, errno: errno) }
        try Self.fsyncDirectory(directory)
        lock.withLock {
            if activeFD >= 0 { Glibc.close(activeFD) }
            activeFD = fd
            segments.append(Segment(base: base, path: path, durableBytes: 0, records: 0))
        }
    }

    // MARK: reading (coalescer thread)

    /// Where the reader is: the next record's offset and, when known, its segment and byte position in it.
    struct Cursor: Sendable {
        var offset: UInt64
        var segmentBase: UInt64? = nil
        var bytePosition = 0
    }

    /// Durable records from `cursor`, at most about `maxBytes` of them, and the cursor after the last one returned.
    func read(from cursor: Cursor, maxBytes: Int) throws -> ([Heartbeat], Cursor) {
        guard let seg = lock.withLock({ segments.last(where: { $0.base <= cursor.offset }) }),
              cursor.offset < seg.base + seg.records
        else { return ([], cursor) }
        var index = seg.base
        var start = 0
        if cursor.segmentBase == seg.base { (index, start) = (cursor.offset, cursor.bytePosition) }
        let fd = open(seg.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError("cannot read log segment", path: seg.path, errno: errno) }
        defer { Glibc.close(fd) }
        let length = min(seg.durableBytes - start, max(maxBytes, 1 << 20))
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, length, off_t(start)) }
        guard n == length else { throw LogError("short read of log segment", path: seg.path, errno: errno) }
        var pos = 0
        var out: [Heartbeat] = []
        while index < seg.base + seg.records, let (payload, next) = Self.frame(in: bytes, at: pos) {
            if index >= cursor.offset {
                guard let h = HeartbeatCodec.decode(bytes[payload]) else {
                    throw LogError("log record \(index) does not decode as a heartbeat in", path: seg.path)
                }
                out.append(h)
            }
            pos = next
            index += 1
        }
        if out.isEmpty && index < seg.base + seg.records && pos == 0 {
            throw LogError("log record \(index) is larger than the read buffer or damaged in", path: seg.path)
        }
        return (out, Cursor(offset: index, segmentBase: seg.base, bytePosition: start + pos))
    }

    // MARK: committing

    /// Stores the coalescer's offset durably (write, fsync, rename, fsync the directory), then deletes segments
    /// wholly below it.
    func commit(_ offset: UInt64) throws {
        var bytes: [UInt8] = []
        appendInteger(offset, into: &bytes)
        appendInteger(CRC32.checksum(bytes), into: &bytes)
        let tmp = directory + "/committed.tmp", final = directory + "/committed"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogError("cannot write", path: tmp, errno: errno) }
        let ok = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) == $0.count } && fsync(fd) == 0
        Glibc.close(fd)
        guard ok, rename(tmp, final) == 0 else { throw LogError("cannot store the committed offset in", path: final, errno: errno) }
        try Self.fsyncDirectory(directory)
        lock.withLock { committed = offset }
        deleteCommittedSegments()
    }

    private func deleteCommittedSegments() {
        let doomed: [String] = lock.withLock {
            var out: [String] = []
            while segments.count > 1, segments[1].base <= committed {
                out.append(segments.removeFirst().path)
            }
            return out
        }
        for path in doomed { unlink(path) }
    }

    static func readCommitted(_ directory: String) throws -> UInt64 {
        let path = directory + "/committed"
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        var r = ByteReader(bytes: [UInt8](data)[...])
        guard data.count == 12, let v = r.integer(UInt64.self), let crc = r.integer(UInt32.self) else {
            throw LogError("the committed-offset file is damaged (expected 12 bytes):", path: path)
        }
        var check: [UInt8] = []
        appendInteger(v, into: &check)
        guard CRC32.checksum(check) == crc else { throw LogError("the committed-offset file fails its CRC:", path: path) }
        return v
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError("cannot open directory", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw LogError("cannot fsync directory", path: path, errno: errno) }
    }
}

extension SegmentLog: TelemetryLog {
    func admissionProblem(records: Int, bytes: Int, queuedBytes: Int) -> String? {
        let used = liveBytes + queuedBytes
        if used + bytes > maxLiveBytes {
            return "the durable log is full (\(used) of \(maxLiveBytes) bytes, max-log-size): the sink is behind or down; retry later"
        }
        let pending = Int(endOffset - committedOffset)
        if pending + records > maxLiveRecords {
            return "the durable log is full (\(pending) of \(maxLiveRecords) records, max-log-records): the sink is behind or down; retry later"
        }
        return nil
    }

    func appendDurably(_ records: [Heartbeat], frames: [UInt8]) throws {
        try appendDurably(frames, records: UInt64(records.count))
    }

    func readNext(maxBytes: Int) throws -> [Heartbeat] {
        let (records, next) = try read(from: readerCursor ?? Cursor(offset: committedOffset), maxBytes: maxBytes)
        readerCursor = next
        return records
    }

    func commitRead() throws {
        guard let cursor = readerCursor, cursor.offset > committedOffset else { return }
        try commit(cursor.offset)
    }

    var pollSeconds: Double? { nil }

    func replayUncommitted(_ body: ([Heartbeat]) throws -> Void) throws {
        var cursor = Cursor(offset: committedOffset)
        while true {
            let (records, next) = try read(from: cursor, maxBytes: 1 << 20)
            if records.isEmpty { return }
            try body(records)
            cursor = next
        }
    }

    var summary: String { "log \(directory) at offset \(committedOffset)..\(endOffset)" }
}
