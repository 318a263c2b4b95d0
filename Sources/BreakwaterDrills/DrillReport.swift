import BreakwaterCore

/// One configuration variant a drill ran, with its numbers.
public struct DrillRun: Sendable {
    public var label: String
    public var metrics: [(name: String, value: Double)]
    public init(label: String, metrics: [(String, Double)]) {
        self.label = label
        self.metrics = metrics.map { (name: $0.0, value: $0.1) }
    }
    public func value(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }
}

/// What a drill prints: its runs side by side and a one-line conclusion.
public struct DrillReport: Sendable {
    public var drill: String
    public var seconds: Double
    public var runs: [DrillRun]
    public var summary: String
    /// Set when the drill does not apply to this configuration (e.g. `db-storm` without a `mysql-mux` section).
    public var skippedReason: String?

    public init(drill: String, seconds: Double, runs: [DrillRun], summary: String, skippedReason: String? = nil) {
        self.drill = drill
        self.seconds = seconds
        self.runs = runs
        self.summary = summary
        self.skippedReason = skippedReason
    }

    public var text: String {
        if let skippedReason { return "\(drill): \(skippedReason)" }
        var lines = ["drill \(drill) (\(Self.number(seconds)) s per run, loopback backends)"]
        let names = runs.first?.metrics.map(\.name) ?? []
        let labelWidth = max(names.map(\.count).max() ?? 0, 6)
        let colWidth = max(runs.map(\.label.count).max() ?? 0, 10)
        lines.append("".padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  "
                     + runs.map { $0.label.padding(toLength: colWidth, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        for n in names {
            lines.append(n.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  "
                         + runs.map { Self.number($0.value(n) ?? 0).padding(toLength: colWidth, withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
        lines.append(summary)
        return lines.joined(separator: "\n")
    }

    public var json: String {
        let str = JSONText.quote
        let runsJSON = runs.map { r in
            "{\"label\": \(str(r.label)), \"metrics\": {" + r.metrics.map { "\(str($0.name)): \($0.value.isFinite ? Self.number($0.value) : "null")" }
                .joined(separator: ", ") + "}}"
        }
        return "{\"drill\": \(str(drill)), \"seconds\": \(Self.number(seconds)), \"skipped\": \(skippedReason.map(str) ?? "null"), "
            + "\"runs\": [\(runsJSON.joined(separator: ", "))], \"summary\": \(str(summary))}"
    }

    static func number(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
        return String(format: abs(x) >= 100 ? "%.0f" : (abs(x) >= 10 ? "%.1f" : "%.2f"), x)
    }
}
