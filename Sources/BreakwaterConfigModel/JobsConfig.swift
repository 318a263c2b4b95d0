/// A `jobs NAME` section: an HTTP intake answering 202, a durable queue, and short-lived workers each under
/// its own memory ceiling. Defaults are the ones `JobsConfig(name:location:)` sets.
public struct JobsConfig: Sendable, Equatable {
    /// Where a job waits: the embedded SQLite queue in a directory, or a RabbitMQ queue.
    public enum Queue: Sendable, Equatable {
        case directory(path: String)
        case amqp(AMQPQueue)
    }

    /// `queue amqp amqp://USER:PASS@HOST:PORT/VHOST queue NAME`, split into its parts at parse time.
    public struct AMQPQueue: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// "/" when the URL has no path (RabbitMQ's default vhost).
        public var vhost: String
        public var user: String
        public var password: String
        public var queue: String
        public init(host: String, port: Int, vhost: String, user: String, password: String, queue: String) {
            self.host = host
            self.port = port
            self.vhost = vhost
            self.user = user
            self.password = password
            self.queue = queue
        }
    }

    public var name: String
    public var location: SourceLocation
    /// `bind HOST:PORT` of the HTTP intake (required).
    public var bindHost: String = ""
    public var bindPort: Int = 0
    /// `queue dir PATH` | `queue amqp URL queue NAME` (required).
    public var queue: Queue? = nil
    /// `command ARGV...`: the program run once per job (payload on stdin, id in $BREAKWATER_JOB_ID) (required).
    public var command: [String] = []
    /// `workers N`: jobs running at once. Default 4.
    public var workers: Int = 4
    /// `memory-max SIZE`: ceiling of each job's own cgroup. Default 512M.
    public var memoryMax: Int = 512 << 20
    /// `timeout TIME` (ms): a job running longer is SIGKILLed (reason `timeout`). Default 120s.
    public var timeoutMs: Int = 120_000
    /// `max-jobs-per-worker N`: 1 = a fresh process per attempt (default); N > 1 = a long-lived worker serves up
    /// to N jobs over the framed stdin/stdout protocol of docs/jobs.md, then is replaced.
    public var maxJobsPerWorker: Int = 1
    /// `state-dir PATH`: with `queue amqp`, where the job status table lives (`PATH/jobs.sqlite`).
    /// Default `/var/lib/breakwater/jobs-NAME`. With `queue dir` the queue directory holds it.
    public var stateDirectory: String? = nil
    /// `retry-backoff BASE [max MAX]` (ms): the delay before retry n is BASE·2^(n-1), capped at MAX, with
    /// equal jitter (a uniform pick in the upper half). Default 1s max 60s; `retry-backoff 0` retries at once.
    public var retryBackoffMs: Int = 1_000
    public var retryBackoffMaxMs: Int = 60_000
    /// `retries N`: attempts beyond the first before a job is dead. Default 3.
    public var retries: Int = 3
    /// `max-payload SIZE`: larger POST bodies get 413. Default 1m.
    public var maxPayload: Int = 1 << 20
    /// `max-stdout SIZE`: a job's stdout beyond it is cut (prefix kept). Default 64k.
    public var maxStdout: Int = 64 << 10
    /// `max-queued N`: jobs waiting (queued or between attempts) beyond which POST answers 503. Default 100000.
    public var maxQueued: Int = 100_000
    /// `keep-finished N`: statuses of final (done/dead) jobs remembered; older ones are pruned. Default 100000.
    public var keepFinished: Int = 100_000

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}
