/// One machine's row of a window: the newest `ts`, each field's value from the newest record carrying it, and how
/// many records were folded.
struct FoldedRow: Equatable {
    var key: String
    var tsMillis: Int64
    var samples: Int
    /// field → (ts of the record it came from, value)
    var fields: [String: (Int64, FieldValue)]

    static func == (a: FoldedRow, b: FoldedRow) -> Bool {
        a.key == b.key && a.tsMillis == b.tsMillis && a.samples == b.samples && a.fields.count == b.fields.count
            && a.fields.allSatisfy { k, v in b.fields[k].map { $0.0 == v.0 && $0.1 == v.1 } ?? false }
    }
}

/// A tumbling window's fold, per key: last value per field by `ts`, plus the record count. Order of arrival does
/// not matter, so replaying a log range after a crash folds to the same rows.
struct WindowFold {
    private(set) var rows: [String: FoldedRow] = [:]
    private(set) var records = 0
    /// Every field name seen (the sink's columns).
    private(set) var fieldNames: Set<String> = []

    var isEmpty: Bool { records == 0 }

    mutating func add(_ h: Heartbeat) {
        records += 1
        var row = rows[h.machineID] ?? FoldedRow(key: h.machineID, tsMillis: h.tsMillis, samples: 0, fields: [:])
        row.samples += 1
        row.tsMillis = max(row.tsMillis, h.tsMillis)
        for f in h.fields {
            fieldNames.insert(f.name)
            if let (ts, _) = row.fields[f.name], ts > h.tsMillis { continue }
            row.fields[f.name] = (h.tsMillis, f.value)
        }
        rows[h.machineID] = row
    }

    /// Rows sorted by key, so statements are deterministic.
    var sortedRows: [FoldedRow] { rows.values.sorted { $0.key < $1.key } }
}
