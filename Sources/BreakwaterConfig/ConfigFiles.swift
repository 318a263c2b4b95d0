import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finds and reads configuration files for `-f`: a file, or a directory whose `*.cfg` files are read
/// in lexical order (HAProxy's rule). Failures name the path and the OS error in words.
enum ConfigFiles {
    struct Problem: Error {
        let message: String
    }

    static func osError(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func expand(_ path: String) -> Result<[String], Problem> {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return .failure(Problem(message: "cannot read configuration file '\(path)': \(osError())"))
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return .success([path]) }
        guard let dir = opendir(path) else {
            return .failure(Problem(message: "cannot read configuration directory '\(path)': \(osError())"))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".cfg"), !name.hasPrefix(".") else { continue }
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            var fst = stat()
            if stat(full, &fst) == 0, (fst.st_mode & S_IFMT) == S_IFREG { names.append(full) }
        }
        guard !names.isEmpty else {
            return .failure(Problem(message: "configuration directory '\(path)' has no '*.cfg' file"))
        }
        // Lexical order by bytes, like HAProxy's scandir(alphasort) in the C locale.
        return .success(names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }

    static func read(_ path: String) -> Result<String, Problem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Problem(message: "cannot read configuration file '\(path)': \(osError())")) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(Problem(message: "cannot read configuration file '\(path)': \(osError())")) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }
}
