import ArgumentParser
import BreakwaterTLS
#if canImport(Glibc)
import Glibc
#endif

/// `breakwater tls-keys init|rotate`: session-ticket key files for `tls-ticket-keys`. Keys come from the kernel CSPRNG; files are written atomically with mode 0600 and
/// must live on tmpfs unless `--allow-persistent`.
struct TLSKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-keys",
        abstract: "Create and rotate TLS session-ticket key files shared by a fleet.",
        subcommands: [Init.self, Rotate.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a first key file of three keys (previous, current, next).")

        @Option(help: "Key file to create (the path given to 'tls-ticket-keys').")
        var file: String

        @Option(help: "Key size in bytes: 48 (AES-128 tickets) or 80 (AES-256 tickets).")
        var size: Int = 48

        @Flag(help: "Allow a file that is not on tmpfs (keys would survive a reboot on disk).")
        var allowPersistent = false

        @Flag(help: "Replace an existing file.")
        var force = false

        func run() throws {
            guard TicketKeyRing.validKeySizes.contains(size) else { throw ValidationError("--size must be 48 or 80") }
            try KeyFileWriter.checkFilesystem(file, allowPersistent: allowPersistent)
            if !force && access(file, F_OK) == 0 { throw fail("\(file) exists; use --force to replace it") }
            var keys: [SecretBytes] = []
            for _ in 0..<TicketKeyRing.slots {
                guard let k = SecretBytes.random(count: size) else { throw fail("the CSPRNG failed") }
                keys.append(k)
            }
            try KeyFileWriter.write(keys, to: file)
            print("wrote \(keys.count) keys of \(size) bytes to \(file)")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new key to the file and push it to every admin socket ('set ssl tls-key').",
            discussion: """
            The new key becomes the ring's *next* key; the key pushed by the previous rotation starts \
            encrypting, the oldest is forgotten. The key is pushed to every socket first; the file \
            is rewritten only when every node accepted it. The file keeps the last three keys, so a \
            reload rebuilds the same ring. --file must be the path exactly as written on the bind line. \
            Several nodes: run this on each node (e.g. `ssh node breakwater tls-keys rotate ...`) with \
            the same new key distributed by your secret store, or rotate one node and copy its file.
            """)

        @Option(help: "Key file named by 'tls-ticket-keys' (exact path).")
        var file: String

        @Option(name: .customLong("socket"), help: "Admin socket (level admin); repeat for several.")
        var sockets: [String] = []

        @Flag(help: "Allow a file that is not on tmpfs.")
        var allowPersistent = false

        func run() throws {
            try KeyFileWriter.checkFilesystem(file, allowPersistent: allowPersistent)
            let current: [SecretBytes]
            do {
                current = try TicketKeyRing.readKeyFile(file)
            } catch {
                throw fail(error.description)
            }
            guard let key = SecretBytes.random(count: current[0].count) else { throw fail("the CSPRNG failed") }
            // Push first: the file changes only once every node took the key, so a failed push never
            // walks the file's ring away from the rings the proxies run.
            var accepted: [String] = []
            var refused: [(socket: String, reason: String)] = []
            for socket in sockets {
                let reply = AdminSocketClient.send(prefix: "set ssl tls-key \(file) ", secret: key, to: socket)
                let text = reply.trimmingCharacters(in: [" ", "\n"])
                if text == "TLS ticket key updated!" {
                    accepted.append(socket)
                    print("\(socket): \(text)")
                } else {
                    refused.append((socket, text.isEmpty ? "no reply" : text))
                }
            }
            guard refused.isEmpty else {
                for r in refused { printError("breakwater tls-keys: \(r.socket): the new key was refused: \(r.reason)") }
                let tookIt = accepted.isEmpty ? "no node took the new key" : "these nodes took the new key: \(accepted.joined(separator: ", "))"
                throw fail("\(file) was left unchanged; \(tookIt); fix the failing node(s) and rotate again")
            }
            // Ring after `set ssl tls-key`: current, next, new (the file's last three lines).
            try KeyFileWriter.write([current[1], current[2], key], to: file)
        }
    }
}

private func fail(_ message: String) -> Error {
    printError("breakwater tls-keys: \(message)")
    return ExitCode(1)
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

enum KeyFileWriter {
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Refuses a file whose directory is not on tmpfs/ramfs unless allowed (keys must not reach disk).
    static func checkFilesystem(_ path: String, allowPersistent: Bool) throws {
        guard KeyFileSystem.type(of: directory(of: path)) != nil else {
            throw fail("cannot stat the filesystem of \(path): \(String(cString: strerror(errno)))")
        }
        if !KeyFileSystem.isMemoryBacked(directory(of: path)) && !allowPersistent {
            throw fail("\(path) is not on tmpfs; ticket keys must not be written to persistent storage (use --allow-persistent to override)")
        }
    }

    /// Writes base64 lines to a temporary file (mode 0600) in the same directory, fsyncs, renames.
    static func write(_ keys: [SecretBytes], to path: String) throws {
        let tmp = directory(of: path) + "/.\(path.split(separator: "/").last ?? "keys").tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw fail("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var text = [UInt8]()
        for k in keys {
            text += Array(k.base64().utf8)
            text.append(UInt8(ascii: "\n"))
        }
        defer { text.withUnsafeMutableBytes { bw_wipe($0) } }
        var ok = fchmod(fd, 0o600) == 0
        var off = 0
        while ok && off < text.count {
            let n = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false; break }
            off += n
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw fail("cannot write \(path): \(e)")
        }
    }
}

func bw_wipe(_ buffer: UnsafeMutableRawBufferPointer) { KeyFileSystem.wipe(buffer) }

/// One command over an admin UNIX socket (non-interactive mode: reply then close, CLI-1).
enum AdminSocketClient {
    static func send(prefix: String, secret: SecretBytes, to path: String) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "socket() failed" }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return "socket path too long" }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { return "cannot connect: \(String(cString: strerror(errno)))" }
        var line = Array(prefix.utf8) + Array(secret.base64().utf8) + [UInt8(ascii: "\n")]
        defer { line.withUnsafeMutableBytes { bw_wipe($0) } }
        var off = 0
        while off < line.count {
            let n = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return "write failed" }
            off += n
        }
        shutdown(fd, Int32(SHUT_WR))
        var reply = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            reply += chunk[0..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}
