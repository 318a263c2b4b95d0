import ArgumentParser
import BreakwaterConfig
import BreakwaterConfigModel
import BreakwaterDoctor
import Foundation

/// `breakwater doctor`: the host's kernel and process settings against what the configuration needs.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Compare the host's sysctls, descriptor limit, cgroups and mounts with what a configuration needs.",
        discussion: "Reads only; never changes the host. Exit 0 when every finding is ok, 1 with warnings, 2 with a critical one (or an invalid configuration)."
    )

    @Option(name: .customShort("f"), help: "Configuration file; repeat to concatenate several in order.")
    var files: [String] = []

    @Flag(help: "Print {\"findings\": [...], \"exit\": N} instead of a table.")
    var json = false

    @Option(help: "Read proc/, sys/ beneath this directory instead of the real host (a fake host for tests).")
    var root: String = "/"

    func run() throws {
        var snapshot: ConfigSnapshot?
        if !files.isEmpty {
            let result = ConfigParser().load(paths: files)
            for d in result.diagnostics where d.severity == .error { printError(d.description) }
            guard let s = result.snapshot else {
                printError("doctor: the configuration has errors; fix them first (breakwater check -f …)")
                throw ExitCode(2)
            }
            snapshot = s
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            printError("doctor: --root \(root) is not a directory")
            throw ExitCode(2)
        }
        let report = Doctor(host: HostFiles(root: root), snapshot: snapshot,
                            cpuCount: ProcessInfo.processInfo.activeProcessorCount).run()
        print(json ? report.json : report.table)
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
