import Foundation
import Testing

/// The live dashboard in a real browser: headless Chromium from Debian, driven over the DevTools protocol by
/// Driver/dashboard_driver.py (which starts a backend, `breakwater proxy` with traffic through it, and
/// Chromium, each stopped by PID). 200 passes over every view; the page's canvases, WebGL contexts, DOM
/// nodes and JS heap after GC must stay within a small bound of the first pass.
@Suite(.serialized) struct DashboardBrowserTests {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    static func binary() -> String {
        if let env = ProcessInfo.processInfo.environment["BREAKWATER_BIN"], !env.isEmpty { return env }
        return root.appendingPathComponent(".build/debug/breakwater").path
    }

    @Test(.timeLimit(.minutes(4)))
    func navigatingEveryViewTwoHundredTimesLeaksNothing() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary()), "build breakwater first (swift build)")
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"),
                "chromium is missing: run scripts/install-test-deps.sh")
        let out = Self.root.appendingPathComponent(".build/test-artifacts")
        let driver = Self.root.appendingPathComponent("Tests/BreakwaterDashboardTests/Driver/dashboard_driver.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [driver, Self.binary(), out.path, "200"]
        let stdout = Pipe(), stderr = Pipe()
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let text = String(decoding: outData, as: UTF8.self)
        #expect(p.terminationStatus == 0, "driver failed (\(p.terminationStatus)): \(text)\n\(errText)")
        let result = try #require(try JSONSerialization.jsonObject(with: outData) as? [String: Any], "no JSON: \(text)\n\(errText)")
        #expect(result["navigations"] as? Int == 200 * 7)
        let first = try #require(result["first"] as? [String: Any])
        let last = try #require(result["last"] as? [String: Any])
        #expect(first["canvases"] as? Int == 6 && last["canvases"] as? Int == 6, "six canvases, created once")
        #expect(last["webgl"] as? Int == 0)
        let nodes0 = try #require(first["nodesIncludingDetached"] as? Int), nodes1 = try #require(last["nodesIncludingDetached"] as? Int)
        #expect(nodes1 <= nodes0 + 200, "DOM nodes \(nodes0) → \(nodes1)")
        let heap0 = try #require(first["heapUsed"] as? Int), heap1 = try #require(last["heapUsed"] as? Int)
        #expect(Double(heap1) <= Double(heap0) * 1.5 + 1_000_000, "JS heap after GC \(heap0) → \(heap1)")
        let links = try #require(result["navLinks"] as? [String])
        for view in ["#/overview", "#/backend/web", "#/tables", "#/mux", "#/telemetry", "#/jobs"] {
            #expect(links.contains(view), "nav links \(links)")
        }
        let png = try Data(contentsOf: out.appendingPathComponent("dashboard.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "screenshot is a PNG")
    }
}
