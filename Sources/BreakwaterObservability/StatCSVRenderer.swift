/// `show stat` CSV (spec CLI-4): `# ` + the 100 column names each followed by a comma, then one
/// line per row, every value followed by a comma. The caller appends the terminating empty line.
public enum StatCSVRenderer {
    public static var header: String {
        "# " + StatColumn.allCases.map { $0.name + "," }.joined() + "\n"
    }

    public static func render(_ rows: [StatsRow]) -> String {
        var out = header
        for row in rows {
            for value in row.allValues {
                out += quote(value)
                out += ","
            }
            out += "\n"
        }
        return out
    }

    /// Values containing `,`, `"`, CR or LF are double-quoted with inner quotes doubled.
    public static func quote(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return value
        }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }
}

extension String {
    /// Replaces every occurrence of `target` (no Foundation needed).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }
}
