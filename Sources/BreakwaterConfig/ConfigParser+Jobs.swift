import Foundation
import BreakwaterConfigModel

/// A `jobs` section while its lines are read.
struct JobsDraft {
    var config: JobsConfig
}

/// The `jobs NAME` section: keywords of issue 13 (docs/jobs.md lists them with defaults).
extension ConfigParseSession {
    static let jobsKeywords = [
        "bind", "queue", "command", "workers", "memory-max", "timeout", "max-jobs-per-worker", "retries",
        "max-payload", "max-stdout", "max-queued", "keep-finished", "state-dir", "retry-backoff",
    ]

    mutating func openJobs(_ w: [String], _ loc: SourceLocation) {
        section = .jobs
        guard w.count >= 2, !w[1].isEmpty else {
            error("'jobs' expects <name> as an argument", loc)
            currentJobs = nil
            return
        }
        if w.count > 2 { error("'jobs \(w[1])' takes no argument after the name, got '\(w[2])'", loc) }
        if jobSections.contains(where: { $0.name == w[1] }) {
            error("'jobs \(w[1])' is declared twice", loc)
        }
        currentJobs = JobsDraft(config: JobsConfig(name: w[1], location: loc))
    }

    mutating func parseJobsLine(_ w: [String], _ loc: SourceLocation) {
        guard var draft = currentJobs else { return }
        do {
            try Self.applyJobsKeyword(w, to: &draft.config)
        } catch let e as ConfigError {
            error(e.message, loc)
        } catch {
            self.error("'\(w[0])': \(error)", loc)
        }
        currentJobs = draft
    }

    mutating func closeJobs() {
        guard let draft = currentJobs else { return }
        currentJobs = nil
        let c = draft.config
        let loc = c.location
        if c.bindPort == 0 { error("'jobs \(c.name)' needs a 'bind HOST:PORT' line", loc) }
        if c.queue == nil { error("'jobs \(c.name)' needs a 'queue dir PATH' or 'queue amqp URL queue NAME' line", loc) }
        if c.command.isEmpty { error("'jobs \(c.name)' needs a 'command PROGRAM [ARGS...]' line", loc) }
        jobSections.append(c)
    }

    private static func applyJobsKeyword(_ w: [String], to c: inout JobsConfig) throws {
        let kw = w[0]
        func one() throws -> String {
            guard w.count == 2 else {
                throw ConfigError(w.count < 2 ? "'\(kw)' expects one argument" : "'\(kw)' expects one argument, got '\(w[2])' after it")
            }
            return w[1]
        }
        switch kw {
        case "bind":
            let text = try one()
            let parsed: ParsedAddress
            do { parsed = try AddressParser.parse(text, options: .init()) } catch let e as ConfigError {
                throw ConfigError("'bind' in a 'jobs' section: \(e.message)")
            }
            guard case .inet(let host, let port) = parsed else {
                throw ConfigError("'bind' in a 'jobs' section expects HOST:PORT, got '\(text)'")
            }
            guard (1...65535).contains(port) else { throw ConfigError("'bind' port must be between 1 and 65535, got '\(text)'") }
            c.bindHost = host.isEmpty || host == "*" ? "0.0.0.0" : host
            c.bindPort = port
        case "queue":
            switch w.count > 1 ? w[1] : "" {
            case "dir":
                guard w.count == 3, w[2].hasPrefix("/") || !w[2].isEmpty else {
                    throw ConfigError("'queue dir' expects one directory path, e.g. 'queue dir /var/lib/breakwater/jobs'")
                }
                c.queue = .directory(path: w[2])
            case "amqp":
                guard w.count == 5, w[3] == "queue", !w[4].isEmpty else {
                    throw ConfigError("'queue amqp' expects 'queue amqp amqp://USER:PASS@HOST:PORT/VHOST queue NAME'")
                }
                c.queue = .amqp(try parseAMQPURL(w[2], queue: w[4]))
            default:
                throw ConfigError("'queue' expects 'dir PATH' or 'amqp URL queue NAME'\(w.count > 1 ? ", got '\(w[1])'" : "")")
            }
        case "command":
            guard w.count >= 2 else { throw ConfigError("'command' expects a program and its arguments") }
            c.command = Array(w.dropFirst())
        case "workers":
            c.workers = try ValueParsers.integer(try one(), keyword: kw, range: 1...1024)
        case "memory-max":
            let v = try ValueParsers.size(try one(), keyword: kw)
            guard v >= 4 << 20 else { throw ConfigError("'memory-max' must be at least 4M, got '\(w[1])'") }
            c.memoryMax = v
        case "timeout":
            let v = try ValueParsers.time(try one(), keyword: kw)
            guard v > 0 else { throw ConfigError("'timeout' must be greater than 0") }
            c.timeoutMs = v
        case "max-jobs-per-worker":
            c.maxJobsPerWorker = try ValueParsers.integer(try one(), keyword: kw, range: 1...1_000_000)
        case "retries":
            c.retries = try ValueParsers.integer(try one(), keyword: kw, range: 0...100)
        case "max-payload":
            let v = try ValueParsers.size(try one(), keyword: kw)
            guard (1...(64 << 20)).contains(v) else { throw ConfigError("'max-payload' must be between 1 and 64m, got '\(w[1])'") }
            c.maxPayload = v
        case "max-stdout":
            let v = try ValueParsers.size(try one(), keyword: kw)
            guard (1...(16 << 20)).contains(v) else { throw ConfigError("'max-stdout' must be between 1 and 16m, got '\(w[1])'") }
            c.maxStdout = v
        case "max-queued":
            c.maxQueued = try ValueParsers.integer(try one(), keyword: kw, range: 1...100_000_000)
        case "state-dir":
            let path = try one()
            guard path.hasPrefix("/") else { throw ConfigError("'state-dir' expects an absolute directory path, got '\(path)'") }
            c.stateDirectory = path
        case "retry-backoff":
            // retry-backoff BASE [max MAX]
            guard w.count == 2 || (w.count == 4 && w[2] == "max") else {
                throw ConfigError("'retry-backoff' expects 'BASE' or 'BASE max MAX', e.g. 'retry-backoff 1s max 60s'")
            }
            let base = try ValueParsers.time(w[1], keyword: kw)
            let cap = w.count == 4 ? try ValueParsers.time(w[3], keyword: kw) : max(base, 60_000)
            guard base <= 3_600_000, cap <= 86_400_000 else {
                throw ConfigError("'retry-backoff' is bounded: BASE at most 1h, MAX at most 24h")
            }
            guard cap >= base else { throw ConfigError("'retry-backoff' MAX (\(w[3])) is smaller than BASE (\(w[1]))") }
            c.retryBackoffMs = base
            c.retryBackoffMaxMs = cap
        case "keep-finished":
            c.keepFinished = try ValueParsers.integer(try one(), keyword: kw, range: 1...100_000_000)
        default:
            var msg = "unknown keyword '\(kw)' in 'jobs' section"
            if let s = UnsupportedKeywords.suggestion(for: kw, among: jobsKeywords) { msg += "; did you mean '\(s)'?" }
            throw ConfigError(msg)
        }
    }

    /// `amqp://USER:PASS@HOST:PORT/VHOST` (user, password and vhost percent-decoded; port 5672 and vhost "/"
    /// when absent), as RabbitMQ's URI spec reads it.
    static func parseAMQPURL(_ url: String, queue: String) throws -> JobsConfig.AMQPQueue {
        let usage = "'queue amqp' expects amqp://USER:PASS@HOST:PORT/VHOST, got '\(url)'"
        guard url.hasPrefix("amqp://") else {
            throw ConfigError(url.hasPrefix("amqps://") ? "'queue amqp': amqps:// (TLS) is not supported; use amqp:// on a trusted network" : usage)
        }
        var rest = Substring(url.dropFirst("amqp://".count))
        var vhost = "/"
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let v = path.removingPercentEncoding, !v.contains("/") || path.contains("%2") else { throw ConfigError(usage) }
                vhost = v
            }
            rest = rest[..<slash]
        }
        var user = "guest", password = "guest"
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = cred.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let u = parts[0].removingPercentEncoding, !u.isEmpty else { throw ConfigError(usage) }
            user = u
            password = parts.count > 1 ? (parts[1].removingPercentEncoding ?? String(parts[1])) : ""
        }
        var host = String(rest), port = 5672
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw ConfigError("'queue amqp': port must be between 1 and 65535 in '\(url)'")
            }
            port = p
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConfigError(usage) }
        guard queue.utf8.count <= 200, queue.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            throw ConfigError("'queue amqp ... queue NAME': NAME may hold letters, digits and - _ . : (at most 200 bytes), got '\(queue)'")
        }
        return .init(host: host, port: port, vhost: vhost, user: user, password: password, queue: queue)
    }
}
