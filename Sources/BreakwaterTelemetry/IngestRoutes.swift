import Hummingbird
import NIOCore

/// The HTTP API of a telemetry section (Hummingbird, off the proxy's hot path):
/// `POST /v1/heartbeats`, `GET /v1/machines/{id}`, `GET /v1/machines?ids=a,b`, `GET /metrics`.
struct IngestRoutes: Sendable {
    let gate: IngestGate
    let state: any LatestState
    let metrics: TelemetryMetrics
    let limits: IngestLimits
    let maxBodyBytes: Int

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/heartbeats") { request, _ in try await ingest(request) }
        router.get("/v1/machines/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let s = try await state.get([id])[0] else {
                return json(.notFound, JSONOutput.error("no state for machine '\(id)'", index: nil))
            }
            return json(.ok, JSONOutput.machine(id, s))
        }
        router.get("/v1/machines") { request, _ in
            guard let ids = request.uri.queryParameters.get("ids"), !ids.isEmpty else {
                return json(.badRequest, JSONOutput.error("give the machines as ?ids=a,b", index: nil))
            }
            let list = ids.split(separator: ",").map(String.init)
            guard list.count <= limits.maxBatchRecords else {
                return json(.badRequest, JSONOutput.error("\(list.count) ids; the limit (max-batch-records) is \(limits.maxBatchRecords)", index: nil))
            }
            let found = try await state.get(list)
            let entries = zip(list, found).map { id, s in "\(JSONOutput.string(id)):\(s.map { JSONOutput.machine(id, $0) } ?? "null")" }
            return json(.ok, "{\"machines\":{\(entries.joined(separator: ","))}}")
        }
        router.get("/metrics") { _, _ in
            let log = gate.current?.log
            let text = metrics.render(logEnd: log?.endOffset ?? 0, logBytes: log?.totalBytes ?? 0, stateMachines: state.machineCount)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    private func ingest(_ request: Request) async throws -> Response {
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let format: HeartbeatDecoder.Format
        switch type {
        case "application/json": format = .json
        case "application/x-ndjson": format = .ndjson
        default:
            metrics.add(\.rejectedRequests, 1)
            return json(.unsupportedMediaType, JSONOutput.error("send application/json (one object or an array) or application/x-ndjson", index: nil))
        }
        let tooLarge = json(.contentTooLarge, JSONOutput.error("the body is larger than \(maxBodyBytes) bytes (max-body-size)", index: nil))
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            metrics.add(\.rejectedRequests, 1)
            return tooLarge
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            metrics.add(\.rejectedRequests, 1)
            return tooLarge
        }
        let records: [Heartbeat]
        do {
            records = try HeartbeatDecoder.decode(Array(buffer.readableBytesView), format: format, limits: limits)
        } catch {
            metrics.add(\.rejectedRequests, 1)
            return json(.badRequest, JSONOutput.error(error.message, index: error.index))
        }
        if let problem = state.admissionProblem(for: Set(records.map(\.machineID))) {
            return json(.serviceUnavailable, JSONOutput.error(problem, index: nil))
        }
        let committer: GroupCommitter
        switch await gate.ready(timeout: 30) {
        case .success(let open): committer = open.committer
        case .failure(let refusal): return json(.serviceUnavailable, JSONOutput.error(refusal.message, index: nil))
        }
        let outcome: Result<Void, AppendRefusal> = await withCheckedContinuation { cont in
            committer.submit(records) { cont.resume(returning: $0) }
        }
        switch outcome {
        case .success: return json(.accepted, "{\"accepted\":\(records.count)}")
        case .failure(let refusal): return json(.serviceUnavailable, JSONOutput.error(refusal.message, index: nil))
        }
    }

    private func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
