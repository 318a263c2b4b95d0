import Foundation
import Testing

/// `breakwater check` prints the lints as `FILE:LINE: warning[CODE]: message`, and `--strict` keeps them warnings.
@Suite struct CheckLintsCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../BreakwaterConfigTests/Fixtures/lints").standardized

    @Test(arguments: [[], ["--strict"]])
    func lintWarningsDoNotFailTheCheck(extra: [String]) throws {
        let cfg = Self.fixtures.appendingPathComponent("l7-check-storm.cfg").path
        let (code, out, err) = try run(try breakwaterBinary(), ["check"] + extra + ["-f", cfg])
        #expect(code == 0, "\(out)\(err)")
        #expect(err.contains("\(cfg):13: warning[L7-CHECK-STORM]: backend 'pods': layer-7 health checks"), "\(err)")
        #expect(out.contains("Configuration file is valid"))
    }
}
