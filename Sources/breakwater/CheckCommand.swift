import ArgumentParser
import BreakwaterConfig
import BreakwaterConfigModel
import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// `breakwater check`: the same parse and validation `proxy` runs, without opening sockets.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration like `haproxy -c`: exit 0 when valid, 1 with FILE:LINE diagnostics otherwise."
    )

    @Option(name: .customShort("f"), help: "Configuration file; repeat to concatenate several in order.")
    var files: [String] = []

    @Flag(help: "Treat the accepted non-HAProxy spellings (compatibility warnings) as errors, for exact HAProxy parity.")
    var strict = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("at least one -f FILE is required") }
    }

    func run() throws {
        let result = ConfigParser(strict: strict).load(paths: files)
        for d in result.diagnostics { printError(d.description) }
        if result.hasErrors {
            printError("Fatal errors found in configuration.")
            throw ExitCode(1)
        }
        // Like `haproxy -c`: a configuration that listens nowhere cannot run.
        if let snapshot = result.snapshot, !snapshot.hasAnyListener {
            printError("[ALERT] No enabled listener found (check for 'bind' directives).")
            printError("Fatal errors found in configuration.")
            throw ExitCode(1)
        }
        // Certificates, keys and ticket-key files are loaded exactly as `proxy` loads them.
        if let snapshot = result.snapshot {
            do {
                _ = try TLSBindings.load(frontends: snapshot.frontends)
            } catch {
                printError(error.description)
                printError("Fatal errors found in configuration.")
                throw ExitCode(1)
            }
        }
        if let snapshot = result.snapshot { ConfigLints.forThisHost().run(snapshot).forEach { printError($0.description) } }
        print(result.summary)
    }
}

func printError(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
