import BreakwaterConfigModel

/// A `jobs` section while its lines are read.
struct JobsDraft {
    var config: JobsConfig
}

/// The `jobs NAME` section.
extension ConfigParseSession {
    mutating func openJobs(_ w: [String], _ loc: SourceLocation) {
        section = .jobs
        guard w.count >= 2, !w[1].isEmpty else {
            error("'jobs' expects <name> as an argument", loc)
            currentJobs = nil
            return
        }
        currentJobs = JobsDraft(config: JobsConfig(name: w[1], location: loc))
    }

    mutating func parseJobsLine(_ w: [String], _ loc: SourceLocation) {
        error("unknown keyword '\(w[0])' in 'jobs' section", loc)
    }

    mutating func closeJobs() {
        guard let draft = currentJobs else { return }
        currentJobs = nil
        jobSections.append(draft.config)
    }
}
