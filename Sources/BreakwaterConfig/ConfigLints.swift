import BreakwaterConfigModel
import BreakwaterCore
import Foundation

/// A lint: a valid configuration with a habit that caused one of the write-ups' incidents.
/// Printed by `breakwater check` as `FILE:LINE: warning[CODE]: message`; never an error, even with `--strict`.
public struct LintWarning: Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var location: SourceLocation
    public var message: String

    public var description: String { "\(location.file):\(location.line): warning[\(code)]: \(message)" }
}

/// The lints run on a finished snapshot. The figures in the messages are the measured ones (bench/RESULTS.md).
public struct ConfigLints: Sendable {
    /// CPU per active health check, µs (bench/health.sh: 383-411 µs per check, L4 and L7 alike).
    public static let cpuMicrosPerCheck = 400.0
    /// Checks per second per proxy node above which layer-7 checks are a storm (the write-up: 120 pods every 2 s = 60/s).
    public static let l7ChecksPerSecondLimit = 10.0
    /// Stick-table memory above which a table is flagged.
    public static let defaultStickTableBudgetBytes = 256 << 20

    /// The mounts that hold ticket-key files; nil = do not check (unreadable `/proc/mounts`).
    public var mounts: MountTable?
    public var stickTableBudgetBytes: Int

    public init(mounts: MountTable?, stickTableBudgetBytes: Int = ConfigLints.defaultStickTableBudgetBytes) {
        self.mounts = mounts
        self.stickTableBudgetBytes = stickTableBudgetBytes
    }

    /// Lints against this host's `/proc/mounts`.
    public static func forThisHost() -> ConfigLints {
        let text = FileManager.default.contents(atPath: "/proc/mounts").map { String(decoding: $0, as: UTF8.self) }
        return ConfigLints(mounts: text.map { MountTable(procMounts: $0) })
    }

    /// Every warning, in file order.
    public func run(_ s: ConfigSnapshot) -> [LintWarning] {
        var out: [LintWarning] = []
        for fe in s.frontends {
            out += noHTTPRequestTimeout(fe)
            out += ticketKeysPersistent(fe)
            if let t = fe.stickTable { out += stickTableMemory(t, proxy: fe.name, at: fe.location) }
        }
        for be in s.backends {
            out += l7CheckStorm(be)
            out += noMaxconnPool(be)
            out += errorLimitFlap(be)
            if let t = be.stickTable {
                out += stickTableMemory(t, proxy: be.name, at: be.location)
            }
        }
        return out.sorted { ($0.location.file, $0.location.line) < ($1.location.file, $1.location.line) }
    }

    func l7CheckStorm(_ be: BackendConfig) -> [LintWarning] {
        guard case .http(let method, let uri, _, _) = be.checkKind else { return [] }
        let checked = be.servers.filter(\.health.enabled)
        let rate = checked.reduce(0.0) { $0 + 1000.0 / Double(max($1.health.inter, 1)) }
        guard rate >= Self.l7ChecksPerSecondLimit else { return [] }
        let cpu = rate * Self.cpuMicrosPerCheck / 1_000_000 * 100
        let inters = Set(checked.map(\.health.inter))
        let inter = inters.count == 1 ? "inter \(Self.duration(inters.first!))" : "their inter"
        return [LintWarning(code: "L7-CHECK-STORM", location: be.location, message:
            "backend '\(be.name)': layer-7 health checks (\(method) \(uri)) make \(Self.format(rate)) checks/s from each proxy node "
            + "(\(checked.count) servers ÷ \(inter)), ~\(Self.format(cpu)) % of one core here at the measured ~400 µs per check "
            + "(bench/RESULTS.md); every proxy node sends as many, and each one runs the application on the server; "
            + "under load slow checks eject healthy servers and the rest cascade. Use 'option tcp-check' "
            + "and 'observe layer7' (passive checks on real traffic) instead")]
    }

    func noMaxconnPool(_ be: BackendConfig) -> [LintWarning] {
        guard be.mode == .http else { return [] }
        return be.servers.filter { $0.maxconn == 0 }.map { s in
            let fcgi = s.proto == .fcgi || be.fastCGIApp != nil
            let pool = fcgi ? "the FastCGI pool (PHP-FPM pm.max_children)" : "the server's worker pool"
            return LintWarning(code: "NO-MAXCONN-POOL", location: s.location, message:
                "server '\(be.name)/\(s.name)' has no 'maxconn': a burst goes straight to \(pool) instead of waiting "
                + "in Breakwater's queue, piles up in its socket backlog and comes back as 504s; set 'maxconn' to the "
                + "pool's size (the write-up: 'maxconn 250' for 250 FPM workers)")
        }
    }

    func noHTTPRequestTimeout(_ fe: FrontendConfig) -> [LintWarning] {
        guard fe.mode == .http, fe.timeouts.httpRequest == nil, !fe.binds.isEmpty else { return [] }
        return [LintWarning(code: "NO-HTTP-REQUEST-TIMEOUT", location: fe.location, message:
            "frontend '\(fe.name)' has no 'timeout http-request': a slowloris client holds its connection as long as it "
            + "trickles header bytes (only 'timeout client' between reads applies); add 'timeout http-request 10s' "
            + "here or in 'defaults'")]
    }

    func ticketKeysPersistent(_ fe: FrontendConfig) -> [LintWarning] {
        guard let mounts else { return [] }
        return fe.binds.compactMap { bind in
            guard let file = bind.tls?.ticketKeysFile else { return nil }
            let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
            guard let m = mounts.mount(containing: absolute), !m.isRAM else { return nil }
            return LintWarning(code: "TICKET-KEYS-PERSISTENT", location: bind.location, message:
                "'tls-ticket-keys \(file)' is on \(m.fsType) (\(m.mountPoint)), not tmpfs: the keys outlive their rotation "
                + "on disk, and whoever reads them later decrypts every recorded session they protected; keep the file "
                + "on tmpfs (e.g. /run/breakwater/tickets.key)")
        }
    }

    /// Measured bytes per entry, with two rate counters (bench/RESULTS.md: 55.7 B for `type ip`,
    /// 147.9 B total RSS for `type string len 32`); other key types scale with the key length.
    static func bytesPerEntry(_ t: StickTableConfig) -> Int {
        switch t.keyType {
        case .ip, .integer: return 56
        case .ipv6: return 68
        case .string(let len), .binary(let len): return 116 + len
        }
    }

    func stickTableMemory(_ t: StickTableConfig, proxy: String, at location: SourceLocation) -> [LintWarning] {
        let per = Self.bytesPerEntry(t)
        let total = t.size * per
        guard total > stickTableBudgetBytes else { return [] }
        let key: String
        switch t.keyType {
        case .string(let len): key = "string len \(len)"
        case .binary(let len): key = "binary len \(len)"
        default: key = t.keyType.keyword
        }
        return [LintWarning(code: "STICK-TABLE-MEMORY", location: location, message:
            "stick-table of '\(proxy)' (type \(key), size \(t.size)) takes ~\(Self.mib(total)) MiB when full "
            + "(\(per) bytes per entry, from the 56 B measured for type ip and 148 B for string len 32 in bench/RESULTS.md), over the \(Self.mib(stickTableBudgetBytes)) MiB budget; "
            + "lower 'size' or 'expire', or use a shorter key")]
    }

    func errorLimitFlap(_ be: BackendConfig) -> [LintWarning] {
        be.servers.filter { $0.health.observe == .layer7 }.map { s in
            let h = s.health
            return LintWarning(code: "ERROR-LIMIT-FLAP", location: s.location, message:
                "server '\(be.name)/\(s.name)': 'observe layer7' with 'error-limit \(h.errorLimit)' acts after \(h.errorLimit) "
                + "consecutive failed responses (any success resets the count), not a share of errors over time: "
                + "5 % of 5xx within 15 s never reaches it, while one burst of \(h.errorLimit) errors triggers "
                + "'on-error \(h.onError.rawValue)'; size error-limit for a burst, and rely on 'rise'/'inter' to bring the server back")
        }
    }

    static func format(_ x: Double) -> String {
        x >= 10 || x == x.rounded() ? String(Int(x.rounded())) : String(format: "%.1f", x)
    }

    static func mib(_ bytes: Int) -> Int { (bytes + (1 << 19)) >> 20 }

    static func duration(_ ms: Int) -> String {
        ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}
