/// Small JSON writers for the API's answers (keys and strings escaped, numbers in their shortest form).
enum JSONOutput {
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func value(_ v: FieldValue) -> String {
        switch v {
        case .bool(let b): return b ? "true" : "false"
        case .number(let d):
            if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
            return "\(d)"
        }
    }

    static func error(_ message: String, index: Int?) -> String {
        "{\"error\":\(string(message)),\"index\":\(index.map(String.init) ?? "null")}"
    }

    static func machine(_ id: String, _ s: MachineState) -> String {
        let fields = s.fields.sorted { $0.key < $1.key }.map { "\(string($0.key)):\(value($0.value))" }
        return "{\"machine_id\":\(string(id)),\"ts\":\(string(Timestamp.format(s.tsMillis))),\"fields\":{\(fields.joined(separator: ","))}}"
    }
}
