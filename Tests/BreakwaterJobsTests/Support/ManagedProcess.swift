import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum HarnessError: Error, CustomStringConvertible {
    case message(String)
    var description: String {
        switch self { case .message(let m): return m }
    }
}

/// Where the built `breakwater` binary is: `$BREAKWATER_BIN`, else `<repo>/.build/debug/breakwater`.
func breakwaterBinary(filePath: String = #filePath) throws -> String {
    if let env = ProcessInfo.processInfo.environment["BREAKWATER_BIN"], !env.isEmpty {
        guard FileManager.default.isExecutableFile(atPath: env) else {
            throw HarnessError.message("BREAKWATER_BIN=\(env) is not an executable file; build it with `swift build` first")
        }
        return env
    }
    // Walk up from this file to the package root.
    var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    let path = url.appendingPathComponent(".build/debug/breakwater").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw HarnessError.message("breakwater binary not found at \(path): build it with `swift build` first (or set BREAKWATER_BIN)")
    }
    return path
}

/// A child process (breakwater or haproxy) with its stdout/stderr captured into files of a private
/// temp directory. Stopped by PID: SIGTERM, then SIGKILL; also in `deinit`.
final class ManagedProcess: @unchecked Sendable {
    let dir: URL
    let stdoutURL: URL
    let stderrURL: URL
    let process = Process()
    private let exited = Locked<Int32?>(nil)

    init(executable: String, arguments: [String], dir: URL, environment: [String: String]? = nil) throws {
        self.dir = dir
        stdoutURL = dir.appendingPathComponent("stdout.log")
        stderrURL = dir.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        let box = exited
        process.terminationHandler = { p in box.withLock { $0 = p.terminationStatus } }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var exitStatus: Int32? { exited.current }
    var isRunning: Bool { exited.current == nil }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) {
        if isRunning { kill(pid, sig) }
    }

    /// Waits up to `timeout` seconds for exit; returns the status or nil.
    func waitExit(timeout: Double) async -> Int32? {
        await waitUntil(timeout: timeout) { !self.isRunning }
        return exitStatus
    }

    /// SIGTERM, up to `grace` seconds, then SIGKILL.
    func stop(grace: Double = 3) async {
        guard isRunning else { return }
        signal(SIGTERM)
        if await waitExit(timeout: grace) == nil {
            signal(SIGKILL)
            _ = await waitExit(timeout: 5)
        }
    }

    deinit {
        if exited.current == nil {
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// Peak resident set (VmHWM) of a process in bytes, from /proc/PID/status.
func vmHWM(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return nil
}

func makeTempDir(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("bw-jobs-\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Waits until `port` accepts, or fails with the process's stderr.
func waitForPort(_ port: Int, proc: ManagedProcess, name: String) async throws {
    let ok = await waitUntil(timeout: 30) { !proc.isRunning || Ports.accepts(port) }
    if !ok || !proc.isRunning {
        let err = proc.stderr
        proc.signal(SIGKILL)
        throw HarnessError.message("\(name) did not start listening on 127.0.0.1:\(port) (exit \(String(describing: proc.exitStatus))). stderr:\n\(err)")
    }
}
