import Synchronization

/// Gauges that sections outside the edge data path (mysql-mux, telemetry, jobs) publish for the live
/// dashboard: `DataTierGauges.shared.set(section: "mysql-mux", name: "backend_connections", value: 400)`.
/// Module-neutral (no section types), bounded (`maxSections` × `maxNamesPerSection`; extra names are dropped),
/// and safe from any thread.
public final class DataTierGauges: Sendable {
    public static let shared = DataTierGauges()
    public static let maxSections = 32
    public static let maxNamesPerSection = 128

    private let values = Mutex<[String: [String: Double]]>([:])

    public init() {}

    /// Sets one gauge. Returns false when the bound is reached and the gauge was not stored.
    @discardableResult
    public func set(section: String, name: String, value: Double) -> Bool {
        values.withLock { all in
            if all[section] == nil, all.count >= Self.maxSections { return false }
            var names = all[section] ?? [:]
            if names[name] == nil, names.count >= Self.maxNamesPerSection { return false }
            names[name] = value
            all[section] = names
            return true
        }
    }

    /// Removes a section's gauges (its section stopped).
    public func clear(section: String) {
        _ = values.withLock { $0.removeValue(forKey: section) }
    }

    /// A copy of every gauge, by section then name.
    public var snapshot: [String: [String: Double]] { values.withLock { $0 } }
}
