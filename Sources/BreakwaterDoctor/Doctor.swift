import BreakwaterConfigModel

/// `breakwater doctor`: compares the host's kernel and process settings with what a configuration needs.
/// Reads files only (beneath `host.root`); never changes the host.
public struct Doctor: Sendable {
    public var host: HostFiles
    public var snapshot: ConfigSnapshot?
    /// Event loops when the configuration does not set `nbthread`.
    public var cpuCount: Int

    public init(host: HostFiles, snapshot: ConfigSnapshot?, cpuCount: Int) {
        self.host = host
        self.snapshot = snapshot
        self.cpuCount = cpuCount
    }

    public var needs: ConfigNeeds {
        ConfigNeeds(snapshot: snapshot, nofileSoftLimit: ResourceChecks.nofile(host).map { min($0.soft, Int(Int32.max)) },
                    threads: cpuCount)
    }

    public func run() -> DoctorReport {
        let needs = self.needs
        let resources = ResourceChecks(host: host, needs: needs)
        var findings = SysctlChecks(host: host, needs: needs).all()
        findings.append(resources.nofile())
        findings.append(resources.ephemeralPorts())
        if needs.hasJobs { findings.append(resources.cgroupMemory()) }
        findings += resources.ticketKeys()
        return DoctorReport(findings: findings)
    }
}
