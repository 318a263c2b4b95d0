/// An `fcgi-app NAME` section (spec §12 FCGI-3). Built by the parser, read by the data path.
///
/// Nothing is inherited from `defaults`. `set-param` values are kept as written (log-format text,
/// with the SEED-2 `\1`…`\9` extension); the data path compiles them once per configuration.
public struct FastCGIAppConfig: Sendable, Equatable {
    /// `set-param NAME VALUE [if|unless COND]` (FCGI-6).
    public struct SetParam: Sendable, Equatable {
        /// Normalised: upper-cased, every non-alphanumeric character replaced by `_`.
        public var name: String
        /// The value as written. An empty string is the SEED-3 extension: "never send NAME".
        public var valueTemplate: String
        public var condition: RuleCondition?
        public var location: SourceLocation
        public init(name: String, valueTemplate: String, condition: RuleCondition? = nil, location: SourceLocation) {
            self.name = FastCGIAppConfig.normalizedParamName(name)
            self.valueTemplate = valueTemplate
            self.condition = condition
            self.location = location
        }
    }

    /// `pass-header NAME [if|unless COND]` (FCGI-5).
    public struct PassHeader: Sendable, Equatable {
        /// Lower-cased header name.
        public var name: String
        public var condition: RuleCondition?
        public var location: SourceLocation
        public init(name: String, condition: RuleCondition? = nil, location: SourceLocation) {
            self.name = name.lowercased()
            self.condition = condition
            self.location = location
        }
    }

    public var name: String
    public var location: SourceLocation
    /// `docroot PATH` (mandatory), used verbatim as a string prefix.
    public var docroot: String
    /// `index SCRIPT`, appended to a SCRIPT_NAME ending in `/`.
    public var index: String?
    /// `path-info REGEX` source: group 1 = script name, group 2 = path info.
    public var pathInfoRegex: String?
    public var setParams: [SetParam] = []
    public var passHeaders: [PassHeader] = []
    /// `log-stderr` targets, resolved (`global` expanded to the global targets). Empty = discard STDERR.
    public var logStderr: [LogTarget] = []
    /// `option keep-conn` (default on).
    public var keepConn: Bool = true
    /// `option mpxs-conns` (default off). Accepted; breakwater still runs one request at a time per connection.
    public var mpxsConns: Bool = false
    /// `option max-reqs N` (default 1).
    public var maxReqs: Int = 1
    /// `option get-values` (default off).
    public var getValues: Bool = false

    public init(name: String, docroot: String, location: SourceLocation) {
        self.name = name
        self.docroot = docroot
        self.location = location
    }

    /// FCGI-6 name normalisation: upper-case, non-alphanumerics → `_` (`x-low` → `X_LOW`).
    public static func normalizedParamName(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x61...0x7A: out.unicodeScalars.append(Unicode.Scalar(v - 0x20)!)
            case 0x41...0x5A, 0x30...0x39: out.unicodeScalars.append(scalar)
            default: out.append("_")
            }
        }
        return out
    }
}

/// The protocol a server speaks (`proto` on a `server` line).
public enum ServerProtocol: String, Sendable, Equatable {
    case http
    case fcgi
}
