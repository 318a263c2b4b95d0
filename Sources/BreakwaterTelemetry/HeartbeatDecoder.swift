import BreakwaterConfigModel
import Foundation

/// Why a request body was refused: the first bad record's 0-based index (nil when the body as a whole is not JSON).
public struct IngestRejection: Error, Equatable, Sendable {
    public var message: String
    public var index: Int?
}

/// The request limits the decoder enforces (from the section's `max-*` keywords).
public struct IngestLimits: Sendable {
    public var maxBatchRecords: Int
    public var maxFieldsPerRecord: Int
    public var maxKeyLength: Int
    /// Column names the coalescer writes itself; a field may not take them.
    public var reservedNames: Set<String>
}

/// Decodes and validates a `POST /v1/heartbeats` body: all records or none.
///
/// A record is an object with exactly `machine_id` (a non-empty string of at most `max-key-length` bytes, no control
/// characters), `ts` (an RFC 3339 string) and `fields` (an object of 1 to `max-fields` entries whose names are
/// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 bytes, and whose values are numbers or booleans).
public enum HeartbeatDecoder {
    public enum Format: Sendable { case json, ndjson }

    public static func decode(_ body: [UInt8], format: Format, limits: IngestLimits) throws(IngestRejection) -> [Heartbeat] {
        switch format {
        case .json: return try decodeJSON(body, limits: limits)
        case .ndjson: return try decodeNDJSON(body, limits: limits)
        }
    }

    static func decodeJSON(_ body: [UInt8], limits: IngestLimits) throws(IngestRejection) -> [Heartbeat] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw IngestRejection(message: "the body is not valid JSON (\(error.message))", index: nil)
        }
        let items: [JSONValue]
        if case .array(let a) = value { items = a } else { items = [value] }
        guard !items.isEmpty else { throw IngestRejection(message: "the array holds no record", index: nil) }
        guard items.count <= limits.maxBatchRecords else {
            throw IngestRejection(message: "\(items.count) records in one request; the limit (max-batch-records) is \(limits.maxBatchRecords)", index: limits.maxBatchRecords)
        }
        var out: [Heartbeat] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            do { out.append(try record(item, limits: limits)) } catch { throw IngestRejection(message: error.message, index: i) }
        }
        return out
    }

    static func decodeNDJSON(_ body: [UInt8], limits: IngestLimits) throws(IngestRejection) -> [Heartbeat] {
        var out: [Heartbeat] = []
        for (i, line) in body.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard out.count < limits.maxBatchRecords else {
                throw IngestRejection(message: "more than \(limits.maxBatchRecords) records in one request (max-batch-records)", index: i)
            }
            let value: JSONValue
            do {
                value = try JSONParser.parse(Array(line))
            } catch {
                throw IngestRejection(message: "line is not valid JSON (\(error.message))", index: i)
            }
            do { out.append(try record(value, limits: limits)) } catch { throw IngestRejection(message: error.message, index: i) }
        }
        guard !out.isEmpty else { throw IngestRejection(message: "the body holds no record", index: nil) }
        return out
    }

    struct RecordProblem: Error { var message: String }

    static func record(_ v: JSONValue, limits: IngestLimits) throws(RecordProblem) -> Heartbeat {
        guard case .object(let members) = v else { throw RecordProblem(message: "a record must be a JSON object") }
        for (k, _) in members where k != "machine_id" && k != "ts" && k != "fields" {
            throw RecordProblem(message: "unknown member '\(k)' (a record has machine_id, ts and fields)")
        }
        guard case .string(let id)? = members["machine_id"] else {
            throw RecordProblem(message: "'machine_id' must be a string")
        }
        let idBytes = id.utf8.count
        guard idBytes > 0 else { throw RecordProblem(message: "'machine_id' is empty") }
        guard idBytes <= limits.maxKeyLength else {
            throw RecordProblem(message: "'machine_id' is \(idBytes) bytes; the limit (max-key-length) is \(limits.maxKeyLength)")
        }
        guard !id.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 || $0 == "," }) else {
            throw RecordProblem(message: "'machine_id' contains a control character or a comma")
        }
        guard case .string(let tsText)? = members["ts"] else {
            throw RecordProblem(message: "'ts' must be an RFC 3339 string such as 2026-11-21T10:00:00.123Z")
        }
        guard let ts = Timestamp.parse(tsText) else {
            throw RecordProblem(message: "'ts' value '\(tsText.prefix(64))' is not an RFC 3339 time such as 2026-11-21T10:00:00.123Z")
        }
        guard case .object(let fieldMembers)? = members["fields"] else {
            throw RecordProblem(message: "'fields' must be an object of numbers or booleans")
        }
        guard !fieldMembers.isEmpty else { throw RecordProblem(message: "'fields' is empty") }
        guard fieldMembers.count <= limits.maxFieldsPerRecord else {
            throw RecordProblem(message: "\(fieldMembers.count) fields; the limit (max-fields) is \(limits.maxFieldsPerRecord)")
        }
        var fields: [(name: String, value: FieldValue)] = []
        for (name, value) in fieldMembers.sorted(by: { $0.key < $1.key }) {
            guard TelemetryConfig.isColumnName(name) else {
                throw RecordProblem(message: "field name '\(name.prefix(64))' must be letters, digits and '_', not starting with a digit, at most 64 bytes")
            }
            guard !limits.reservedNames.contains(name) else {
                throw RecordProblem(message: "field name '\(name)' is reserved (it is a column the coalescer writes)")
            }
            switch value {
            case .number(let d): fields.append((name, .number(d)))
            case .bool(let b): fields.append((name, .bool(b)))
            default: throw RecordProblem(message: "field '\(name)' must be a number or a boolean")
            }
        }
        return Heartbeat(machineID: id, tsMillis: ts, fields: fields)
    }
}

/// A JSON value (parsed by `JSONParser`).
indirect enum JSONValue {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])
}
