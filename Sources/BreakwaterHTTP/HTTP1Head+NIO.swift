import BreakwaterHTTP1Wire
import NIOHTTP1

extension HTTP1Head {
    /// The fields as NIOHTTP1 headers, in wire order, each byte kept (`HTTP1FieldText`).
    var nioHeaders: HTTPHeaders {
        var headers: [(String, String)] = []
        headers.reserveCapacity(fields.count)
        for field in fields {
            headers.append((HTTP1FieldText.string(bytes[field.name]), HTTP1FieldText.string(bytes[field.value])))
        }
        return HTTPHeaders(headers)
    }

    var nioVersion: HTTPVersion { HTTPVersion(major: versionMajor, minor: versionMinor) }
}
