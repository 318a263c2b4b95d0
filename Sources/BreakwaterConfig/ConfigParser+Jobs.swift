import BreakwaterConfigModel

/// A `jobs` section while its lines are read.
struct JobsDraft {
    var config: JobsConfig
}

/// The `jobs NAME` section: keywords of issue 13 (docs/jobs.md lists them with defaults).
extension ConfigParseSession {
    static let jobsKeywords = [
        "bind", "queue", "command", "workers", "memory-max", "timeout", "max-jobs-per-worker", "retries",
        "max-payload", "max-stdout", "max-queued", "keep-finished",
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
                guard w[2].hasPrefix("amqp://") else {
                    throw ConfigError("'queue amqp' expects an amqp:// URL, got '\(w[2])'")
                }
                // The model keeps the amqp form for the RabbitMQ back end; until it is built, say so here.
                throw ConfigError("'queue amqp' is not supported yet by this build; use 'queue dir PATH' (see docs/jobs.md)")
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
        case "keep-finished":
            c.keepFinished = try ValueParsers.integer(try one(), keyword: kw, range: 1...100_000_000)
        default:
            var msg = "unknown keyword '\(kw)' in 'jobs' section"
            if let s = UnsupportedKeywords.suggestion(for: kw, among: jobsKeywords) { msg += "; did you mean '\(s)'?" }
            throw ConfigError(msg)
        }
    }
}
