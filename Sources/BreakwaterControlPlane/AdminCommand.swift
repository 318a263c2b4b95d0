import BreakwaterConfigModel

/// One admin-socket command: its words, the level it needs and what it prints (spec CLI-1, CLI-2).
struct AdminCommand: Sendable {
    let words: [String]
    let level: AdminLevel
    let help: String
    let run: @Sendable (AdminSession, [String]) -> String

    func matches(_ args: [String]) -> Bool {
        args.count >= words.count && Array(args.prefix(words.count)) == words
    }
}

/// Per-connection state of the admin socket.
final class AdminSession: @unchecked Sendable {
    // Touched only on the admin connection's event loop.
    let level: AdminLevel
    var interactive = false
    var wantsClose = false
    init(level: AdminLevel) { self.level = level }
}

/// Splits one input line into commands on unescaped `;`, and each command into words.
enum AdminLineParser {
    static func commands(_ line: String) -> [[String]] {
        var commands: [[String]] = []
        var words: [String] = []
        var word = ""
        var escaped = false
        var inWord = false
        for ch in line {
            if escaped {
                word.append(ch)
                inWord = true
                escaped = false
                continue
            }
            switch ch {
            case "\\":
                escaped = true
            case ";":
                if inWord { words.append(word) }
                if !words.isEmpty { commands.append(words) }
                words = []
                word = ""
                inWord = false
            case " ", "\t":
                if inWord { words.append(word) }
                word = ""
                inWord = false
            default:
                word.append(ch)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        if !words.isEmpty { commands.append(words) }
        return commands
    }
}
