import CZeroMQ
import Foundation

/// A libzmq call that failed, with the call's name and libzmq's own message.
public struct ZeroMQError: Error, CustomStringConvertible, Equatable {
    public var call: String
    public var code: Int32
    public var message: String
    static func last(_ call: String) -> ZeroMQError {
        let e = zmq_errno()
        return ZeroMQError(call: call, code: e, message: String(cString: zmq_strerror(e)))
    }
    public var description: String { "\(call): \(message) (errno \(code))" }
}

/// libzmq's version (major, minor, patch).
public var zeroMQVersion: (major: Int, minor: Int, patch: Int) {
    var a: Int32 = 0
    var b: Int32 = 0
    var c: Int32 = 0
    zmq_version(&a, &b, &c)
    return (Int(a), Int(b), Int(c))
}

/// A ZeroMQ context: owns the I/O thread and every socket made from it.
public final class ZeroMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() throws {
        guard let h = zmq_ctx_new() else { throw ZeroMQError.last("zmq_ctx_new") }
        handle = h
    }

    deinit { zmq_ctx_term(handle) }
}

/// The socket patterns the project uses; every one of them delivers losslessly with backpressure.
public enum SocketKind: Sendable {
    case push, pull, dealer, router
    /// The ZAP handler's reply socket and the monitor's pair (`ZAPHandler`).
    case rep, pair
    var raw: Int32 {
        switch self {
        case .push: return ZMQ_PUSH
        case .pull: return ZMQ_PULL
        case .dealer: return ZMQ_DEALER
        case .router: return ZMQ_ROUTER
        case .rep: return ZMQ_REP
        case .pair: return ZMQ_PAIR
        }
    }
}

/// One ZeroMQ socket. Not thread-safe (as libzmq's sockets are not): use it from one thread.
public final class ZeroMQSocket: @unchecked Sendable {
    private var handle: UnsafeMutableRawPointer?
    /// Keeps the context alive while the socket is open.
    private let context: ZeroMQContext

    public init(_ context: ZeroMQContext, _ kind: SocketKind) throws {
        guard let h = zmq_socket(context.handle, kind.raw) else { throw ZeroMQError.last("zmq_socket") }
        self.context = context
        handle = h
        try setOption(ZMQ_LINGER, 0)
        // Refuse oversized messages inside libzmq, before anything is allocated for them.
        var limit = Int64(Frame.headerSize + Frame.maximumPayload)
        guard zmq_setsockopt(h, ZMQ_MAXMSGSIZE, &limit, MemoryLayout<Int64>.size) == 0 else {
            throw ZeroMQError.last("zmq_setsockopt(MAXMSGSIZE)")
        }
        if kind == .router { try setOption(ZMQ_ROUTER_MANDATORY, 1) }
    }

    deinit { close() }

    /// Closes the socket; later calls fail.
    public func close() {
        if let h = handle { zmq_close(h) }
        handle = nil
    }

    private func socket(_ call: String) throws -> UnsafeMutableRawPointer {
        guard let h = handle else { throw ZeroMQError(call: call, code: 0, message: "socket is closed") }
        return h
    }

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(try socket("zmq_setsockopt"), option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZeroMQError.last("zmq_setsockopt(\(option))")
        }
    }

    /// A string-valued option (CURVE keys in Z85, the ZAP domain).
    public func setOption(_ option: Int32, _ value: String) throws {
        let bytes = Array(value.utf8)
        guard zmq_setsockopt(try socket("zmq_setsockopt"), option, bytes, bytes.count) == 0 else {
            throw ZeroMQError.last("zmq_setsockopt(\(option))")
        }
    }

    /// CURVE as the server (set before bind): its secret key; clients are checked by the
    /// context's ZAP handler.
    public func makeCurveServer(_ keys: CurveKeyPair) throws {
        try setOption(ZMQ_CURVE_SERVER, 1)
        try setOption(ZMQ_CURVE_SECRETKEY, keys.secretKey.z85)
        try setOption(ZMQ_ZAP_DOMAIN, "airfl")
    }

    /// CURVE as a client (set before connect): its own pair and the server's public key.
    public func makeCurveClient(_ security: CurveClientSecurity) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, security.serverKey.z85)
        try setOption(ZMQ_CURVE_PUBLICKEY, security.keys.publicKey.z85)
        try setOption(ZMQ_CURVE_SECRETKEY, security.keys.secretKey.z85)
    }

    /// Publishes `events` of this socket on a PAIR endpoint (`zmq_socket_monitor`).
    func monitor(_ endpoint: String, events: Int32) throws {
        guard zmq_socket_monitor(try socket("zmq_socket_monitor"), endpoint, events) == 0 else {
            throw ZeroMQError.last("zmq_socket_monitor")
        }
    }

    /// The indices of `sockets` with a message waiting, after at most `timeoutMs`.
    static func poll(_ sockets: [ZeroMQSocket], timeoutMs: Int) throws -> [Int] {
        var items = try sockets.map {
            zmq_pollitem_t(socket: try $0.socket("zmq_poll"), fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        }
        let rc = zmq_poll(&items, Int32(items.count), timeoutMs)
        guard rc >= 0 else {
            if zmq_errno() == EINTR { return [] }
            throw ZeroMQError.last("zmq_poll")
        }
        return items.indices.filter { items[$0].revents & Int16(ZMQ_POLLIN) != 0 }
    }

    /// The routing identity a DEALER presents to a ROUTER (set before connecting).
    public func setIdentity(_ identity: String) throws {
        let bytes = Array(identity.utf8)
        guard zmq_setsockopt(try socket("zmq_setsockopt"), ZMQ_ROUTING_ID, bytes, bytes.count) == 0 else {
            throw ZeroMQError.last("zmq_setsockopt(ROUTING_ID)")
        }
    }

    /// How long a connection may go unanswered before it is closed, milliseconds.
    public static let livenessTimeoutMs: Int32 = 10_000

    /// Liveness over a link that can fail silently (a cut backhaul sends no reset): a dead
    /// connection is closed after `livenessTimeoutMs`, so the dialling side dials again at once
    /// instead of waiting out TCP's retransmission backoff (minutes after a long cut) and the
    /// listening side frees the dead peer's queue; a listener that is alive but busy is never taken
    /// for dead.
    /// libzmq stops reading a connection whose queue is full, so a busy listener (a base station
    /// in a long round end) can answer nothing in band, and the two sides check differently:
    /// - the listener sends a ZMTP PING every 2 s (from libzmq's I/O thread, whether or not its
    ///   queue is full) and waits for no answer; it closes a connection whose data its peer's
    ///   kernel has not acknowledged for the timeout (TCP_USER_TIMEOUT) or, when idle, whose
    ///   keepalive probes go unanswered;
    /// - the dialler closes a connection on which it has heard nothing, those PINGs included,
    ///   for the timeout (a ZMTP heartbeat timeout), and gives up a dial that hears nothing for
    ///   `connectTimeoutMs` (the kernel's own SYN retries would stretch to two minutes). It sets
    ///   no TCP_USER_TIMEOUT: that also closes a connection whose receiver's window stays shut,
    ///   the very case of a busy listener.
    /// Set before bind/connect.
    public func setLivenessChecks(_ side: LivenessSide) throws {
        let probeS: Int32 = 2
        let timeoutMs = Self.livenessTimeoutMs
        try setOption(ZMQ_TCP_KEEPALIVE, 1)
        try setOption(ZMQ_TCP_KEEPALIVE_IDLE, probeS)
        try setOption(ZMQ_TCP_KEEPALIVE_INTVL, probeS)
        try setOption(ZMQ_TCP_KEEPALIVE_CNT, timeoutMs / 1000 / probeS)
        try setOption(ZMQ_HEARTBEAT_IVL, probeS * 1000)
        switch side {
        case .listener:
            try setOption(ZMQ_HEARTBEAT_TIMEOUT, 0)
            try setOption(ZMQ_TCP_MAXRT, timeoutMs)
        case .dialler(let connectTimeoutMs):
            try setOption(ZMQ_HEARTBEAT_TIMEOUT, timeoutMs)
            try setOption(ZMQ_CONNECT_TIMEOUT, connectTimeoutMs)
        }
    }

    /// How long close() may keep flushing queued messages, milliseconds (0 by default: discard).
    public func setLinger(ms: Int32) throws { try setOption(ZMQ_LINGER, ms) }

    /// Messages queued per peer before libzmq stops reading that peer's connection (backpressure
    /// then reaches the sender through TCP). Set before bind/connect.
    public func setReceiveHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_RCVHWM, messages) }
    /// Messages queued per peer before sends block.
    public func setSendHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_SNDHWM, messages) }

    /// Receive timeout in milliseconds (−1 waits forever).
    public func setReceiveTimeout(ms: Int32) throws { try setOption(ZMQ_RCVTIMEO, ms) }
    /// Send timeout in milliseconds (−1 blocks under backpressure until the peer drains).
    public func setSendTimeout(ms: Int32) throws { try setOption(ZMQ_SNDTIMEO, ms) }

    /// Binds to an endpoint such as `tcp://127.0.0.1:5555`; returns the bound endpoint (port 0 or `*`
    /// resolved).
    @discardableResult
    public func bind(_ endpoint: String) throws -> String {
        let h = try socket("zmq_bind")
        guard zmq_bind(h, endpoint) == 0 else { throw ZeroMQError.last("zmq_bind(\(endpoint))") }
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(h, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
            throw ZeroMQError.last("zmq_getsockopt(LAST_ENDPOINT)")
        }
        return String(cString: buffer)
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(try socket("zmq_connect"), endpoint) == 0 else {
            throw ZeroMQError.last("zmq_connect(\(endpoint))")
        }
    }

    /// Sends a multipart message; blocks under backpressure up to the send timeout.
    public func send(_ parts: [Data]) throws {
        let h = try socket("zmq_send")
        for (i, part) in parts.enumerated() {
            let flags = i < parts.count - 1 ? ZMQ_SNDMORE : 0
            let rc = part.withUnsafeBytes { zmq_send(h, $0.baseAddress, part.count, flags) }
            guard rc >= 0 else { throw ZeroMQError.last("zmq_send") }
        }
    }

    /// Receives one multipart message, or nil when the receive timeout passes.
    public func receive() throws -> [Data]? { try receiveWithUser()?.parts }

    /// A multipart message and the ZAP user id its connection was admitted as (nil without ZAP).
    ///
    /// A part of `zeroCopyBytes` or more is not copied: its `Data` holds libzmq's message and
    /// closes it when the last copy of the `Data` goes (a symbols frame is tens of KB, and the
    /// base station reads every byte of it once anyway).
    public func receiveWithUser() throws -> (parts: [Data], user: String?)? {
        let h = try socket("zmq_msg_recv")
        var parts = [Data]()
        var user: String?
        while true {
            let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(msg)
            var handedOver = false
            defer {
                if !handedOver {
                    zmq_msg_close(msg)
                    msg.deallocate()
                }
            }
            let rc = zmq_msg_recv(msg, h, 0)
            if rc < 0 {
                if zmq_errno() == EAGAIN && parts.isEmpty { return nil }
                if zmq_errno() == EINTR { continue }
                throw ZeroMQError.last("zmq_msg_recv")
            }
            if parts.isEmpty, let u = zmq_msg_gets(msg, "User-Id") { user = String(cString: u) }
            let size = zmq_msg_size(msg)
            if size >= Self.zeroCopyBytes, let bytes = zmq_msg_data(msg) {
                handedOver = true
                parts.append(
                    Data(
                        bytesNoCopy: bytes, count: size,
                        deallocator: .custom { _, _ in
                            zmq_msg_close(msg)
                            msg.deallocate()
                        }))
            } else {
                parts.append(Data(bytes: zmq_msg_data(msg), count: size))
            }
            let more = zmq_msg_more(msg) != 0
            if !more { return (parts, user) }
        }
    }

    /// Parts at least this long are handed over without a copy (smaller ones are cheaper copied).
    public static let zeroCopyBytes = 4096
}

/// Which end of a connection a socket is, for its liveness checks (`setLivenessChecks`).
public enum LivenessSide: Sendable {
    /// The side that binds (the base station).
    case listener
    /// The side that connects (a node), giving up a dial after `connectTimeoutMs`.
    case dialler(connectTimeoutMs: Int32)
}
