import BreakwaterCore
import BreakwaterObservability
import Foundation
import Testing

@Suite struct DashboardPageTests {
    @Test func pageIsSelfContainedAndNamesItsEventStream() {
        let html = DashboardPage.render(statsURI: "/haproxy?stats")
        #expect(html.contains("const EVENTS = \"/haproxy?stats/events\";"))
        #expect(!html.contains("http://") && !html.contains("https://"), "no CDN")
        #expect(!html.contains("webgl"), "2D canvases only")
        for view in ["#/overview", "#/tables", "#/mux", "#/telemetry", "#/jobs"] {
            #expect(html.contains("href=\"\(view)\""), "nav link \(view)")
        }
        #expect(html.components(separatedBy: "<canvas").count - 1 == 6)
    }

    @Test func gaugeRegistryIsBounded() {
        let g = DataTierGauges()
        #expect(g.set(section: "mysql-mux", name: "backend_connections", value: 400))
        for i in 1..<DataTierGauges.maxNamesPerSection { #expect(g.set(section: "mysql-mux", name: "g\(i)", value: Double(i))) }
        #expect(!g.set(section: "mysql-mux", name: "one-too-many", value: 1))
        #expect(g.set(section: "mysql-mux", name: "backend_connections", value: 401), "updating an existing gauge still works")
        #expect(g.snapshot["mysql-mux"]?["backend_connections"] == 401)
        for i in 1..<DataTierGauges.maxSections { #expect(g.set(section: "s\(i)", name: "x", value: 1)) }
        #expect(!g.set(section: "one-section-too-many", name: "x", value: 1))
        g.clear(section: "mysql-mux")
        #expect(g.snapshot["mysql-mux"] == nil)
    }

    @Test func jsonQuotingIsValidJSONAndScriptSafe() throws {
        let tricky = "a\"b\\c\n</script>\u{01}é"
        let q = JSONText.quote(tricky)
        #expect(!q.contains("</script>"))
        let back = try JSONSerialization.jsonObject(with: Data("[\(q)]".utf8)) as? [String]
        #expect(back == [tricky])
    }
}
