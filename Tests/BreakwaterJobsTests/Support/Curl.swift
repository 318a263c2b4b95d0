import Foundation

/// One response head as curl dumped it with `-D`.
struct ResponseHead: Sendable {
    var status: Int
    var headers: [(String, String)]
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

struct CurlResult: Sendable {
    var exitCode: Int32
    var heads: [ResponseHead]
    var body: Data
    var stdout: String
    var stderr: String
    /// Status of the last (final) response.
    var status: Int { heads.last?.status ?? 0 }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { heads.last?.header(name) }
}

/// Runs a process to completion without blocking a cooperative thread; optional stdin feeder runs
/// on its own thread.
func runProcess(_ path: String, _ args: [String], timeout: Double = 60,
                stdinFeeder: (@Sendable (FileHandle) -> Void)? = nil) async throws -> (Int32, String, String) {
    let dir = try makeTempDir("run")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out")
    let err = dir.appendingPathComponent("err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    let pipe = Pipe()
    p.standardInput = stdinFeeder == nil ? FileHandle.nullDevice : pipe
    let status: Int32 = try await withCheckedThrowingContinuation { cont in
        p.terminationHandler = { proc in cont.resume(returning: proc.terminationStatus) }
        do {
            try p.run()
        } catch {
            p.terminationHandler = nil
            cont.resume(throwing: error)
            return
        }
        if let feeder = stdinFeeder {
            let writer = pipe.fileHandleForWriting
            Thread.detachNewThread {
                feeder(writer)
                try? writer.close()
            }
        }
        let pid = p.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            if p.isRunning { kill(pid, SIGKILL) }
        }
    }
    let o = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    let e = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    return (status, o, e)
}

/// `curl -sS` with response heads captured from `-D` and the body of the (single) URL in a file.
/// Pass `bodyFile` to keep a large body on disk instead of loading it.
func curl(_ args: [String], timeout: Double = 30, bodyFile: URL? = nil,
          stdinFeeder: (@Sendable (FileHandle) -> Void)? = nil) async throws -> CurlResult {
    let dir = try makeTempDir("curl")
    defer { try? FileManager.default.removeItem(at: dir) }
    let headFile = dir.appendingPathComponent("head")
    let body = bodyFile ?? dir.appendingPathComponent("body")
    let (code, out, err) = try await runProcess(
        "/usr/bin/curl",
        ["-sS", "--max-time", String(Int(timeout)), "-D", headFile.path, "-o", body.path] + args,
        timeout: timeout + 5, stdinFeeder: stdinFeeder)
    let headText = (try? String(contentsOf: headFile, encoding: .isoLatin1)) ?? ""
    let bodyData = bodyFile == nil ? ((try? Data(contentsOf: body)) ?? Data()) : Data()
    return CurlResult(exitCode: code, heads: parseHeads(headText), body: bodyData, stdout: out, stderr: err)
}

/// Splits curl's `-D` dump into response heads.
func parseHeads(_ text: String) -> [ResponseHead] {
    var heads: [ResponseHead] = []
    for raw in text.components(separatedBy: "\r\n") {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ")
            heads.append(ResponseHead(status: parts.count > 1 ? Int(parts[1]) ?? 0 : 0, headers: []))
        } else if let colon = line.firstIndex(of: ":"), !heads.isEmpty {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            heads[heads.count - 1].headers.append((name, value))
        }
    }
    return heads
}

