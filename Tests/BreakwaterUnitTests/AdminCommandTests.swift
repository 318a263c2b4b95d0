@testable import BreakwaterControlPlane
import BreakwaterConfigModel
@testable import BreakwaterHTTP
import BreakwaterObservability
import Logging
import NIOPosix
import Testing

/// Admin-socket commands (spec CLI-2, CLI-4, CLI-5, CLI-7, CLI-8) driven through `AdminCommands.execute`
/// against a runtime built from a snapshot (no sockets).
@Suite struct AdminCommandTests {
    static func loc(_ line: Int) -> BreakwaterConfigModel.SourceLocation { BreakwaterConfigModel.SourceLocation(file: "t.cfg", line: line) }

    static func server(_ name: String, port: Int, line: Int, _ configure: (inout ServerConfig) -> Void = { _ in }) -> ServerConfig {
        var s = ServerConfig(name: name, host: "127.0.0.1", port: port, location: loc(line))
        configure(&s)
        return s
    }

    /// `frontend fe` → `backend be` (s1 checked weight 10, s2 unchecked, s3 disabled), then `listen app`.
    static func snapshot() -> ConfigSnapshot {
        var global = GlobalSettings()
        global.maxconn = 1000
        global.statsSockets = [StatsSocketConfig(address: .unix(path: "/tmp/bw-test.sock"), level: .admin, location: loc(3))]

        var fe = FrontendConfig(name: "fe", location: loc(10))
        fe.mode = .http
        fe.binds = [BindConfig(host: "127.0.0.1", port: 18080, location: loc(11))]
        fe.defaultBackend = "be"
        fe.maxconn = 200

        var be = BackendConfig(name: "be", location: loc(20))
        be.mode = .http
        be.balance = .leastconn
        be.servers = [
            server("s1", port: 18081, line: 21) {
                $0.health.enabled = true
                $0.weight = 10
                $0.maxconn = 5
                $0.maxqueue = 7
            },
            server("s2", port: 18082, line: 22),
            server("s3", port: 18083, line: 23) { $0.disabled = true },
        ]

        var appFE = FrontendConfig(name: "app", location: loc(30))
        appFE.mode = .http
        appFE.binds = [BindConfig(host: "127.0.0.1", port: 18090, location: loc(31))]
        appFE.defaultBackend = "app"
        var appBE = BackendConfig(name: "app", location: loc(30))
        appBE.mode = .http
        appBE.servers = [server("a1", port: 18091, line: 32)]

        return ConfigSnapshot(global: global, frontends: [fe, appFE], backends: [be, appBE])
    }

    static func make() throws -> (AdminCommands, ProxyRuntime) {
        let runtime = try ProxyRuntime(snapshot: snapshot(), logWriter: LogWriter(), framer: SyslogFramer(tag: "test"))
        let server = ProxyServer(runtime: runtime, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        return (AdminCommands(runtime: runtime, server: server, stopping: { false }, nbthread: 1), runtime)
    }

    static func run(_ commands: AdminCommands, _ line: String, level: AdminLevel = .admin) -> String {
        let session = AdminSession(level: level)
        return AdminLineParser.commands(line).map { commands.execute($0, session: session) }.joined()
    }

    /// CSV rows (without header) split into fields, keyed "pxname/svname".
    static func statRows(_ out: String) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in out.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            rows["\(f[0])/\(f[1])"] = f
        }
        return rows
    }

    static func col(_ name: String) -> Int { StatColumn.allCases.first { $0.name == name }!.rawValue }

    static func serverStateFields(_ out: String, _ server: String) -> [String]? {
        out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.count > 3 && $0[3] == server }
    }

    // MARK: - help and levels

    @Test func helpListsCommandsByLevel() throws {
        let (c, _) = try Self.make()
        let user = Self.run(c, "help", level: .user)
        for cmd in ["show info", "show stat", "show servers state", "show sess", "help", "prompt", "quit"] {
            #expect(user.contains("  " + cmd), "missing \(cmd)")
        }
        #expect(!user.contains("disable server"))
        #expect(!user.contains("set server"))
        let admin = Self.run(c, "help", level: .admin)
        for cmd in ["disable server", "enable server", "set server", "set weight", "get weight"] {
            #expect(admin.contains("  " + cmd), "missing \(cmd)")
        }
        #expect(!admin.contains("\n\n"), "help output must not contain an empty line")
    }

    @Test func adminCommandsNeedAdminLevel() throws {
        let (c, runtime) = try Self.make()
        for cmd in ["disable server be/s1", "enable server be/s3", "set server be/s1 state drain", "set server be/s1 weight 3",
                    "set weight be/s1 3"] {
            #expect(Self.run(c, cmd, level: .operator) == "Permission denied\n", "\(cmd)")
            #expect(Self.run(c, cmd, level: .user) == "Permission denied\n", "\(cmd)")
        }
        let load = runtime.backends[0].balancer.load()
        #expect(load.servers.map(\.adminState) == [.ready, .ready, .maint])
        #expect(load.servers[0].weight == 10)
    }

    // MARK: - show stat

    @Test func showStatHeaderIsTheHundredHAProxyColumns() throws {
        let (c, _) = try Self.make()
        let out = Self.run(c, "show stat", level: .user)
        let header = String(out.split(separator: "\n")[0])
        let expected = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,"
            + "bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
            + "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
            + "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,"
            + "qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,"
            + "check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,"
            + "intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,"
            + "rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,"
        #expect(header == expected)
        #expect(out.hasSuffix("\n"))
        #expect(!out.contains("\n\n"), "the caller adds the terminating empty line")
        for line in out.split(separator: "\n").dropFirst() {
            #expect(line.split(separator: ",", omittingEmptySubsequences: false).count == 101, "\(line)")
            #expect(line.hasSuffix(","))
        }
    }

    @Test func showStatRowsOrderIidsAndColumns() throws {
        let (c, runtime) = try Self.make()
        let out = Self.run(c, "show stat", level: .user)
        let names = out.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(2).joined(separator: "/") }
        #expect(names == ["fe/FRONTEND", "be/s1", "be/s2", "be/s3", "be/BACKEND", "app/FRONTEND", "app/a1", "app/BACKEND"])
        let rows = Self.statRows(out)
        let col = Self.col
        // The stats socket takes iid 1: user proxies are 2, 3, 4 in declaration order; a listen is one proxy.
        #expect(rows["fe/FRONTEND"]![col("iid")] == "2")
        #expect(rows["be/s1"]![col("iid")] == "3" && rows["be/BACKEND"]![col("iid")] == "3")
        #expect(rows["app/FRONTEND"]![col("iid")] == "4" && rows["app/a1"]![col("iid")] == "4" && rows["app/BACKEND"]![col("iid")] == "4")
        #expect(rows["be/s2"]![col("sid")] == "2" && rows["be/BACKEND"]![col("sid")] == "0")
        #expect(rows["fe/FRONTEND"]![col("type")] == "0" && rows["be/BACKEND"]![col("type")] == "1" && rows["be/s1"]![col("type")] == "2")
        #expect(rows["fe/FRONTEND"]![col("pid")] == "1")

        // Statuses.
        #expect(rows["fe/FRONTEND"]![col("status")] == "OPEN")
        #expect(rows["be/s1"]![col("status")] == runtime.backends[0].servers[0].health!.statusText(adminState: .ready))
        #expect(rows["be/s2"]![col("status")] == "no check")
        #expect(rows["be/s3"]![col("status")] == "MAINT")
        #expect(rows["be/BACKEND"]![col("status")] == "UP")

        // Limits, weights, check columns.
        #expect(rows["fe/FRONTEND"]![col("slim")] == "200")
        #expect(rows["be/s1"]![col("slim")] == "5" && rows["be/s2"]![col("slim")] == "")
        #expect(rows["be/s1"]![col("qlimit")] == "7")
        #expect(rows["be/BACKEND"]![col("slim")] == "20", "fullconn = ceil(200 / 10)")
        #expect(rows["app/BACKEND"]![col("slim")] == "100", "listen: its own frontend, global maxconn 1000")
        #expect(rows["be/s1"]![col("weight")] == "10" && rows["be/s1"]![col("uweight")] == "10")
        #expect(rows["be/BACKEND"]![col("weight")] == "11", "s1 + s2; s3 in MAINT does not count")
        #expect(rows["be/BACKEND"]![col("act")] == "2" && rows["be/BACKEND"]![col("bck")] == "0")
        #expect(rows["be/s1"]![col("act")] == "1" && rows["be/s1"]![col("bck")] == "0")
        #expect(rows["be/s1"]![col("check_status")] == "INI")
        #expect(rows["be/s1"]![col("check_desc")] == "Initializing")
        #expect(rows["be/s1"]![col("check_rise")] == "2" && rows["be/s1"]![col("check_fall")] == "3")
        #expect(rows["be/s1"]![col("check_health")] == "2")
        #expect(rows["be/s1"]![col("chkfail")] == "0" && rows["be/s1"]![col("chkdown")] == "0")
        #expect(rows["be/s2"]![col("check_status")] == "" && rows["be/s2"]![col("chkfail")] == "")
        #expect(rows["be/s1"]![col("addr")] == "127.0.0.1:18081")
        #expect(rows["be/BACKEND"]![col("algo")] == "leastconn" && rows["be/s1"]![col("algo")] == "")
        #expect(rows["be/s1"]![col("mode")] == "http")
        #expect(Int(rows["be/s1"]![col("lastchg")]) != nil)
    }

    @Test func showStatReflectsCounters() throws {
        let (c, runtime) = try Self.make()
        let fe = runtime.frontends[0], be = runtime.backends[0]
        fe.counters.currentSessions.store(3, ordering: .relaxed)
        fe.counters.noteSessions(3)
        fe.counters.currentSessions.store(1, ordering: .relaxed)
        fe.counters.totalSessions.store(9, ordering: .relaxed)
        fe.counters.requests.store(12, ordering: .relaxed)
        fe.counters.countResponse(status: 200)
        fe.counters.countResponse(status: 503)
        fe.counters.countResponse(status: 42)
        fe.counters.deniedRequests.store(2, ordering: .relaxed)
        fe.counters.requestErrors.store(4, ordering: .relaxed)
        fe.counters.bytesIn.store(1000, ordering: .relaxed)
        be.counters.connectErrors.store(5, ordering: .relaxed)
        be.counters.retries.store(6, ordering: .relaxed)
        be.counters.redispatches.store(1, ordering: .relaxed)
        be.counters.requests.store(11, ordering: .relaxed)
        // Two requests on s1 through the balancer.
        for _ in 0..<2 { _ = be.balancer.acquire(server: 0) }
        be.activeRequests.store(2, ordering: .relaxed)

        let rows = Self.statRows(Self.run(c, "show stat", level: .user))
        let col = Self.col
        let f = rows["fe/FRONTEND"]!
        #expect(f[col("scur")] == "1" && f[col("smax")] == "3" && f[col("stot")] == "9")
        #expect(f[col("req_tot")] == "12" && f[col("hrsp_2xx")] == "1" && f[col("hrsp_5xx")] == "1" && f[col("hrsp_other")] == "1")
        #expect(f[col("dreq")] == "2" && f[col("ereq")] == "4" && f[col("bin")] == "1000")
        let b = rows["be/BACKEND"]!
        #expect(b[col("econ")] == "5" && b[col("wretr")] == "6" && b[col("wredis")] == "1" && b[col("req_tot")] == "11")
        #expect(b[col("scur")] == "2" && b[col("lbtot")] == "2")
        let s1 = rows["be/s1"]!
        #expect(s1[col("scur")] == "2" && s1[col("smax")] == "2" && s1[col("lbtot")] == "2")
    }

    @Test func showStatFilters() throws {
        let (c, _) = try Self.make()
        func names(_ cmd: String) -> [String] {
            Self.run(c, cmd, level: .user).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(2).joined(separator: "/") }
        }
        #expect(names("show stat be 4 -1") == ["be/s1", "be/s2", "be/s3"])
        #expect(names("show stat 3 2 -1") == ["be/BACKEND"])
        #expect(names("show stat fe 1 -1") == ["fe/FRONTEND"])
        #expect(names("show stat app 3 -1") == ["app/FRONTEND", "app/BACKEND"])
        #expect(names("show stat -1 4 2") == ["be/s2"])
        #expect(names("show stat -1 -1 -1 no-maint").contains("be/s3") == false)
        #expect(names("show stat be 4 -1 up") == ["be/s1", "be/s2"])
        #expect(Self.run(c, "show stat nope 1 -1", level: .user) == "No such proxy.\n")
        #expect(Self.run(c, "show stat be x -1", level: .user).hasPrefix("Usage: show stat"))
    }

    @Test func showStatQuotesDetailTextWithCommas() throws {
        let (c, runtime) = try Self.make()
        let health = runtime.backends[0].servers[0].health!
        _ = health.recordCheck(passed: false, status: .l4connect, info: "Connection refused, \"port\" closed", durationMs: 3, nowMs: wallClockMs())
        let out = Self.run(c, "show stat be 4 1", level: .user)
        let line = String(out.split(separator: "\n")[1])
        #expect(line.contains(",\"Connection refused, \"\"port\"\" closed\","))
        #expect(line.contains(",L4CON,"))
        #expect(line.contains(",Layer4 connection problem,"))
        let rows = Self.statRows(out)
        #expect(rows["be/s1"]![Self.col("chkfail")] == "1")
        #expect(rows["be/s1"]![Self.col("check_duration")] == "3")
        #expect(rows["be/s1"]![Self.col("status")] == "DOWN")
        #expect(rows["be/s1"]![Self.col("chkdown")] == "1")
    }

    // MARK: - show servers state

    @Test func showServersStateFormat() throws {
        let (c, _) = try Self.make()
        let out = Self.run(c, "show servers state", level: .user)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines[0] == "1")
        #expect(lines[1] == "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
            + "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state "
            + "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
            + "srv_agent_addr srv_agent_port")
        #expect(lines.count == 2 + 4)
        for line in lines.dropFirst(2) { #expect(line.split(separator: " ").count == 25, "\(line)") }
        let s1 = Self.serverStateFields(out, "s1")!
        #expect(Array(s1[0...8]) == ["3", "be", "1", "s1", "127.0.0.1", "2", "0", "10", "10"])
        #expect(Array(s1[10...14]) == ["1", "0", "2", "6", "0"], "checked, before its first check: INI, result 0, h = rise")
        #expect(s1[18] == "18081" && s1[21] == "18081" && s1[17] == "-")
        let s2 = Self.serverStateFields(out, "s2")!
        #expect(Array(s2[5...8]) == ["2", "0", "1", "1"])
        #expect(Array(s2[10...14]) == ["1", "0", "2", "0", "0"], "unchecked server")
        #expect(s2[21] == "0")
        let s3 = Self.serverStateFields(out, "s3")!
        #expect(s3[5] == "0", "disabled: stopped")
        #expect((Int(s3[6])! & 0x04) != 0, "config maintenance bit")
        #expect(s3[12] == "0", "disabled: h = 0")
        #expect(Self.serverStateFields(out, "a1")![0] == "4")

        let one = Self.run(c, "show servers state app", level: .user)
        #expect(one.split(separator: "\n").count == 3)
        #expect(Self.run(c, "show servers state nope", level: .user) == "Can't find backend.\n")
    }

    // MARK: - server admin state (CLI-7)

    @Test func disableEnableAndDrain() throws {
        let (c, runtime) = try Self.make()
        let be = runtime.backends[0]
        // Make s1 steadily UP.
        let health = be.servers[0].health!
        _ = health.recordCheck(passed: true, status: .l4ok, info: nil, durationMs: 0, nowMs: wallClockMs())
        var state = Self.serverStateFields(Self.run(c, "show servers state be"), "s1")!
        #expect(Array(state[5...14]) == ["2", "0", "10", "10", state[9], "6", "3", "4", "6", "0"])

        #expect(Self.run(c, "disable server be/s1") == "")
        #expect(be.balancer.adminState(server: 0) == .maint)
        state = Self.serverStateFields(Self.run(c, "show servers state be"), "s1")!
        #expect(state[5] == "0" && state[6] == "1" && state[12] == "0" && state[13] == "14")
        #expect(Self.statRows(Self.run(c, "show stat"))["be/s1"]![Self.col("status")] == "MAINT")

        #expect(Self.run(c, "set server be/s1 state drain") == "")
        state = Self.serverStateFields(Self.run(c, "show servers state be"), "s1")!
        #expect(state[5] == "2" && state[6] == "8" && state[12] == "2" && state[13] == "6", "DRAIN right after MAINT: h = rise")
        #expect(Self.statRows(Self.run(c, "show stat"))["be/s1"]![Self.col("status")].hasPrefix("DRAIN"))
        #expect(Self.statRows(Self.run(c, "show stat"))["be/BACKEND"]![Self.col("weight")] == "1", "a drained server does not count")

        #expect(Self.run(c, "enable server be/s1") == "")
        #expect(be.balancer.adminState(server: 0) == .ready)
        #expect(Self.serverStateFields(Self.run(c, "show servers state be"), "s1")![6] == "0")

        #expect(Self.run(c, "set server be/s1 state maint") == "")
        #expect(be.balancer.adminState(server: 0) == .maint)
        #expect(Self.run(c, "set server be/s1 state ready") == "")
        #expect(be.balancer.adminState(server: 0) == .ready)
    }

    @Test func configDisabledServerUntilEnabled() throws {
        let (c, runtime) = try Self.make()
        let be = runtime.backends[0]
        #expect(Self.serverStateFields(Self.run(c, "show servers state be"), "s3")![6] == "5", "HAProxy sets CMAINT|FMAINT")
        #expect(Self.run(c, "enable server be/s3") == "")
        #expect(be.balancer.adminState(server: 2) == .ready)
        #expect(Self.serverStateFields(Self.run(c, "show servers state be"), "s3")![6] == "0")
        #expect(Self.statRows(Self.run(c, "show stat"))["be/s3"]![Self.col("status")] == "no check")
        #expect(Self.run(c, "disable server be/s3") == "")
        #expect(Self.serverStateFields(Self.run(c, "show servers state be"), "s3")![6] == "1", "forced maintenance only")
    }

    @Test func leavingMaintenanceMakesADownServerUsableAgain() throws {
        let (c, runtime) = try Self.make()
        let be = runtime.backends[0]
        let health = be.servers[0].health!
        _ = health.recordCheck(passed: false, status: .l4connect, info: "Connection refused", durationMs: 0, nowMs: wallClockMs())
        be.balancer.setUp(server: 0, false)  // what the checker does on `wentDown`
        #expect(Self.run(c, "disable server be/s1; enable server be/s1") == "")
        #expect(health.isUp, "h = rise after leaving MAINT")
        #expect(be.balancer.load().servers[0].isUp)
        #expect(be.balancer.acquire(server: 0))
    }

    @Test func serverLookupErrors() throws {
        let (c, _) = try Self.make()
        #expect(Self.run(c, "disable server") == "Require 'backend/server'.\n")
        #expect(Self.run(c, "disable server be") == "Require 'backend/server'.\n")
        #expect(Self.run(c, "enable server nope/s1") == "No such backend.\n")
        #expect(Self.run(c, "enable server be/nope") == "No such server.\n")
        #expect(Self.run(c, "set server be/nope state ready") == "No such server.\n")
        #expect(Self.run(c, "set server fe/s1 state ready") == "No such backend.\n", "a frontend is not a backend")
        #expect(Self.run(c, "set server be/s1 state bogus") == "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n")
        #expect(Self.run(c, "set server be/s1 state") == "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n")
        #expect(Self.run(c, "set server be/s1").contains("only supports"))
    }

    @Test func idsSelectBackendAndServer() throws {
        let (c, runtime) = try Self.make()
        #expect(Self.run(c, "disable server #3/#2") == "")
        #expect(runtime.backends[0].balancer.adminState(server: 1) == .maint)
        #expect(Self.run(c, "enable server #4/a1") == "")
        #expect(Self.run(c, "disable server #2/s1") == "No such backend.\n", "#2 is the frontend")
    }

    // MARK: - weight (CLI-8)

    @Test func setWeight() throws {
        let (c, runtime) = try Self.make()
        let b = runtime.backends[0].balancer
        #expect(Self.run(c, "set server be/s1 weight 50%") == "")
        #expect(b.load().servers[0].weight == 5)
        #expect(Self.run(c, "get weight be/s1") == "5 (initial 10)\n")
        #expect(Self.run(c, "set server be/s1 weight 300%") == "")
        #expect(b.load().servers[0].weight == 30)
        #expect(Self.run(c, "set weight be/s1 0") == "")
        #expect(b.load().servers[0].weight == 0)
        #expect(Self.statRows(Self.run(c, "show stat"))["be/BACKEND"]![Self.col("weight")] == "1")
        #expect(Self.run(c, "set server be/s1 weight 257") == "Absolute weight can only be between 0 and 256 inclusive.\n")
        #expect(Self.run(c, "set server be/s1 weight -1%") == "Relative weight must be positive.\n")
        #expect(Self.run(c, "set server be/s1 weight") == "Require <weight> or <weight%>.\n")
        #expect(Self.run(c, "set server be/s1 weight 3x") == "Trailing garbage in weight string\n")
        #expect(b.load().servers[0].weight == 0)
        #expect(Self.run(c, "set server be/s1 weight 256") == "")
        #expect(b.load().servers[0].weight == 256)
    }

    // MARK: - show sess

    @Test func showSessSummary() throws {
        let (c, runtime) = try Self.make()
        runtime.frontends[0].counters.currentSessions.store(2, ordering: .relaxed)
        let out = Self.run(c, "show sess", level: .user)
        #expect(out.contains("total: 0 client connections"))
        #expect(out.contains("frontend fe: cur=2"))
        #expect(out.contains("backend be: active=0 queued=0"))
        #expect(!out.contains("\n\n"))
    }
}
