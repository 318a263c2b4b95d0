import CBreakwaterOpenSSL
import NIOCore

/// What a finished handshake negotiated (`ssl_fc_*` fetches, `%sslv` / `%sslc`).
public struct TLSConnectionInfo: Sendable, Equatable {
    /// `TLSv1.2`, `TLSv1.3`.
    public var protocolVersion: String
    /// OpenSSL cipher name, e.g. `TLS_AES_256_GCM_SHA384`.
    public var cipher: String
    /// Negotiated ALPN protocol, nil when none.
    public var alpn: String?
    /// SNI sent by the client, nil when none.
    public var serverName: String?
    /// True when the session was resumed (ticket or session ID).
    public var resumed: Bool

    public init(protocolVersion: String, cipher: String, alpn: String?, serverName: String?, resumed: Bool) {
        self.protocolVersion = protocolVersion
        self.cipher = cipher
        self.alpn = alpn
        self.serverName = serverName
        self.resumed = resumed
    }
}

/// Fired inbound (user event) once the handshake completes, before any application data.
public struct TLSHandshakeCompleted: Sendable {
    public let info: TLSConnectionInfo
}

/// How a TLS connection failed; `logMessage` is the LOG-6 text for handshake failures.
public enum TLSError: Error, Equatable, CustomStringConvertible {
    /// The peer's handshake was refused (bad ClientHello, no common version or cipher, alert…).
    case handshakeFailed(reason: String)
    /// The connection closed before the handshake completed.
    case closedDuringHandshake
    /// No handshake within the allowed time.
    case handshakeTimeout
    /// A protocol error after the handshake (bad record MAC, unexpected message, renegotiation…).
    case protocolError(reason: String)
    /// The peer closed the TCP connection without close_notify after the handshake.
    case uncleanShutdown
    /// A write was attempted with a file region (not supported over TLS) or after close.
    case unsupportedWrite

    /// The LOG-6 connection-error message, for errors before the handshake completed.
    public var logMessage: String? {
        switch self {
        case .handshakeFailed: return "SSL handshake failure"
        case .closedDuringHandshake: return "Connection closed during SSL handshake"
        case .handshakeTimeout: return "Timeout during SSL handshake"
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .handshakeFailed(let r): return "SSL handshake failure" + (r.isEmpty ? "" : ": \(r)")
        case .closedDuringHandshake: return "Connection closed during SSL handshake"
        case .handshakeTimeout: return "Timeout during SSL handshake"
        case .protocolError(let r): return "SSL protocol error: \(r)"
        case .uncleanShutdown: return "connection closed without close_notify"
        case .unsupportedWrite: return "unsupported write on a TLS connection"
        }
    }
}

/// Server-side TLS over OpenSSL: ciphertext `ByteBuffer`s in from the socket, plaintext out to the
/// next handler, and the reverse for writes. Ciphertext moves through a callback BIO
/// (`CiphertextBIO`): OpenSSL reads records straight out of the socket's buffer and writes them
/// straight into the buffer that goes to the socket.
///
/// * Handshake starts at `channelActive` and must finish within `handshakeTimeout`; failures fire
///   `TLSError` through `errorCaught` and close the connection.
/// * Back-pressure: `read()` is passed through untouched, so the handler behind decides when the
///   socket is read; every record available is decrypted and delivered (OpenSSL keeps nothing),
///   into a buffer sized to the ciphertext that arrived (a small one is reused while the handler
///   behind releases each read), not a fresh 16 KiB buffer per read.
/// * Writes are encrypted at `flush`: the pending buffers are coalesced into records of up to 16 KiB
///   (one `SSL_write` per record, not per buffer: a response head and its body share a record) and
///   written as one buffer, allocated once at its final size; their promises complete with it.
/// * `close_notify` from the peer: with `allowRemoteHalfClosure` the input side closes
///   (`ChannelEvent.inputClosed`) and writing continues; otherwise close_notify is answered and the
///   connection closed. `close()` sends close_notify before closing; `close(mode: .output)` sends it
///   and half-closes.
/// * Renegotiation is refused (`SSL_OP_NO_RENEGOTIATION`: the client gets a no_renegotiation alert).
///
/// Runs on the channel's event loop only.
public final class OpenSSLServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = IOData
    public typealias OutboundOut = IOData

    enum State { case idle, handshaking, active, inputClosed, closing, closed }

    private let tls: TLSServerContext
    private let ssl: OpaquePointer
    private let cipher: CiphertextBIO
    private var state: State = .idle
    private var pending: [(buffer: ByteBuffer, promise: EventLoopPromise<Void>?)] = []
    /// Small pending writes are copied here so that they go out in one record.
    private var staging: ByteBuffer?
    /// The last small plaintext read buffer, reused when the handler behind has let go of it.
    private var readBuffer: ByteBuffer?
    private var flushRequested = false
    private let handshakeTimeout: TimeAmount?
    private var timeoutTask: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    /// Negotiated parameters, once the handshake completed.
    public private(set) var info: TLSConnectionInfo?
    /// Ciphertext bytes received before the handshake finished (0 = the client sent nothing, which
    /// `dontlognull` does not log).
    public private(set) var handshakeBytesReceived = 0
    public var isHandshakeComplete: Bool { info != nil }

    /// Fails (returns nil) only when OpenSSL cannot allocate a connection.
    public init?(context tls: TLSServerContext, handshakeTimeout: TimeAmount? = .seconds(10)) {
        guard let ssl = tls.makeSSL() else { return nil }
        guard let cipher = CiphertextBIO(allocator: ByteBufferAllocator()) else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_bio(ssl, cipher.bio, cipher.bio)  // one reference, for both directions
        SSL_set_accept_state(ssl)
        self.tls = tls
        self.ssl = ssl
        self.cipher = cipher
        self.handshakeTimeout = handshakeTimeout
    }

    deinit {
        SSL_free(ssl)  // frees the BIO; `cipher` is still alive here
    }

    // MARK: - Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { startHandshake(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        failPending(TLSError.unsupportedWrite)
        self.context = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        let was = state
        state = .closed
        failPending(ChannelError.ioOnClosedChannel)
        if was == .handshaking || was == .idle {
            context.fireErrorCaught(TLSError.closedDuringHandshake)
        }
        context.fireChannelInactive()
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .handshaking
        if let t = handshakeTimeout {
            timeoutTask = context.eventLoop.assumeIsolated().scheduleTask(in: t) { [weak self] in
                guard let self, self.state == .handshaking, let ctx = self.context else { return }
                self.state = .closed
                ctx.fireErrorCaught(TLSError.handshakeTimeout)
                ctx.close(promise: nil)
            }
        }
        doHandshake(context: context)
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        // After the peer's close_notify or FIN nothing more is read (a memory BIO kept it unread).
        guard state == .handshaking || state == .active || state == .closing else { return }
        if state == .handshaking { handshakeBytesReceived += buffer.readableBytes }
        cipher.receive(buffer)
        if state == .handshaking {
            doHandshake(context: context)
        }
        if state == .active || state == .closing {
            readApplicationData(context: context)
        }
        if state == .closed {
            cipher.discardInbound()
        } else {
            cipher.releaseConsumedInbound()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed {
            // TCP FIN from the client.
            switch state {
            case .idle, .handshaking:
                state = .closed
                context.fireErrorCaught(TLSError.closedDuringHandshake)
                context.close(promise: nil)
                return
            case .active:
                // Truncation without close_notify: the application sees its input end.
                state = .inputClosed
            default:
                break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func doHandshake(context: ChannelHandlerContext) {
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            timeoutTask?.cancel()
            timeoutTask = nil
            state = .active
            info = readInfo()
            tls.handshakes.record(resumed: info!.resumed)
            flushCiphertext(context: context, promise: nil)  // server Finished / NewSessionTicket
            context.fireUserInboundEventTriggered(TLSHandshakeCompleted(info: info!))
            if flushRequested && !pending.isEmpty { flushPlaintext(context: context) }
            return
        }
        let err = SSL_get_error(ssl, rc)
        if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE {
            flushCiphertext(context: context, promise: nil)
            return
        }
        let reason = TLSServerContext.lastError()
        // Send the alert OpenSSL queued, then give up.
        flushCiphertext(context: context, promise: nil)
        timeoutTask?.cancel()
        state = .closed
        context.fireErrorCaught(TLSError.handshakeFailed(reason: reason))
        context.close(promise: nil)
    }

    private func readInfo() -> TLSConnectionInfo {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? ""
        var proto: UnsafePointer<UInt8>?
        var protoLen: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &proto, &protoLen)
        let alpn = proto.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(protoLen)), as: UTF8.self) }
        let sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
        return TLSConnectionInfo(protocolVersion: version, cipher: cipher, alpn: alpn, serverName: sni,
                                 resumed: SSL_session_reused(ssl) == 1)
    }

    private func readApplicationData(context: ChannelHandlerContext) {
        var delivered = false
        var peerClosed = false
        var failure: String?
        loop: while true {
            var buffer = plaintextBuffer(context: context)
            var lastError: Int32 = 0
            while buffer.writableBytes > 0 {
                let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { ptr -> Int in
                    let r = SSL_read(ssl, ptr.baseAddress, Int32(clamping: ptr.count))
                    return r > 0 ? Int(r) : 0
                }
                if n == 0 {
                    lastError = SSL_get_error(ssl, 0)
                    break
                }
                if cipher.inboundBytes == 0 && SSL_has_pending(ssl) == 0 {
                    // Nothing left to decrypt (no ciphertext queued, no record or plaintext buffered
                    // in OpenSSL): another SSL_read could only answer WANT_READ.
                    lastError = SSL_ERROR_WANT_READ
                    break
                }
            }
            if buffer.readableBytes > 0 {
                delivered = true
                let data = buffer.readSlice(length: buffer.readableBytes)!
                if buffer.capacity <= Self.reusableReadCapacity { readBuffer = buffer }
                context.fireChannelRead(wrapInboundOut(data))
                if state == .closed { return }
            } else if buffer.capacity <= Self.reusableReadCapacity {
                readBuffer = buffer
            }
            switch lastError {
            case 0:
                continue loop  // buffer full; more may be waiting
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                break loop
            case SSL_ERROR_ZERO_RETURN:
                peerClosed = true
                break loop
            default:
                failure = TLSServerContext.lastError()
                break loop
            }
        }
        // Alerts (e.g. no_renegotiation) and post-handshake messages OpenSSL produced while reading.
        flushCiphertext(context: context, promise: nil)
        if delivered { context.fireChannelReadComplete() }
        if let failure {
            state = .closed
            context.fireErrorCaught(TLSError.protocolError(reason: failure))
            context.close(promise: nil)
            return
        }
        if peerClosed { peerSentCloseNotify(context: context) }
    }

    /// Largest plaintext read buffer kept between reads (most requests fit; a connection holds it idle).
    private static let reusableReadCapacity = 2048
    private static let maxRecord = 16_384

    /// A buffer for the plaintext of the ciphertext now queued: no larger than that (plus what
    /// OpenSSL holds), so a 40-byte request does not cost a 16 KiB buffer.
    private func plaintextBuffer(context: ChannelHandlerContext) -> ByteBuffer {
        let queued = cipher.inboundBytes + Int(SSL_pending(ssl))
        let want = min(Self.maxRecord, max(256, queued))
        if want <= Self.reusableReadCapacity, var buffer = readBuffer {
            readBuffer = nil
            buffer.clear()  // reuses the storage when no slice of the last read is still held
            return buffer
        }
        return context.channel.allocator.buffer(capacity: want <= Self.reusableReadCapacity ? Self.reusableReadCapacity : want)
    }

    private func peerSentCloseNotify(context: ChannelHandlerContext) {
        guard state == .active else {
            if state == .closing { context.close(promise: nil) }
            return
        }
        let halfClosure = (try? context.channel.syncOptions?.getOption(ChannelOptions.allowRemoteHalfClosure)) ?? false
        if halfClosure {
            state = .inputClosed
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        } else {
            sendCloseNotifyThenClose(context: context, promise: nil)
        }
    }

    // MARK: - Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard state != .closed && state != .closing else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let b):
            pending.append((b, promise))
        case .fileRegion:
            promise?.fail(TLSError.unsupportedWrite)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        flushRequested = true
        guard state == .active || state == .inputClosed else { return }
        flushPlaintext(context: context)
    }

    private func flushPlaintext(context: ChannelHandlerContext) {
        flushRequested = false
        guard !pending.isEmpty else { return }
        // `pending` is encrypted in place and emptied before anything can call back into write():
        // a copy of it would make `removeAll(keepingCapacity:)` allocate new storage on every flush.
        var plaintext = 0
        var promiseCount = 0
        var firstPromise: EventLoopPromise<Void>?
        for w in pending {
            plaintext += w.buffer.readableBytes
            if let p = w.promise {
                promiseCount += 1
                if firstPromise == nil { firstPromise = p }
            }
        }
        // No array at all for the keep-alive path (no promises) or one promise.
        let promises = promiseCount > 1 ? pending.compactMap(\.promise) : []
        cipher.reserveOutbound(Self.ciphertextBound(plaintext: plaintext))
        let ok = pending.count == 1 ? encrypt(pending[0].buffer) : encryptCoalesced(context: context)
        pending.removeAll(keepingCapacity: true)
        if !ok {
            let reason = TLSServerContext.lastError()
            if promiseCount == 1 { firstPromise?.fail(TLSError.protocolError(reason: reason)) }
            for p in promises { p.fail(TLSError.protocolError(reason: reason)) }
            state = .closed
            context.fireErrorCaught(TLSError.protocolError(reason: reason))
            context.close(promise: nil)
            return
        }
        if promiseCount <= 1 {
            flushCiphertext(context: context, promise: firstPromise)
        } else {
            let p = context.eventLoop.makePromise(of: Void.self)
            p.futureResult.whenComplete { result in
                for q in promises { q.completeWith(result) }
            }
            flushCiphertext(context: context, promise: p)
        }
    }

    /// Coalesces `pending`: small buffers are copied into `staging` until the next would overflow a
    /// record; a buffer of a whole record or more goes to SSL_write as it is.
    private func encryptCoalesced(context: ChannelHandlerContext) -> Bool {
        var stage = staging ?? context.channel.allocator.buffer(capacity: 1024)
        staging = nil
        stage.clear()
        var ok = true
        for (buffer, _) in pending where ok {
            if stage.readableBytes + buffer.readableBytes <= Self.maxRecord {
                stage.writeImmutableBuffer(buffer)
                continue
            }
            if stage.readableBytes > 0 {
                ok = encrypt(stage)
                stage.clear()
            }
            if buffer.readableBytes >= Self.maxRecord {
                ok = ok && encrypt(buffer)
            } else {
                stage.writeImmutableBuffer(buffer)
            }
        }
        if ok, stage.readableBytes > 0 { ok = encrypt(stage) }
        stage.clear()
        staging = stage
        return ok
    }

    /// Room for the records of `plaintext` bytes: per record a header, an explicit IV or nonce, a tag
    /// or MAC and padding (AES-GCM/ChaCha20 need 22-29 bytes; a CBC suite up to 5 + 16 + 48 + 256).
    static func ciphertextBound(plaintext: Int) -> Int {
        let records = max(1, (plaintext + maxRecord - 1) / maxRecord)
        return plaintext + records * 64
    }

    /// SSL_write of all of `buffer` (OpenSSL splits it into records of at most 16 KiB).
    private func encrypt(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { ptr in
            var offset = 0
            while offset < ptr.count {
                let n = SSL_write(ssl, ptr.baseAddress! + offset, Int32(clamping: ptr.count - offset))
                if n <= 0 { return false }
                offset += Int(n)
            }
            return true
        }
    }

    /// Writes (and flushes) whatever OpenSSL queued for the network.
    private func flushCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard let out = cipher.takeOutbound() else {
            promise?.succeed(())
            return
        }
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(out)), promise: promise)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch mode {
        case .output:
            guard state == .active || state == .inputClosed else {
                context.close(mode: mode, promise: promise)
                return
            }
            if !pending.isEmpty { flushPlaintext(context: context) }
            _ = SSL_shutdown(ssl)
            state = .closing
            flushCiphertext(context: context, promise: nil)
            context.close(mode: .output, promise: promise)
        case .input:
            context.close(mode: mode, promise: promise)
        case .all:
            if state == .active || state == .inputClosed {
                sendCloseNotifyThenClose(context: context, promise: promise)
            } else {
                state = .closed
                context.close(mode: .all, promise: promise)
            }
        }
    }

    /// Flushes pending plaintext, sends close_notify, and closes once that is written.
    private func sendCloseNotifyThenClose(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if !pending.isEmpty { flushPlaintext(context: context) }
        guard state != .closed else {
            context.close(promise: promise)
            return
        }
        state = .closing
        _ = SSL_shutdown(ssl)
        let written = context.eventLoop.makePromise(of: Void.self)
        flushCiphertext(context: context, promise: written)
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            self?.state = .closed
            context.close(mode: .all, promise: promise)
        }
    }

    private func failPending(_ error: Error) {
        let writes = pending
        pending.removeAll()
        for w in writes { w.promise?.fail(error) }
    }
}
