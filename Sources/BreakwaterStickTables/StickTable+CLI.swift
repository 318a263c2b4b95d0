import BreakwaterConfigModel

/// `data.<type> <op> <value>` comparison operators (CLI-6).
public enum StickCompareOp: String, Sendable, CaseIterable {
    case eq, ne, lt, le, gt, ge

    public func matches(_ data: Int64, _ value: Int64) -> Bool {
        switch self {
        case .eq: return data == value
        case .ne: return data != value
        case .lt: return data < value
        case .le: return data <= value
        case .gt: return data > value
        case .ge: return data >= value
        }
    }
}

/// One `data.<type> <op> <value>` filter entry.
public struct StickDataCondition: Sendable, Equatable {
    public var kind: StoreType.Kind
    public var op: StickCompareOp
    public var value: Int64
    public init(kind: StoreType.Kind, op: StickCompareOp, value: Int64) {
        self.kind = kind
        self.op = op
        self.value = value
    }
}

/// What `show table` / `clear table` act on.
public enum StickTableFilter: Sendable, Equatable {
    /// No filter: every entry.
    case all
    /// `key <k>`: the key as typed (an unparsable key matches nothing).
    case key(String)
    /// Up to 4 `data.<type> <op> <value>` entries, all of which must hold.
    case data([StickDataCondition])
}

/// A CLI error; `message` is HAProxy's text without the trailing newline.
public struct StickTableCLIError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The CLI command a filter is parsed for (error texts differ).
public enum StickTableCLIAction: Sendable {
    case show, clear
}

extension StickTable {
    static let maxDataFilters = 4

    // MARK: - Parsing

    /// Parses the words after the table name of `show table <t> …` / `clear table <t> …`.
    public func parseFilter(_ args: [String], for action: StickTableCLIAction = .show)
        -> Result<StickTableFilter, StickTableCLIError> {
        guard let first = args.first, !first.isEmpty else { return .success(.all) }
        if first == "key" {
            guard args.count > 1, !args[1].isEmpty else { return .failure(.init("Key value expected")) }
            if case .binary = config.keyType {
                return .failure(.init(action == .show
                    ? "Showing keys from tables of type other than ip, ipv6, string and integer is not supported"
                    : "Removing keys from tables of type other than ip, ipv6, string and integer is not supported"))
            }
            return .success(.key(args[1]))
        }
        guard first.hasPrefix("data.") else {
            return .failure(.init(action == .show
                ? "Optional argument only supports \"data.<store_data_type>\" and key <key>"
                : "Required arguments: <table> \"data.<store_data_type>\" <op> <value> or <table> key <key>"))
        }
        var conditions: [StickDataCondition] = []
        for i in 0..<Self.maxDataFilters {
            let base = 3 * i
            if i > 0 && (base >= args.count || args[base].isEmpty) { break }
            let n = i + 1
            let word = base < args.count ? args[base] : ""
            guard word.hasPrefix("data.") else {
                return .failure(.init("Filter entry #\(n): Unknown data type"))
            }
            guard let kind = StoreType.Kind(rawValue: String(word.dropFirst(5))) else {
                return .failure(.init("Filter entry #\(n): Unknown data type"))
            }
            guard stores(kind) else {
                return .failure(.init("Filter entry #\(n): Data type not stored in this table"))
            }
            guard base + 1 < args.count, let op = StickCompareOp(rawValue: args[base + 1]) else {
                return .failure(.init(
                    "Filter entry #\(n): Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\""))
            }
            guard base + 2 < args.count, let value = Int64(args[base + 2]) else {
                return .failure(.init("Filter entry #\(n): Require a valid integer value to compare against"))
            }
            conditions.append(StickDataCondition(kind: kind, op: op, value: value))
        }
        return .success(.data(conditions))
    }

    // MARK: - show table

    /// `# table: <name>, type: <type>, size:<size>, used:<entries>`
    public func showTableHeader() -> String {
        "# table: \(name), type: \(config.keyType.keyword), size:\(size), used:\(count)"
    }

    /// The entry lines of `show table <name> [filter]` (without the header), in HAProxy's order
    /// (keys compared as bytes, like its tree walk).
    public func showEntries(filter: StickTableFilter = .all, now: Int64) -> [String] {
        collect(filter: filter, now: now).map(\.line)
    }

    /// The whole output of `show table <name> [filter]`: the header then the entries; with
    /// `key <k>` and no such entry, nothing at all (HAProxy prints no header then).
    /// With `dumpEntries: false` (user level) the entries are replaced by the privileges line.
    public func show(filter: StickTableFilter = .all, now: Int64, dumpEntries: Bool = true) -> [String] {
        guard dumpEntries else {
            return [showTableHeader(), "# contents not dumped due to insufficient privileges"]
        }
        let entries = showEntries(filter: filter, now: now)
        if case .key = filter, entries.isEmpty { return [] }
        return [showTableHeader()] + entries
    }

    private struct Row {
        var keyBytes: [UInt8]
        var line: String
        var ref: EntryRef
        var use: UInt32
    }

    private func matches(_ e: EntryPtr, _ conditions: [StickDataCondition], now: Int64) -> Bool {
        for c in conditions {
            guard let v = value(e, c.kind, now: now), c.op.matches(v, c.value) else { return false }
        }
        return true
    }

    private func collect(filter: StickTableFilter, now: Int64) -> [Row] {
        var rows: [Row] = []
        let conditions: [StickDataCondition]
        switch filter {
        case .all:
            conditions = []
        case .data(let c):
            conditions = c
        case .key(let text):
            guard let bytes = codec.parseCLI(text) else { return [] }
            return withKeyWords(bytes: bytes, words: codec.words) { kw -> [Row] in
                let h = hash(kw)
                let si = shardIndex(h)
                return withShard(si) { s -> [Row] in
                    guard let slot = s.find(kw, hash: h) else { return [] }
                    return [row(s.entry(slot), EntryRef(shard: UInt32(si), slot: slot), now: now)]
                }
            }
        }
        for si in 0..<shardCount {
            let part = withShard(si) { s -> [Row] in
                var rows: [Row] = []
                for slot in s.slotsInLRUOrder() {
                    let e = s.entry(slot)
                    if !conditions.isEmpty && !matches(e, conditions, now: now) { continue }
                    rows.append(row(e, EntryRef(shard: UInt32(si), slot: slot), now: now))
                }
                return rows
            }
            rows += part
        }
        rows.sort { $0.keyBytes.lexicographicallyPrecedes($1.keyBytes) }
        return rows
    }

    private func row(_ e: EntryPtr, _ ref: EntryRef, now: Int64) -> Row {
        let keyBytes = Array(UnsafeRawBufferPointer(start: e.key, count: codec.byteCount))
        let id = 0x7F00_0000_0000 as UInt64 | UInt64(ref.shard) << 32 | UInt64(ref.slot) << 4
        var line = "0x\(String(id, radix: 16)): key="
        line += keyBytes.withUnsafeBytes { codec.format($0) }
        line += " use=\(e.use) exp=\(remaining(e, now: now))"
        for s in schema.stored {
            let v = value(e, s.kind, now: now) ?? 0
            if let p = s.periodMs {
                line += " \(s.name)(\(p))=\(v)"
            } else {
                line += " \(s.name)=\(UInt64(bitPattern: v))"
            }
        }
        return Row(keyBytes: keyBytes, line: line, ref: ref, use: e.use)
    }

    // MARK: - clear table

    /// `clear table <name> [filter]`: removes the matching entries that are not in use. Returns nil
    /// (no output) or the error line (`Entry currently in use, cannot remove` for `key` on an
    /// in-use entry).
    @discardableResult
    public func clear(filter: StickTableFilter = .all, now: Int64) -> StickTableCLIError? {
        switch filter {
        case .key(let text):
            guard let bytes = codec.parseCLI(text) else { return nil }
            var inUse = false
            withKeyWords(bytes: bytes, words: codec.words) { kw in
                let h = hash(kw)
                let removed = withShard(shardIndex(h)) { s -> Bool in
                    guard let slot = s.find(kw, hash: h) else { return false }
                    if s.entry(slot).use > 0 {
                        inUse = true
                        return false
                    }
                    s.remove(slot)
                    return true
                }
                if removed { total.subtract(1, ordering: .relaxed) }
            }
            return inUse ? StickTableCLIError("Entry currently in use, cannot remove") : nil
        case .all, .data:
            var conditions: [StickDataCondition] = []
            if case .data(let c) = filter { conditions = c }
            for si in 0..<shardCount {
                let n = withShard(si) { s -> Int in
                    var removed = 0
                    for slot in s.slotsInLRUOrder() {
                        let e = s.entry(slot)
                        if e.use > 0 { continue }
                        if !conditions.isEmpty && !matches(e, conditions, now: now) { continue }
                        s.remove(slot)
                        removed += 1
                    }
                    return removed
                }
                if n > 0 { total.subtract(n, ordering: .relaxed) }
            }
            return nil
        }
    }

    // MARK: - set table

    /// `set table <name> key <k> [data.<type> <v>]…`, given the words after the table name.
    /// Creates the entry if needed, stores the values (a rate gets `curr = v` from now, `prev = 0`)
    /// and touches it. Returns nil on success or HAProxy's error line.
    @discardableResult
    public func set(arguments args: [String], now: Int64) -> StickTableCLIError? {
        guard args.first == "key" else {
            return StickTableCLIError("Required arguments: <table> key <key> [data.<store_data_type> <value>]*")
        }
        guard args.count > 1, !args[1].isEmpty else { return StickTableCLIError("Key value expected") }
        var data: [(StoreType.Kind, Int64)] = []
        var i = 2
        while i < args.count && !args[i].isEmpty {
            guard args[i].hasPrefix("data.") else {
                return StickTableCLIError("\"data.<type>\" followed by a value expected")
            }
            guard let kind = StoreType.Kind(rawValue: String(args[i].dropFirst(5))) else {
                return StickTableCLIError("Unknown data type")
            }
            guard stores(kind) else { return StickTableCLIError("Data type not stored in this table") }
            guard i + 1 < args.count, let v = Int64(args[i + 1]) else {
                return StickTableCLIError("Require a valid integer value to store")
            }
            data.append((kind, v))
            i += 2
        }
        return set(key: args[1], data: data, now: now)
    }

    /// `set table` with parsed values.
    @discardableResult
    public func set(key: String, data: [(StoreType.Kind, Int64)], now: Int64) -> StickTableCLIError? {
        if case .binary = config.keyType {
            return StickTableCLIError(
                "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported")
        }
        guard let bytes = codec.parseCLI(key) else { return StickTableCLIError("Invalid key") }
        for (kind, _) in data where !stores(kind) { return StickTableCLIError("Data type not stored in this table") }
        let ok = withKeyWords(bytes: bytes, words: codec.words) { kw -> Bool in
            let h = hash(kw)
            let si = shardIndex(h)
            return withShard(si) { s -> Bool in
                var slot = s.find(kw, hash: h)
                if slot == nil {
                    guard reserveOrEvict(&s, homeShard: si, now: now) else { return false }
                    slot = s.insert(kw, hash: h)
                    if slot == nil { total.subtract(1, ordering: .relaxed); return false }
                }
                let e = s.entry(slot!)
                for (kind, v) in data {
                    let off = schema.offset(kind)
                    if kind.isRate {
                        var f = e.freq(off)
                        f.set(value: UInt32(truncatingIfNeeded: v), now: FreqCounter.tick(now))
                        e.setFreq(off, f)
                    } else if kind.is64Bit {
                        e.setCounter64(off, UInt64(bitPattern: v))
                    } else {
                        e.p[off] = UInt32(truncatingIfNeeded: v)
                    }
                }
                touch(&s, slot!, now: now)
                return true
            }
        }
        return ok ? nil : StickTableCLIError("Unable to allocate a new entry")
    }
}
