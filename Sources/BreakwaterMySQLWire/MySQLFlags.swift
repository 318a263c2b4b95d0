/// Capability flags exchanged in the handshake (protocol 4.1, as MySQL and MariaDB define them).
public struct MySQLCapabilities: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let longPassword = MySQLCapabilities(rawValue: 1 << 0)
    public static let foundRows = MySQLCapabilities(rawValue: 1 << 1)
    public static let longFlag = MySQLCapabilities(rawValue: 1 << 2)
    public static let connectWithDB = MySQLCapabilities(rawValue: 1 << 3)
    public static let noSchema = MySQLCapabilities(rawValue: 1 << 4)
    public static let compress = MySQLCapabilities(rawValue: 1 << 5)
    public static let odbc = MySQLCapabilities(rawValue: 1 << 6)
    public static let localFiles = MySQLCapabilities(rawValue: 1 << 7)
    public static let ignoreSpace = MySQLCapabilities(rawValue: 1 << 8)
    public static let protocol41 = MySQLCapabilities(rawValue: 1 << 9)
    public static let interactive = MySQLCapabilities(rawValue: 1 << 10)
    public static let ssl = MySQLCapabilities(rawValue: 1 << 11)
    public static let ignoreSigpipe = MySQLCapabilities(rawValue: 1 << 12)
    public static let transactions = MySQLCapabilities(rawValue: 1 << 13)
    public static let secureConnection = MySQLCapabilities(rawValue: 1 << 15)
    public static let multiStatements = MySQLCapabilities(rawValue: 1 << 16)
    public static let multiResults = MySQLCapabilities(rawValue: 1 << 17)
    public static let psMultiResults = MySQLCapabilities(rawValue: 1 << 18)
    public static let pluginAuth = MySQLCapabilities(rawValue: 1 << 19)
    public static let connectAttributes = MySQLCapabilities(rawValue: 1 << 20)
    public static let pluginAuthLengthEncodedData = MySQLCapabilities(rawValue: 1 << 21)
    public static let canHandleExpiredPasswords = MySQLCapabilities(rawValue: 1 << 22)
    public static let sessionTrack = MySQLCapabilities(rawValue: 1 << 23)
    public static let deprecateEOF = MySQLCapabilities(rawValue: 1 << 24)

    /// What Breakwater offers and asks for, in both roles: no compression, no TLS, no LOCAL INFILE.
    public static let breakwaterDefault: MySQLCapabilities = [
        .longPassword, .foundRows, .longFlag, .connectWithDB, .protocol41, .transactions, .secureConnection,
        .multiResults, .psMultiResults, .pluginAuth, .pluginAuthLengthEncodedData, .deprecateEOF,
        .ignoreSigpipe, .connectAttributes,
    ]
}

/// Server status flags carried by OK and EOF packets.
public struct MySQLServerStatus: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let inTransaction = MySQLServerStatus(rawValue: 1 << 0)
    public static let autocommit = MySQLServerStatus(rawValue: 1 << 1)
    public static let moreResultsExist = MySQLServerStatus(rawValue: 1 << 3)
    public static let noGoodIndexUsed = MySQLServerStatus(rawValue: 1 << 4)
    public static let noIndexUsed = MySQLServerStatus(rawValue: 1 << 5)
    public static let cursorExists = MySQLServerStatus(rawValue: 1 << 6)
    public static let lastRowSent = MySQLServerStatus(rawValue: 1 << 7)
    public static let databaseDropped = MySQLServerStatus(rawValue: 1 << 8)
    public static let noBackslashEscapes = MySQLServerStatus(rawValue: 1 << 9)
    public static let metadataChanged = MySQLServerStatus(rawValue: 1 << 10)
    public static let queryWasSlow = MySQLServerStatus(rawValue: 1 << 11)
    public static let psOutParams = MySQLServerStatus(rawValue: 1 << 12)
    public static let inTransactionReadOnly = MySQLServerStatus(rawValue: 1 << 13)
    public static let sessionStateChanged = MySQLServerStatus(rawValue: 1 << 14)
}

/// Command bytes: the first payload byte of every client packet after the handshake.
public enum MySQLCommand: UInt8, Sendable, CustomStringConvertible {
    case sleep = 0x00
    case quit = 0x01
    case initDB = 0x02
    case query = 0x03
    case fieldList = 0x04
    case statistics = 0x09
    case ping = 0x0e
    case changeUser = 0x11
    case statementPrepare = 0x16
    case statementExecute = 0x17
    case statementSendLongData = 0x18
    case statementClose = 0x19
    case statementReset = 0x1a
    case setOption = 0x1b
    case statementFetch = 0x1c
    case resetConnection = 0x1f

    public var description: String {
        switch self {
        case .sleep: "Sleep"
        case .quit: "Quit"
        case .initDB: "Init DB"
        case .query: "Query"
        case .fieldList: "Field List"
        case .statistics: "Statistics"
        case .ping: "Ping"
        case .changeUser: "Change user"
        case .statementPrepare: "Prepare"
        case .statementExecute: "Execute"
        case .statementSendLongData: "Long Data"
        case .statementClose: "Close stmt"
        case .statementReset: "Reset stmt"
        case .setOption: "Set option"
        case .statementFetch: "Fetch"
        case .resetConnection: "Reset connection"
        }
    }
}

/// Column types of a column definition (the subset a text protocol client needs to name).
public enum MySQLColumnType: UInt8, Sendable {
    case decimal = 0x00, tiny = 0x01, short = 0x02, long = 0x03, float = 0x04, double = 0x05, null = 0x06
    case timestamp = 0x07, longlong = 0x08, int24 = 0x09, date = 0x0a, time = 0x0b, datetime = 0x0c
    case year = 0x0d, varchar = 0x0f, bit = 0x10, json = 0xf5, newDecimal = 0xf6, enumeration = 0xf7
    case set = 0xf8, tinyBlob = 0xf9, mediumBlob = 0xfa, longBlob = 0xfb, blob = 0xfc, varString = 0xfd
    case string = 0xfe, geometry = 0xff
}

/// Character set ids used in the handshake.
public enum MySQLCharset {
    public static let utf8mb4GeneralCI: UInt8 = 45
    public static let binary: UInt8 = 63
}
