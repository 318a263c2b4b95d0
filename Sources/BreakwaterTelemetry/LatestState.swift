import Foundation

/// The latest state of one machine: each field's last value and the newest `ts` applied.
public struct MachineState: Sendable, Equatable {
    public var tsMillis: Int64
    public var fields: [String: FieldValue]
}

/// `state memory`: machine id → latest state, newer `ts` wins (an older or equal record changes nothing), the
/// fields of a newer record overwrite theirs and keep the others (Redis HSET semantics). Bounded by `max-machines`.
final class LatestStateStore: @unchecked Sendable {
    private let lock = NSLock()
    private var machines: [String: MachineState] = [:]
    let maxMachines: Int

    init(maxMachines: Int) { self.maxMachines = maxMachines }

    var count: Int { lock.withLock { machines.count } }

    /// How many of these ids are not yet stored (for the admission check before logging).
    func unknownCount(of ids: Set<String>) -> Int {
        lock.withLock { ids.reduce(0) { $0 + (machines[$1] == nil ? 1 : 0) } }
    }

    /// Applies accepted records in log order.
    func apply(_ records: [Heartbeat]) {
        lock.withLock {
            for r in records {
                if var s = machines[r.machineID] {
                    guard r.tsMillis > s.tsMillis else { continue }
                    s.tsMillis = r.tsMillis
                    for f in r.fields { s.fields[f.name] = f.value }
                    machines[r.machineID] = s
                } else if machines.count < maxMachines {
                    machines[r.machineID] = MachineState(tsMillis: r.tsMillis, fields: Dictionary(r.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
                }
            }
        }
    }

    func get(_ id: String) -> MachineState? { lock.withLock { machines[id] } }
}
