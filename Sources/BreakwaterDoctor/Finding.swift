import BreakwaterCore

/// How bad a doctor finding is; also decides the exit code (0 ok, 1 warning, 2 critical).
public enum FindingSeverity: String, Sendable, Codable, Comparable, CaseIterable {
    case ok, warning, critical

    var rank: Int {
        switch self {
        case .ok: return 0
        case .warning: return 1
        case .critical: return 2
        }
    }

    public static func < (lhs: FindingSeverity, rhs: FindingSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// One host setting compared with what the configuration needs.
public struct Finding: Sendable, Codable, Equatable {
    /// The sysctl name, or `nofile`, `ephemeral-ports`, `cgroup-memory`, `ticket-keys-tmpfs`.
    public var id: String
    public var severity: FindingSeverity
    public var current: String
    public var recommended: String
    /// One line naming the pathology the setting causes or prevents.
    public var why: String
    /// The exact line(s) that fix it; empty when nothing needs fixing.
    public var fix: String

    public init(id: String, severity: FindingSeverity, current: String, recommended: String, why: String, fix: String) {
        self.id = id
        self.severity = severity
        self.current = current
        self.recommended = recommended
        self.why = why
        self.fix = fix
    }
}

/// The sorted findings of one doctor run and how they render.
public struct DoctorReport: Sendable, Equatable {
    /// Worst first; ties keep check order.
    public var findings: [Finding]

    public init(findings: [Finding]) {
        self.findings = findings.enumerated()
            .sorted { a, b in a.element.severity != b.element.severity ? a.element.severity > b.element.severity : a.offset < b.offset }
            .map(\.element)
    }

    public var worst: FindingSeverity { findings.map(\.severity).max() ?? .ok }

    public var exitCode: Int32 { Int32(worst.rank) }

    /// `{"findings": [...], "exit": N}` with keys in a fixed order.
    public var json: String {
        let items = findings.map { f in
            "{" + [("id", f.id), ("severity", f.severity.rawValue), ("current", f.current),
                   ("recommended", f.recommended), ("why", f.why), ("fix", f.fix)]
                .map { "\(JSONText.quote($0.0)): \(JSONText.quote($0.1))" }.joined(separator: ", ") + "}"
        }
        return "{\"findings\": [\n  " + items.joined(separator: ",\n  ") + "\n], \"exit\": \(exitCode)}"
    }

    /// One finding a line: severity, id, current, recommended and why; a `fix:` line under each one not ok.
    public var table: String {
        let header = ["SEVERITY", "ID", "CURRENT", "RECOMMENDED", "WHY"]
        let rows = findings.map { [$0.severity.rawValue.uppercased(), $0.id, $0.current, $0.recommended, $0.why] }
        var widths = header.map(\.count)
        for r in rows {
            for (i, cell) in r.enumerated().dropLast() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        var out = [line(header)]
        for (f, r) in zip(findings, rows) {
            out.append(line(r))
            if f.severity != .ok, !f.fix.isEmpty { out.append("    fix: " + f.fix) }
        }
        let counts = FindingSeverity.allCases.reversed().map { s in "\(findings.filter { $0.severity == s }.count) \(s.rawValue)" }
        out.append("\(findings.count) checks: " + counts.joined(separator: ", ") + " (exit \(exitCode))")
        return out.joined(separator: "\n")
    }
}
