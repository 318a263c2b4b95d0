import BreakwaterConfigModel

/// A `mysql-mux` section while its lines are read.
struct MySQLMuxDraft {
    var config: MySQLMuxConfig
}

/// The `mysql-mux NAME` section.
extension ConfigParseSession {
    mutating func openMySQLMux(_ w: [String], _ loc: SourceLocation) {
        section = .mysqlMux
        guard w.count >= 2, !w[1].isEmpty else {
            error("'mysql-mux' expects <name> as an argument", loc)
            currentMux = nil
            return
        }
        currentMux = MySQLMuxDraft(config: MySQLMuxConfig(name: w[1], location: loc))
    }

    mutating func parseMySQLMuxLine(_ w: [String], _ loc: SourceLocation) {
        error("unknown keyword '\(w[0])' in 'mysql-mux' section", loc)
    }

    mutating func closeMySQLMux() {
        guard let draft = currentMux else { return }
        currentMux = nil
        mysqlMuxes.append(draft.config)
    }
}
