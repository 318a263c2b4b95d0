import Foundation
import Hummingbird

/// The HTTP intake of a `jobs` section (Hummingbird, off the proxy's hot path):
/// `POST /v1/jobs` → 202 once durable; `GET /v1/jobs/{id}`; `GET /metrics`.
struct JobsAPI: Sendable {
    let intake: any JobIntake
    let store: JobStore
    let metrics: JobsMetrics
    let maxPayload: Int
    let maxQueued: Int
    let onEnqueued: @Sendable () -> Void

    func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.post("/v1/jobs") { request, _ in try await enqueue(request) }
        router.get("/v1/jobs/:id") { _, context in try await status(context.parameters.get("id") ?? "") }
        router.get("/metrics") { _, _ in
            let depth = try await intake.waitingCount()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render(queueDepth: depth))))
        }
        return router
    }

    private func enqueue(_ request: Request) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxPayload {
            throw JobsHTTPError(.contentTooLarge, "payload of \(length) bytes exceeds max-payload \(maxPayload)")
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxPayload)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw JobsHTTPError(.contentTooLarge, "payload exceeds max-payload \(maxPayload) bytes")
        }
        let id = UUID().uuidString.lowercased()
        let payload = Array(body.readableBytesView)
        let result: JobStore.EnqueueResult
        do {
            result = try await intake.enqueue(id: id, payload: payload, maxQueued: maxQueued)
        } catch {
            throw JobsHTTPError(.serviceUnavailable, "the queue (\(intake.location)) could not store the job: \(error); nothing was queued, retry later")
        }
        if case .full(let waiting) = result {
            throw JobsHTTPError(.serviceUnavailable, "queue full: \(waiting) jobs waiting (max-queued \(maxQueued)); retry later")
        }
        metrics.enqueued()
        onEnqueued()
        let location = "/v1/jobs/\(id)"
        return json(.accepted, ["id": id, "status": location, "state": "queued"], headers: [.location: location])
    }

    private func status(_ id: String) async throws -> Response {
        guard !id.isEmpty, id.count <= 64, id.utf8.allSatisfy({ $0 == 45 || ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) })
        else { throw JobsHTTPError(.badRequest, "malformed job id '\(id.prefix(64))'") }
        guard let s = try await store.status(id: id) else { throw JobsHTTPError(.notFound, "no job with id '\(id)'") }
        var body: [String: Any] = ["id": s.id, "state": s.state.rawValue, "attempts": s.attempts]
        if s.state == .done || s.state == .failed || s.state == .dead {
            if let code = s.exitCode { body["exit_code"] = code }
            if s.state != .done, let reason = s.reason { body["reason"] = reason.rawValue }
            if let out = s.stdout { body["stdout"] = String(decoding: out, as: UTF8.self) }
        }
        if s.state == .failed, let at = s.nextAttemptAt {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            body["next_attempt_at"] = f.string(from: Date(timeIntervalSince1970: at))
        }
        return json(.ok, body)
    }
}

func json(_ status: HTTPResponse.Status, _ object: [String: Any], headers: HTTPFields = [:]) -> Response {
    var headers = headers
    headers[.contentType] = "application/json"
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// An error answered as `{"error": "..."}` with its status.
struct JobsHTTPError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Every error, including Hummingbird's own 404/405/413 and parse errors, leaves as a JSON body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as JobsHTTPError {
            return json(e.status, ["error": e.message])
        } catch let e as HTTPError {
            return json(e.status, ["error": e.body ?? e.status.reasonPhrase])
        } catch {
            context.logger.error("jobs: request failed: \(error)")
            return json(.internalServerError, ["error": "internal error; see the Breakwater log"])
        }
    }
}
