import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

/// The `telemetry NAME` section: the forms, the limits and every error with its FILE:LINE.
@Suite struct TelemetryConfigTests {
    let base = [
        "telemetry scada",
        "  bind 127.0.0.1:8086",
        "  log dir /tmp/bw-telemetry",
        "  sink sqlite /tmp/bw.db table machine_heartbeat key machine_id",
    ]

    @Test func embeddedDefaults() throws {
        let r = parse(base)
        expectNoErrors(r)
        let c = try #require(r.snapshot?.telemetrySections.first)
        #expect(c.name == "scada")
        #expect(c.bindHost == "127.0.0.1" && c.bindPort == 8086)
        #expect(c.state == .memory)
        #expect(c.log == .directory(path: "/tmp/bw-telemetry"))
        #expect(c.sink == .sqlite(path: "/tmp/bw.db", table: "machine_heartbeat", key: "machine_id"))
        #expect(c.windowMs == 60_000)
        #expect(c.limits == TelemetryConfig.Limits())
    }

    @Test func everyLimitKeyword() throws {
        let r = parse(base + [
            "  state memory", "  window 250ms", "  max-body-size 64k", "  max-batch-records 100", "  max-fields 8",
            "  max-key-length 32", "  max-log-size 10m", "  upsert-max-rows 2", "  max-machines 500",
        ])
        expectNoErrors(r)
        let c = try #require(r.snapshot?.telemetrySections.first)
        #expect(c.windowMs == 250)
        #expect(c.limits.maxBodyBytes == 64 << 10)
        #expect(c.limits.maxBatchRecords == 100)
        #expect(c.limits.maxFieldsPerRecord == 8)
        #expect(c.limits.maxKeyLength == 32)
        #expect(c.limits.maxLogBytes == 10 << 20)
        #expect(c.limits.upsertMaxRows == 2)
        #expect(c.limits.maxMachines == 500)
    }

    @Test func unknownKeywordSuggests() {
        let r = parse(base + ["  windw 1s"])
        expectError(r, line: 5, "did you mean 'window'")
    }

    @Test func missingRequiredLines() {
        let r = parse(["telemetry t", "  bind 127.0.0.1:1"])
        expectError(r, line: 1, "no 'log' line")
        expectError(r, line: 1, "no 'sink' line")
    }

    @Test func badForms() {
        expectError(parse(base + ["  window 5"]), line: 5, "at least 10ms")
        expectError(parse(base + ["  window 1x"]), line: 5, "unexpected character 'x'")
        expectError(parse(base + ["  state disk"]), line: 5, "'state' expects 'memory'")
        expectError(parse(base + ["  max-fields 0"]), line: 5, "between 1 and 1000")
        expectError(parse(base + ["  max-log-size 1k"]), line: 5, "at least")
        expectError(parse(base + ["  bind 127.0.0.1:1"]), line: 5, "given twice")
        expectError(parse(["telemetry t", "  bind 127.0.0.1", "  log dir /x", "  sink sqlite /x table t key k"]), line: 2, "missing port")
        expectError(parse(["telemetry t", "  bind 127.0.0.1:1", "  log disk /x", "  sink sqlite /x table t key k"]), line: 3, "'log' expects")
        expectError(parse(["telemetry t", "  bind 127.0.0.1:1", "  log dir /x", "  sink sqlite /x table bad-name key k"]), line: 4, "table name")
        expectError(parse(["telemetry t", "  bind 127.0.0.1:1", "  log dir /x", "  sink sqlite /x table t key ts"]), line: 1, "key ts")
        expectError(parse(["telemetry"]), line: 1, "expects <name>")
    }

    /// The distributed choices parse their full syntax; what this build lacks is said plainly.
    @Test func notYetSupportedChoicesAreErrors() {
        expectError(parse(base + ["  state redis redis://127.0.0.1:6379/0 prefix"]), line: 5, "'state redis' expects")
        expectError(parse(base + ["  state redis 127.0.0.1:6379"]), line: 5, "redis:// URL")
        let withLog = { (l: String) in ["telemetry t", "  bind 127.0.0.1:1", l, "  sink sqlite /x table t key k"] }
        let stream = parse(withLog("  log redis-stream redis://127.0.0.1:6379/0 stream hb group c") + ["  max-log-records 5000"])
        expectNoErrors(stream)
        #expect(stream.snapshot?.telemetrySections.first?.log == .redisStream(url: "redis://127.0.0.1:6379/0", stream: "hb", group: "c"))
        #expect(stream.snapshot?.telemetrySections.first?.limits.maxLogRecords == 5000)
        expectError(parse(withLog("  log redis-stream redis://127.0.0.1:6379/0 stream hb groups c")), line: 3, "'log redis-stream' expects")
        expectError(parse(withLog("  log redis-stream 127.0.0.1:6379 stream hb group c")), line: 3, "redis:// URL")
        expectError(parse(base + ["  max-log-records 10"]), line: 5, "between 100 and")
        let kafka = parse(withLog("  log kafka brokers 127.0.0.1:9092,127.0.0.1:9093 topic hb group c"))
        expectNoErrors(kafka)
        #expect(kafka.snapshot?.telemetrySections.first?.log == .kafka(brokers: "127.0.0.1:9092,127.0.0.1:9093", topic: "hb", group: "c"))
        expectError(parse(withLog("  log kafka brokers 127.0.0.1 topic hb group c")), line: 3, "host:port")
        expectError(parse(withLog("  log kafka brokers 127.0.0.1:9092 topic hb")), line: 3, "expects brokers")
        expectError(parse(["telemetry t", "  bind 127.0.0.1:1", "  log dir /x",
                           "  sink mysql mysql://w:s@127.0.0.1:3306 table t key k"]), line: 4, "no database")
        let m = parse(["telemetry t", "  bind 127.0.0.1:1", "  log dir /x", "  sink mysql mysql://w:s@127.0.0.1:3306/f table t key k"])
        expectNoErrors(m)
        #expect(m.snapshot?.telemetrySections.first?.sink == .mysql(url: "mysql://w:s@127.0.0.1:3306/f", table: "t", key: "k"))
    }

    @Test func stateRedis() throws {
        let r = parse(base + ["  state redis redis://127.0.0.1:6379/0 prefix sensor:"])
        expectNoErrors(r)
        #expect(r.snapshot?.telemetrySections.first?.state == .redis(url: "redis://127.0.0.1:6379/0", prefix: "sensor:"))
        let d = parse(base + ["  state redis redis://127.0.0.1:6379/0"])
        #expect(d.snapshot?.telemetrySections.first?.state == .redis(url: "redis://127.0.0.1:6379/0", prefix: "telemetry:"))
    }

    @Test func duplicateSectionName() {
        expectError(parse(base + base), line: 5, "already declared")
    }
}

@Test func checkSummaryNamesDataTierSections() {
    let text = """
    telemetry scada
        bind 127.0.0.1:8086
        state memory
        log dir /tmp/bw-summary-test
        window 1s
        sink sqlite /tmp/bw-summary-test/t.db table machine_heartbeat key machine_id
    """
    let r = ConfigParser(environment: [:]).parse([ConfigSource(path: "t.cfg", text: text)])
    #expect(r.summary == "Configuration file is valid: 0 frontends, 0 backends, 0 servers, 1 telemetry section",
            "\(r.diagnostics)")
}
