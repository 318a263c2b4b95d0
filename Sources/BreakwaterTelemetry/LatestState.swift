import Foundation

/// The latest state of one machine: each field's last value and the newest `ts` applied.
public struct MachineState: Sendable, Equatable {
    public var tsMillis: Int64
    public var fields: [String: FieldValue]
}

/// Where the latest state per machine lives. `apply` runs on the log thread (it may block) after the records are
/// fsynced and before their 202; newer `ts` wins, an older or equal record changes nothing, and a newer record's
/// fields overwrite theirs and keep the others (Redis HSET semantics).
protocol LatestState: Sendable {
    func apply(_ records: [Heartbeat]) throws
    func get(_ ids: [String]) async throws -> [MachineState?]
    /// A refusal message when admitting these machines would pass a bound, else nil.
    func admissionProblem(for ids: Set<String>) -> String?
    /// Machines held (for /metrics); nil when the store cannot tell cheaply.
    var machineCount: Int? { get }
}

/// `state memory`: machine id → latest state, bounded by `max-machines`.
final class MemoryLatestState: LatestState, @unchecked Sendable {
    private let lock = NSLock()
    private var machines: [String: MachineState] = [:]
    let maxMachines: Int

    init(maxMachines: Int) { self.maxMachines = maxMachines }

    var machineCount: Int? { lock.withLock { machines.count } }

    func admissionProblem(for ids: Set<String>) -> String? {
        lock.withLock {
            let unknown = ids.reduce(0) { $0 + (machines[$1] == nil ? 1 : 0) }
            guard unknown > 0, machines.count + unknown > maxMachines else { return nil }
            return "the latest-state store holds \(machines.count) machines, its limit (max-machines) is \(maxMachines)"
        }
    }

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

    func get(_ ids: [String]) -> [MachineState?] { lock.withLock { ids.map { machines[$0] } } }
}
