import CBreakwaterOpenSSL

/// Auth plugin names and the scrambles both roles compute.
public enum MySQLAuthPlugin {
    public static let nativePassword = "mysql_native_password"
    public static let cachingSHA2Password = "caching_sha2_password"

    /// caching_sha2_password's one-byte markers after the scramble: 0x01 then 0x03 (fast path) or 0x04 (full auth).
    public static let cachingSHA2FastAuthSuccess: UInt8 = 0x03
    public static let cachingSHA2PerformFullAuthentication: UInt8 = 0x04

    /// mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))). Empty password, empty answer.
    public static func nativePasswordResponse(password: String, scramble: [UInt8]) -> [UInt8] {
        guard !password.isEmpty else { return [] }
        let stage1 = Digest.sha1(Array(password.utf8))
        let stage2 = Digest.sha1(stage1)
        return xor(stage1, Digest.sha1(Array(scramble.prefix(20)) + stage2))
    }

    /// caching_sha2_password: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble).
    public static func cachingSHA2Response(password: String, scramble: [UInt8]) -> [UInt8] {
        guard !password.isEmpty else { return [] }
        let stage1 = Digest.sha256(Array(password.utf8))
        let stage2 = Digest.sha256(stage1)
        return xor(stage1, Digest.sha256(stage2 + Array(scramble.prefix(20))))
    }

    /// The `*HEX` form MySQL stores for mysql_native_password: "*" + uppercase hex of SHA1(SHA1(password)).
    public static func nativePasswordHash(password: String) -> String {
        "*" + Digest.sha1(Digest.sha1(Array(password.utf8))).map { hexDigits($0) }.joined()
    }

    /// SHA1(SHA1(password)) from a stored password: a `*HEX` hash as is, anything else as plain text.
    public static func doubleSHA1(storedPassword: String) -> [UInt8]? {
        if storedPassword.hasPrefix("*"), storedPassword.utf8.count == 41 {
            return parseHex(String(storedPassword.dropFirst()))
        }
        return Digest.sha1(Digest.sha1(Array(storedPassword.utf8)))
    }

    /// Server side: does a mysql_native_password answer match the stored password (plain or `*HEX`)?
    public static func verifyNativePassword(response: [UInt8], scramble: [UInt8], storedPassword: String) -> Bool {
        if storedPassword.isEmpty { return response.isEmpty }
        guard response.count == 20, let stage2 = doubleSHA1(storedPassword: storedPassword) else { return false }
        let stage1 = xor(response, Digest.sha1(Array(scramble.prefix(20)) + stage2))
        return constantTimeEqual(Digest.sha1(stage1), stage2)
    }

    /// Server side: a caching_sha2_password fast-path answer; needs the plain password.
    public static func verifyCachingSHA2(response: [UInt8], scramble: [UInt8], plainPassword: String) -> Bool {
        if plainPassword.isEmpty { return response.isEmpty }
        return constantTimeEqual(cachingSHA2Response(password: plainPassword, scramble: scramble), response)
    }

    /// A fresh 20-byte challenge of printable bytes (no NUL, which would end it early on the wire).
    public static func makeScramble() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        _ = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, 20) }
        return bytes.map { 0x21 + $0 % 0x5e }
    }

    private static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { zip(a, b).map { $0 ^ $1 } }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func hexDigits(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }

    private static func parseHex(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}

/// One-shot digests through the system libcrypto.
enum Digest {
    static func sha1(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha1(), 20) }
    static func sha256(_ data: [UInt8]) -> [UInt8] { digest(data, EVP_sha256(), 32) }

    private static func digest(_ data: [UInt8], _ md: OpaquePointer?, _ size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var outLength: UInt32 = 0
        data.withUnsafeBytes { input in
            out.withUnsafeMutableBufferPointer { output in
                _ = EVP_Digest(input.baseAddress, input.count, output.baseAddress, &outLength, md, nil)
            }
        }
        return out
    }
}
