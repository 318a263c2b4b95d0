import ArgumentParser
import BreakwaterConfig
import BreakwaterDrills
import Foundation

/// `breakwater drill NAME -f FILE`: replays one of the write-ups' incidents on loopback against this configuration.
struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Replay an incident on loopback against a configuration: \(Drills.names.joined(separator: ", ")).",
        discussion: "Starts throwaway loopback backends and a child `breakwater proxy` per variant (addresses substituted), applies bounded load, prints the numbers and stops everything it started."
    )

    @Argument(help: "The drill: \(Drills.names.joined(separator: ", ")).")
    var name: String

    @Option(name: .customShort("f"), help: "Configuration file.")
    var file: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Seconds per variant (1-120).")
    var duration: Double = 10

    @Option(help: "Load scale (servers ×20 for health-storm, clients for the load drills; 1-50).")
    var scale: Int = 1

    @Option(help: "heartbeat-storm: writers (ingest nodes) sending heartbeats at once (1-64).")
    var writers: Int = 16

    @Option(help: "heartbeat-storm: distinct machines the heartbeats are for (1-100000).")
    var machines: Int = 200

    @Option(help: "heartbeat-storm: auto (a 3-node Galera cluster when galera-4 is installed, else one MariaDB), galera or single.")
    var database: String = "auto"

    func validate() throws {
        guard (1...64).contains(writers) else { throw ValidationError("--writers must be 1...64") }
        guard (1...100_000).contains(machines) else { throw ValidationError("--machines must be 1...100000") }
        guard DrillDatabase(rawValue: database) != nil else {
            throw ValidationError("--database must be one of \(DrillDatabase.allCases.map(\.rawValue).joined(separator: ", ")), got '\(database)'")
        }
        guard Drills.names.contains(name) else {
            throw ValidationError("unknown drill '\(name)'; drills: \(Drills.names.joined(separator: ", "))")
        }
        guard (1...120).contains(duration) else { throw ValidationError("--duration must be 1...120 seconds") }
        guard (1...50).contains(scale) else { throw ValidationError("--scale must be 1...50") }
    }

    func run() throws {
        let result = ConfigParser().load(paths: [file])
        for d in result.diagnostics where d.severity == .error { printError(d.description) }
        guard let snapshot = result.snapshot else {
            printError("drill: the configuration has errors; fix them first (breakwater check -f \(file))")
            throw ExitCode(1)
        }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            printError("drill: cannot read \(file): \((error as NSError).localizedDescription)")
            throw ExitCode(1)
        }
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var drills = Drills(binary: binary, configText: text, snapshot: snapshot, seconds: duration, scale: scale)
        drills.writers = writers
        drills.machines = machines
        drills.database = DrillDatabase(rawValue: database) ?? .auto
        do {
            let report = try drills.run(name)
            print(json ? report.json : report.text)
        } catch {
            printError("drill \(name): \(error)")
            throw ExitCode(1)
        }
    }
}
