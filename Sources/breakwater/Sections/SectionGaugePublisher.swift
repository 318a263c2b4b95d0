import BreakwaterObservability

/// Copies a running section's gauge snapshot into `DataTierGauges` once a second, for the live dashboard.
/// Names are `SECTIONNAME.gauge`; for every counter `X_total` it also publishes `X_per_s` (the rate since the
/// previous sample), so "records accepted/s" needs no state in the page.
final class SectionGaugePublisher: Sendable {
    private let task: Task<Void, Never>
    let kind: String

    /// `kind` is the dashboard's view key (`mysql-mux`, `telemetry`, `jobs`); `name` the section's own name.
    init(kind: String, name: String, read: @escaping @Sendable () async -> [String: Double]) {
        self.kind = kind
        task = Task {
            var previous: (at: ContinuousClock.Instant, values: [String: Double])? = nil
            while !Task.isCancelled {
                let values = await read()
                let now = ContinuousClock.now
                for (gauge, value) in values {
                    DataTierGauges.shared.set(section: kind, name: "\(name).\(gauge)", value: value)
                    guard gauge.hasSuffix("_total"), let previous, let before = previous.values[gauge] else { continue }
                    let seconds = Double((now - previous.at).components.attoseconds) / 1e18 + Double((now - previous.at).components.seconds)
                    guard seconds > 0 else { continue }
                    let rate = max(0, value - before) / seconds
                    DataTierGauges.shared.set(section: kind, name: "\(name).\(gauge.dropLast(6))_per_s", value: (rate * 10).rounded() / 10)
                }
                previous = (now, values)
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Stops publishing and removes the kind's gauges (the view says "not configured" again).
    func stop() {
        task.cancel()
        DataTierGauges.shared.clear(section: kind)
    }
}
