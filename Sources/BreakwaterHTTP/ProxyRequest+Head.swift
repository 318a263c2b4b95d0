import BreakwaterACL
import BreakwaterHTTP1Wire
import NIOHTTP1

/// The request head in two forms. An HTTP/1.1 request arrives as bytes (`wire`) and, on the plain
/// proxy path, leaves as those bytes with the hygiene edits (`edits`): no header strings at all.
/// Header rules edit `edits` and header fetches read the bytes. What still needs the NIOHTTP1 head
/// (FastCGI parameters) reads `head`, which builds it once from the bytes and the edits so far;
/// from then on `head` is the request and is forwarded through the NIOHTTP1-shaped encoder.
extension ProxyRequest {
    var head: HTTPRequestHead {
        get {
            if let nioHead { return nioHead }
            let built = materialisedHead()
            nioHead = built
            return built
        }
        _modify {
            if nioHead == nil { nioHead = materialisedHead() }
            yield &nioHead!
        }
        set { nioHead = newValue }
    }

    /// True while the head is forwarded as received bytes plus `edits`.
    var forwardsWireHead: Bool { nioHead == nil && wire != nil }

    private func materialisedHead() -> HTTPRequestHead {
        guard let wire else { preconditionFailure("a request has a head in one of its forms") }
        var head = HTTP1RequestDecoder.requestHead(wire, skipping: edits)
        for field in edits.added { head.headers.add(name: field.name, value: field.value) }
        if let v = edits.version { head.version = HTTPVersion(major: v.major, minor: v.minor) }
        head.method = HeaderHygiene.wireMethod(head.method)
        return head
    }

    /// `HTTPHeaders.add` on whichever form is current.
    func addHeader(name: String, value: String) {
        if forwardsWireHead { edits.add(name: name, value: value) } else { head.headers.add(name: name, value: value) }
    }

    /// `HTTPHeaders.replaceOrAdd` on whichever form is current.
    func replaceOrAddHeader(name: String, value: String) {
        if let wire, nioHead == nil {
            edits.replaceOrAdd(name: name, value: value, in: wire)
        } else {
            head.headers.replaceOrAdd(name: name, value: value)
        }
    }

    /// `HTTPHeaders.remove` on whichever form is current.
    func removeHeader(name: String) {
        if let wire, nioHead == nil {
            edits.remove(name: name, in: wire)
        } else {
            head.headers.remove(name: name)
        }
    }

    /// The first `Host` value, without materialising the head.
    var hostHeader: String? {
        if let wire, nioHead == nil {
            for (i, field) in wire.fields.enumerated() where !edits.isRemoved(i) && wire.nameEquals(field, lowercase: "host") {
                return HTTP1FieldText.string(wire.bytes[field.value])
            }
            return edits.added.first { HTTP1HeadEdits.AddedField.named($0, "host") }?.value
        }
        return head.headers.first(name: "host")
    }

    /// `aclHeaderValues` read from the bytes: the same values, in the same order, as the
    /// materialised head would give (kept received fields, then added ones).
    func wireHeaderValues(_ wire: HTTP1Head, _ lowercasedName: String) -> [Substring] {
        var out: [Substring] = []
        for (i, field) in wire.fields.enumerated() where !edits.isRemoved(i) && wire.nameIsLowercased(field, lowercasedName) {
            out.append(contentsOf: splitHeaderList(Substring(HTTP1FieldText.string(wire.bytes[field.value]))))
        }
        for field in edits.added where field.name.lowercased() == lowercasedName {
            out.append(contentsOf: splitHeaderList(Substring(field.value)))
        }
        return out
    }
}

extension HTTP1HeadEdits.AddedField {
    static func named(_ field: Self, _ lowercase: String) -> Bool { field.name.lowercased() == lowercase }
}
