// Scanner-only cost: CPU time per request head and per response head through HTTP1MessageScanner,
// built with Sources/BreakwaterHTTP1Wire by bench/h1-scan.sh. A component figure (no sockets, no
// NIO): it says what the byte-level parse costs, not what a proxied request costs.
#if canImport(Glibc)
import Glibc
#endif

func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let request = Array("GET /64 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n".utf8)
let browser = Array(("GET /static/app.css?v=3 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
    + "Accept: text/css,*/*;q=0.1\r\nAccept-Language: en-GB,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nReferer: https://www.example.com/\r\n"
    + "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\nConnection: keep-alive\r\n\r\n").utf8)
let response = Array(("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 04 Dec 2026 03:00:00 GMT\r\nContent-Type: application/octet-stream\r\n"
    + "Content-Length: 64\r\nLast-Modified: Thu, 03 Dec 2026 10:00:00 GMT\r\nConnection: keep-alive\r\nETag: \"656f1e80-40\"\r\nAccept-Ranges: bytes\r\n\r\n").utf8)
    + [UInt8](repeating: 0x61, count: 64)

func run(_ name: String, _ bytes: [UInt8], kind: HTTP1Head.Kind, count: Int) {
    var scanner = HTTP1MessageScanner(kind: kind)
    var heads = 0
    let start = cpuSeconds()
    bytes.withUnsafeBytes { raw in
        for _ in 0..<count {
            var offset = 0
            while true {
                let (event, consumed) = scanner.next(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                offset += consumed
                if case .head = event { heads += 1 }
                if case .needMore = event { break }
                if case .error(let e) = event { fatalError("\(name): \(e)") }
            }
        }
    }
    let seconds = cpuSeconds() - start
    precondition(heads == count)
    print("\(name): \(bytes.count) B, \(Int((seconds / Double(count) * 1e9).rounded())) ns CPU per message (\(count) messages)")
}

@main struct Bench { static func main() {
let n = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 200_000
run("wrk request", request, kind: .request, count: n)
run("browser request", browser, kind: .request, count: n)
run("nginx response + 64 B body", response, kind: .response, count: n)
} }
