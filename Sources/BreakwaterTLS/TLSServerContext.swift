#if canImport(Glibc)
import Glibc
#endif
import BreakwaterConfigModel
import CBreakwaterOpenSSL

/// A configuration error of a TLS bind, worded like HAProxy's where one exists (TLS-1, TLS-6, FE-1).
public enum TLSConfigError: Error, Equatable, CustomStringConvertible {
    case certificateNotFound(path: String)
    case noCertificateInDirectory(path: String)
    case unreadableCertificate(path: String, detail: String)
    case noPrivateKey(path: String)
    case keyMismatch(path: String)
    case ticketKeys(TicketKeyError)
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .certificateNotFound(let p): return "unable to stat SSL certificate from file '\(p)' : No such file or directory."
        case .noCertificateInDirectory(let p): return "no certificate found in directory '\(p)'"
        case .unreadableCertificate(let p, let d):
            return "unable to load SSL certificate from PEM file '\(p)'" + (d.isEmpty ? "." : " (\(d)).")
        case .noPrivateKey(let p): return "unable to load SSL private key from PEM file '\(p)' (nor from '\(p).key')."
        case .keyMismatch(let p): return "inconsistencies between private key and certificate loaded from PEM file '\(p)'."
        case .ticketKeys(let e): return e.description
        case .invalidSetting(let s): return s
        }
    }
}

/// The OpenSSL server contexts of one TLS bind line: one `SSL_CTX` per certificate (the first is the
/// default), SNI selection, versions, ciphers, curves, ALPN and the shared ticket-key ring.
///
/// Built in the control plane (reads files); immutable afterwards and shared by every event loop.
public final class TLSServerContext: @unchecked Sendable {
    /// `SSL_CTX *` per certificate, in load order.
    let contexts: [OpaquePointer]
    /// Lower-cased exact names → context index (first loaded wins).
    let exactNames: [String: Int]
    /// Lower-cased wildcard suffixes (`*.example.org` → `example.org`) → context index.
    let wildcardNames: [String: Int]
    /// Certificate files in load order (after directory expansion).
    public let certificateFiles: [String]
    public let alpn: [String]
    public let ticketRing: TicketKeyRing?
    /// Handshakes completed on this context's connections (the dashboard's TLS resumption ratio).
    public let handshakes: TLSHandshakeCounters

    /// Loads every certificate of `config` (TLS-1) and applies the settings. Never call on an event loop.
    public init(config: TLSBindConfig, ticketRing: TicketKeyRing?, handshakes: TLSHandshakeCounters = TLSHandshakeCounters()) throws(TLSConfigError) {
        self.handshakes = handshakes
        var files: [String] = []
        for path in config.certificates { files += try Self.expand(path) }
        var contexts: [OpaquePointer] = []
        var exact: [String: Int] = [:]
        var wildcard: [String: Int] = [:]
        do {
            for file in files {
                let ctx = try Self.makeContext(certificate: file, config: config, ticketRing: ticketRing)
                contexts.append(ctx)
                for name in Self.names(of: ctx) {
                    if name.hasPrefix("*.") {
                        let suffix = String(name.dropFirst(2))
                        if wildcard[suffix] == nil { wildcard[suffix] = contexts.count - 1 }
                    } else if exact[name] == nil {
                        exact[name] = contexts.count - 1
                    }
                }
            }
        } catch {
            for c in contexts { SSL_CTX_free(c) }
            throw error
        }
        self.contexts = contexts
        exactNames = exact
        wildcardNames = wildcard
        certificateFiles = files
        alpn = config.alpn
        self.ticketRing = ticketRing
        if contexts.count > 1 {
            let me = Unmanaged.passUnretained(self).toOpaque()
            for c in contexts { bw_ssl_ctx_set_servername_callback(c, tlsServerNameCallback, me) }
        }
    }

    deinit {
        for c in contexts { SSL_CTX_free(c) }
    }

    /// A new server-side `SSL *` on the default context, or nil when OpenSSL is out of memory.
    func makeSSL() -> OpaquePointer? { SSL_new(contexts[0]) }

    /// Index of the context answering `serverName` (TLS-2): exact, then wildcard of one extra
    /// leftmost label, else nil (the default stays).
    func contextIndex(serverName: String) -> Int? {
        let name = serverName.lowercased()
        if let i = exactNames[name] { return i }
        if let dot = name.firstIndex(of: "."), dot != name.startIndex {
            return wildcardNames[String(name[name.index(after: dot)...])]
        }
        return nil
    }

    /// Names a handshake with this SNI would be answered with, for tests: the certificate file.
    public func certificateFile(forServerName name: String?) -> String {
        certificateFiles[name.flatMap { contextIndex(serverName: $0) } ?? 0]
    }

    func switchContext(_ ssl: OpaquePointer) {
        guard let raw = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return }
        guard let i = contextIndex(serverName: String(cString: raw)), i != 0 else { return }
        SSL_set_SSL_CTX(ssl, contexts[i])
    }

    // MARK: - Loading

    /// A file, or every eligible file of a directory in byte-wise name order (TLS-1).
    static func expand(_ path: String) throws(TLSConfigError) -> [String] {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .certificateNotFound(path: path) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return [path] }
        guard let dir = opendir(path) else { throw .certificateNotFound(path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name.hasPrefix(".") { continue }
            if [".key", ".issuer", ".ocsp", ".sctl"].contains(where: { name.hasSuffix($0) }) { continue }
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            var fst = stat()
            guard stat(full, &fst) == 0, (fst.st_mode & S_IFMT) == S_IFREG else { continue }
            names.append(full)
        }
        guard !names.isEmpty else { throw .noCertificateInDirectory(path: path) }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    static func version(_ v: TLSVersion) -> Int32 {
        switch v {
        case .tls10: return bw_tls1_version()
        case .tls11: return bw_tls1_1_version()
        case .tls12: return bw_tls1_2_version()
        case .tls13: return bw_tls1_3_version()
        }
    }

    static func makeContext(certificate file: String, config: TLSBindConfig, ticketRing: TicketKeyRing?) throws(TLSConfigError) -> OpaquePointer {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw .invalidSetting("unable to allocate SSL context: \(lastError())")
        }
        do {
            try configure(ctx, certificate: file, config: config, ticketRing: ticketRing)
        } catch {
            SSL_CTX_free(ctx)
            throw error
        }
        return ctx
    }

    private static func configure(_ ctx: OpaquePointer, certificate file: String, config: TLSBindConfig,
                                  ticketRing: TicketKeyRing?) throws(TLSConfigError) {
        bw_ssl_ctx_set_server_defaults(ctx)
        // The session cache is shared by every event loop under one lock; without NO_AUTO_CLEAR OpenSSL
        // walks the whole cache for expired entries every 255 stored sessions, inside that lock. The
        // cache stays bounded (SSL_CTX_sess_set_cache_size, oldest evicted first) and expired entries
        // are dropped on lookup.
        _ = bw_ssl_ctx_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR))
        let keyPath = bw_pem_file_has_key(file) == 1 ? file : file + ".key"
        switch bw_ssl_ctx_load_pem(ctx, file, keyPath) {
        case 0: break
        case 1: throw .unreadableCertificate(path: file, detail: lastError())
        case 2:
            _ = lastError()
            throw .noPrivateKey(path: file)
        default:
            _ = lastError()
            throw .keyMismatch(path: file)
        }
        if let v = config.minVersion, bw_ssl_ctx_set_min_proto(ctx, version(v)) != 1 {
            throw .invalidSetting("unable to set ssl-min-ver \(v.rawValue)")
        }
        if let v = config.maxVersion, bw_ssl_ctx_set_max_proto(ctx, version(v)) != 1 {
            throw .invalidSetting("unable to set ssl-max-ver \(v.rawValue)")
        }
        if let s = config.ciphers, SSL_CTX_set_cipher_list(ctx, s) != 1 {
            _ = lastError()
            throw .invalidSetting("unable to set SSL cipher list to '\(s)'")
        }
        if let s = config.ciphersuites, SSL_CTX_set_ciphersuites(ctx, s) != 1 {
            _ = lastError()
            throw .invalidSetting("unable to set TLS 1.3 cipher suites to '\(s)'")
        }
        if let s = config.curves, bw_ssl_ctx_set_groups_list(ctx, s) != 1 {
            _ = lastError()
            throw .invalidSetting("unable to set SSL curves list to '\(s)'")
        }
        if let bits = config.dhParamBits, bits > 0 { _ = bw_ssl_ctx_set_dh_auto(ctx, 1) }
        if let life = config.sessionLifetimeSeconds, life > 0 { SSL_CTX_set_timeout(ctx, life) }
        if !config.alpn.isEmpty {
            var wire: [UInt8] = []
            for p in config.alpn {
                let bytes = Array(p.utf8)
                guard (1...255).contains(bytes.count) else { throw .invalidSetting("invalid ALPN protocol name '\(p)'") }
                wire.append(UInt8(bytes.count))
                wire += bytes
            }
            guard bw_ssl_ctx_set_alpn_preferences(ctx, wire, UInt32(wire.count)) == 1 else {
                throw .invalidSetting("unable to set ALPN")
            }
        }
        if let ring = ticketRing, !ring.install(on: ctx) {
            throw .invalidSetting("unable to install the ticket-key callback: \(lastError())")
        }
    }

    /// DNS names of the context's certificate (SAN DNS, then CN), lower-cased.
    static func names(of ctx: OpaquePointer) -> [String] {
        guard let raw = bw_ssl_ctx_certificate_names(ctx) else { return [] }
        defer { bw_free(raw) }
        return String(cString: raw).split(separator: "\n").map { $0.lowercased() }
    }

    /// The first queued OpenSSL error (the queue is cleared).
    static func lastError() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        _ = bw_drain_errors(&buf, buf.count)
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// SNI callback: switches the connection to the certificate's context (TLS-2). A name that matches
/// nothing keeps the default certificate; the handshake is never refused.
private func tlsServerNameCallback(_ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ arg: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl, let arg else { return SSL_TLSEXT_ERR_OK }
    Unmanaged<TLSServerContext>.fromOpaque(arg).takeUnretainedValue().switchContext(ssl)
    return SSL_TLSEXT_ERR_OK
}
