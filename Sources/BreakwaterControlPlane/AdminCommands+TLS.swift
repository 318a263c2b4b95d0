import BreakwaterConfigModel
import BreakwaterHTTP
import BreakwaterTLS

/// Session-ticket key commands (spec CLI-9, CLI-10). Admin level only (CLI-2 note, Appendix C.4):
/// below admin they print `Permission denied` and change nothing.
extension AdminCommands {
    var tlsCommands: [AdminCommand] {
        [
            AdminCommand(words: ["show", "tls-keys"], level: .admin,
                         help: "show tls-keys [#id|file|*]  : show tls keys references or dump tls ticket keys") { _, args in
                self.server.tls.ticketKeys.show(Array(args.dropFirst(2)))
            },
            AdminCommand(words: ["set", "ssl", "tls-key"], level: .admin,
                         help: "set ssl tls-key [id|file] <key> : set the next TLS key for the <id> or <file> listener") { _, args in
                self.server.tls.ticketKeys.set(Array(args.dropFirst(3)))
            },
        ]
    }
}
