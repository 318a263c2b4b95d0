import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

/// The `jobs NAME` section of issue 13: every keyword, its defaults, and FILE:LINE errors.
@Suite struct JobsConfigTests {
    let issueExample = [
        "jobs blueprints",
        "    bind 127.0.0.1:8087",
        "    queue dir /var/lib/breakwater/jobs",
        "    command /usr/bin/php /srv/render_blueprint.php",
        "    workers 4",
        "    memory-max 512M",
        "    timeout 120s",
        "    max-jobs-per-worker 50",
        "    retries 3",
        "    max-payload 1m",
        "    max-stdout 64k",
        "    max-queued 5000",
        "    keep-finished 20",
    ]

    @Test func issueExampleParses() throws {
        let r = parse(issueExample)
        expectNoErrors(r)
        let c = try #require(r.snapshot?.jobSections.first)
        #expect(c.name == "blueprints")
        #expect(c.bindHost == "127.0.0.1" && c.bindPort == 8087)
        #expect(c.queue == .directory(path: "/var/lib/breakwater/jobs"))
        #expect(c.command == ["/usr/bin/php", "/srv/render_blueprint.php"])
        #expect(c.workers == 4 && c.memoryMax == 512 << 20 && c.timeoutMs == 120_000)
        #expect(c.maxJobsPerWorker == 50 && c.retries == 3)
        #expect(c.maxPayload == 1 << 20 && c.maxStdout == 64 << 10 && c.maxQueued == 5000 && c.keepFinished == 20)
    }

    @Test func defaults() throws {
        let r = parse(["jobs j", "  bind 127.0.0.1:9000", "  queue dir /tmp/q", "  command /bin/cat"])
        expectNoErrors(r)
        let c = try #require(r.snapshot?.jobSections.first)
        #expect(c.workers == 4 && c.retries == 3 && c.maxQueued == 100_000 && c.maxStdout == 64 << 10)
        #expect(c.memoryMax == 512 << 20 && c.timeoutMs == 120_000 && c.maxPayload == 1 << 20)
    }

    @Test func amqpQueueSplitsTheURL() throws {
        let r = parse([
            "jobs j", "  bind 127.0.0.1:9000",
            "  queue amqp amqp://bw%40ops:s%3Acret@mq.internal:5673/prod%2Fjobs queue blueprints", "  command /bin/cat",
            "  state-dir /var/lib/bw/j", "  retry-backoff 500ms max 30s",
        ])
        expectNoErrors(r)
        let c = try #require(r.snapshot?.jobSections.first)
        #expect(c.queue == .amqp(.init(host: "mq.internal", port: 5673, vhost: "prod/jobs", user: "bw@ops",
                                       password: "s:cret", queue: "blueprints")))
        #expect(c.stateDirectory == "/var/lib/bw/j")
        #expect(c.retryBackoffMs == 500 && c.retryBackoffMaxMs == 30_000)
    }

    @Test func amqpURLDefaults() throws {
        let r = parse(["jobs j", "  bind 127.0.0.1:9000", "  queue amqp amqp://127.0.0.1 queue q", "  command /bin/cat"])
        expectNoErrors(r)
        let c = try #require(r.snapshot?.jobSections.first)
        #expect(c.queue == .amqp(.init(host: "127.0.0.1", port: 5672, vhost: "/", user: "guest", password: "guest", queue: "q")))
        #expect(c.retryBackoffMs == 1_000 && c.retryBackoffMaxMs == 60_000 && c.stateDirectory == nil)
    }

    @Test func badAMQPAndBackoffLinesNameTheDirective() {
        let base = ["jobs j", "  bind 127.0.0.1:9000", "  command /bin/cat"]
        expectError(parse(base + ["  queue amqp amqps://h/ queue q"]), line: 4, "amqps://")
        expectError(parse(base + ["  queue amqp amqp://h:99999/ queue q"]), line: 4, "port")
        expectError(parse(base + ["  queue amqp amqp://h/ queue bad/name"]), line: 4, "NAME")
        expectError(parse(base + ["  queue amqp http://h/ queue q"]), line: 4, "'queue amqp'")
        let q = base + ["  queue dir /tmp/q"]
        expectError(parse(q + ["  retry-backoff 10s max 1s"]), line: 5, "smaller than BASE")
        expectError(parse(q + ["  retry-backoff 1s upto 9s"]), line: 5, "'retry-backoff'")
        expectError(parse(q + ["  retry-backoff soon"]), line: 5, "'retry-backoff'")
        expectError(parse(q + ["  state-dir relative/dir"]), line: 5, "'state-dir'")
    }

    @Test func unknownKeywordSuggests() {
        let r = parse(["jobs j", "  bind 127.0.0.1:9000", "  queue dir /tmp/q", "  command /bin/cat", "  worker 2"])
        expectError(r, line: 5, "did you mean 'workers'")
    }

    @Test func badValuesNameTheDirective() {
        let base = ["jobs j", "  bind 127.0.0.1:9000", "  queue dir /tmp/q", "  command /bin/cat"]
        expectError(parse(base + ["  workers 0"]), line: 5, "'workers'")
        expectError(parse(base + ["  memory-max 12x"]), line: 5, "'memory-max'")
        expectError(parse(base + ["  memory-max 1k"]), line: 5, "at least 4M")
        expectError(parse(base + ["  timeout 0"]), line: 5, "'timeout'")
        expectError(parse(base + ["  retries -1"]), line: 5, "'retries'")
        expectError(parse(base + ["  max-payload 128m"]), line: 5, "'max-payload'")
        expectError(parse(base + ["  max-stdout"]), line: 5, "'max-stdout'")
        expectError(parse(base + ["  max-queued many"]), line: 5, "'max-queued'")
        expectError(parse(base + ["  keep-finished 0"]), line: 5, "'keep-finished'")
        expectError(parse(base + ["  queue amqp amqp://h/ q"]), line: 5, "'queue amqp'")
        expectError(parse(base + ["  queue redis x"]), line: 5, "'queue'")
        expectError(parse(["jobs j", "  bind /tmp/sock", "  queue dir /tmp/q", "  command /bin/cat"]), line: 2, "'bind'")
    }

    @Test func missingRequiredLinesPointAtTheSection() {
        expectError(parse(["jobs j", "  queue dir /tmp/q", "  command /bin/cat"]), line: 1, "'bind HOST:PORT'")
        expectError(parse(["jobs j", "  bind 127.0.0.1:9000", "  command /bin/cat"]), line: 1, "'queue dir PATH'")
        expectError(parse(["jobs j", "  bind 127.0.0.1:9000", "  queue dir /tmp/q"]), line: 1, "'command")
        expectError(parse(["jobs"]), line: 1, "<name>")
    }

    @Test func errorCarriesFileName() {
        let r = parse(["jobs j", "  bind 127.0.0.1:9000", "  queue dir /tmp/q", "  command /bin/cat", "  retries x"],
                      file: "jobs.cfg")
        #expect(errors(r).first?.description.hasPrefix("jobs.cfg:5") == true, "\(errors(r).map(\.description))")
    }
}
