/// Listener facts derived from the snapshot: whether anything listens, and each bind's backlog.
extension ConfigSnapshot {
    /// True when the configuration has at least one listener (a frontend or listen with a `bind`).
    /// `breakwater check` and `proxy` refuse a configuration without one, like HAProxy. Sections that
    /// listen on their own (other servers than the HTTP edge) extend this one test.
    public var hasAnyListener: Bool {
        frontends.contains { !$0.binds.isEmpty }
            || !mysqlMuxes.isEmpty || !telemetrySections.isEmpty || !jobSections.isEmpty
    }

    /// The listen(2) backlog of `bind` in `frontend`, by HAProxy's rule: `bind … backlog N` where
    /// given, else the frontend's `maxconn`, else the global `maxconn`. The kernel caps it at
    /// `net.core.somaxconn`; without any maxconn the request is that cap itself.
    public func listenBacklog(for bind: BindConfig, in frontend: FrontendConfig) -> Int32 {
        let wanted = bind.backlog ?? frontend.maxconn ?? global.maxconn ?? Int(Int32.max)
        return Int32(clamping: max(1, wanted))
    }
}
