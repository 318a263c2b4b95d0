import ArgumentParser
import BreakwaterCore

@main
struct Breakwater: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakwater",
        abstract: "An HAProxy-dialect load balancer that stands between the storm and the fleet.",
        version: BreakwaterVersion.string,
        subcommands: [ProxyCommand.self, CheckCommand.self, TLSKeysCommand.self, DoctorCommand.self, DrillCommand.self]
    )

    /// No subcommand: the help, and a failure status (nothing was done).
    func run() async throws {
        printError(Self.helpMessage())
        throw ExitCode(64)
    }
}
