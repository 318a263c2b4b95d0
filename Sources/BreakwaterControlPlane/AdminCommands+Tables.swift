import BreakwaterConfigModel
import BreakwaterHTTP
import BreakwaterStickTables
import NIOCore

/// Stick-table commands (spec CLI-6): `show table`, `clear table`, `set table`.
extension AdminCommands {
    var tableCommands: [AdminCommand] {
        [
            AdminCommand(words: ["show", "table"], level: .user,
                         help: "show table [NAME [key K|data.T OP V ...]] : list tables or dump one") { session, args in
                self.showTable(Array(args.dropFirst(2)), level: session.level)
            },
            AdminCommand(words: ["clear", "table"], level: .operator,
                         help: "clear table NAME [key K|data.T OP V ...]  : remove idle entries") { _, args in
                self.clearTable(Array(args.dropFirst(2)))
            },
            AdminCommand(words: ["set", "table"], level: .operator,
                         help: "set table NAME key K [data.T V]...         : create or update an entry") { _, args in
                self.setTable(Array(args.dropFirst(2)))
            },
        ]
    }

    /// Tables in declaration order (backends, then frontends that declare one).
    var orderedTables: [StickTable] {
        var names: [String] = []
        for b in runtime.snapshot.backends where b.stickTable != nil { names.append(b.name) }
        for f in runtime.snapshot.frontends where f.stickTable != nil && !names.contains(f.name) { names.append(f.name) }
        return names.compactMap { runtime.tables[$0] }
    }

    private static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    func showTable(_ args: [String], level: AdminLevel) -> String {
        guard let name = args.first else {
            return orderedTables.map { $0.showTableHeader() + "\n" }.joined()
        }
        guard let table = runtime.tables[name] else { return "No such table\n" }
        let rest = Array(args.dropFirst())
        if level < .operator && rest.first == "key" { return "Permission denied\n" }
        switch table.parseFilter(rest, for: .show) {
        case .failure(let e): return e.message + "\n"
        case .success(let filter):
            let lines = table.show(filter: filter, now: Self.now(), dumpEntries: level >= .operator)
            return lines.map { $0 + "\n" }.joined()
        }
    }

    func clearTable(_ args: [String]) -> String {
        guard let name = args.first else { return "Required arguments: <table> \"data.<store_data_type>\" <op> <value> or <table> key <key>\n" }
        guard let table = runtime.tables[name] else { return "No such table\n" }
        switch table.parseFilter(Array(args.dropFirst()), for: .clear) {
        case .failure(let e): return e.message + "\n"
        case .success(let filter):
            if let e = table.clear(filter: filter, now: Self.now()) { return e.message + "\n" }
            return ""
        }
    }

    func setTable(_ args: [String]) -> String {
        guard let name = args.first else { return "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n" }
        guard let table = runtime.tables[name] else { return "No such table\n" }
        if let e = table.set(arguments: Array(args.dropFirst()), now: Self.now()) { return e.message + "\n" }
        return ""
    }
}
