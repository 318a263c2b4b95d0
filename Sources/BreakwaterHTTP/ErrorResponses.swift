import NIOCore
import NIOHTTP1

/// The proxy's built-in error pages (spec ERR-1): small HTML bodies with `cache-control: no-cache`.
enum ErrorResponses {
    static let explanations: [Int: String] = [
        200: "Service ready.",
        400: "Your browser sent an invalid request.",
        401: "You need a valid user and password to access this content.",
        403: "Request forbidden by administrative rules.",
        404: "The resource could not be found.",
        405: "A request was made of a resource using a request method not supported by that resource.",
        407: "You need a valid user and password to access this content.",
        408: "Your browser didn't send a complete request in time.",
        410: "The resource is no longer available and will not be available again.",
        413: "The request entity exceeds the maximum allowed.",
        421: "The request was directed at a server that is not able to produce a response.",
        422: "The server was unable to process the contained instructions.",
        425: "Too early to replay request.",
        429: "You have sent too many requests in a given amount of time.",
        500: "An internal server error occurred.",
        501: "The server does not support the functionality required to fulfill the request.",
        502: "The server returned an invalid or incomplete response.",
        503: "No server is available to handle this request.",
        504: "The server didn't respond in time.",
    ]

    static func body(status: Int) -> String {
        let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
        let text = explanations[status] ?? reason
        return "<html><body><h1>\(status) \(reason)</h1>\n\(text)\n</body></html>\n"
    }

    static func head(status: Int, bodyLength: Int, contentType: String = "text/html", close: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: String(bodyLength))
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "content-type", value: contentType)
        if close { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
    }
}
