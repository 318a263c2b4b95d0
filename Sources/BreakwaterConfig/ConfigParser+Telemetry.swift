import BreakwaterConfigModel

/// A `telemetry` section while its lines are read.
struct TelemetryDraft {
    var config: TelemetryConfig
}

/// The `telemetry NAME` section.
extension ConfigParseSession {
    mutating func openTelemetry(_ w: [String], _ loc: SourceLocation) {
        section = .telemetry
        guard w.count >= 2, !w[1].isEmpty else {
            error("'telemetry' expects <name> as an argument", loc)
            currentTelemetry = nil
            return
        }
        currentTelemetry = TelemetryDraft(config: TelemetryConfig(name: w[1], location: loc))
    }

    mutating func parseTelemetryLine(_ w: [String], _ loc: SourceLocation) {
        error("unknown keyword '\(w[0])' in 'telemetry' section", loc)
    }

    mutating func closeTelemetry() {
        guard let draft = currentTelemetry else { return }
        currentTelemetry = nil
        telemetrySections.append(draft.config)
    }
}
