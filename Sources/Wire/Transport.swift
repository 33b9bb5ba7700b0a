import CZeroMQ
import Foundation

/// The base station's end of the network: encoded frames to and from named peers. Two
/// implementations: `ZeroMQServerTransport` (a ROUTER socket, the real fleet) and the server end of
/// an `InMemoryNetwork` (unit tests of whole rounds, no processes), as swift-nio's
/// `EmbeddedChannel` stands beside a socket channel.
public protocol ServerTransport: AnyObject {
    /// Where peers reach it (an endpoint, or a label), for logs.
    var address: String { get }
    /// Queues `data` for `peer`. Throws when it cannot be handed over at once or within the
    /// transport's send timeout (the base station's is 0: it never waits for a peer).
    func send(_ data: Data, to peer: String) throws
    /// The next message from any peer within the transport's receive timeout, or nil. Under
    /// CURVE the peer is the node name its key is admitted as (the ZAP user id); in plaintext and
    /// in memory, the routing name its connection claims.
    func receive() throws -> (peer: String, data: Data)?
    /// Makes the connection the last received message came over its peer's: sends to the peer go
    /// there from now on (a node's valid hello). Plaintext and in memory a name is its connection.
    func adoptLastConnection()
    /// Whether the last received message came over its peer's adopted connection (false: another
    /// connection holding the same key, such as a node started with another node's key).
    var lastReceivedOnAdoptedConnection: Bool { get }
    /// Whether peers are authenticated (CURVE) rather than named by their connections.
    var secure: Bool { get }
}

extension ServerTransport {
    public var secure: Bool { false }
    public func adoptLastConnection() {}
    public var lastReceivedOnAdoptedConnection: Bool { true }
}

/// A node's end of the network: encoded frames to and from its base station.
public protocol NodeTransport: AnyObject {
    func send(_ data: Data) throws
    /// The next message within the transport's receive timeout, or nil.
    func receive() throws -> Data?
    /// Connections to the base station established so far (handshakes completed): one more than
    /// at registration means the link was re-established, to a base station that may have
    /// restarted, so the node says hello again. 0 where there are no connections (in memory).
    var sessions: Int { get }
}

extension NodeTransport {
    public var sessions: Int { 0 }
}

/// The base station on a ZeroMQ ROUTER socket. In plaintext a peer is its DEALER's routing
/// identity (the name it claims); under CURVE (`security`) every client is checked by a ZAP
/// handler against the allow-list, a peer is the node name its key is admitted as, and it is
/// reached over the connection its registration came on (nodes set no routing identity, so no
/// one can take or block another's name).
public final class ZeroMQServerTransport: ServerTransport {
    private let context: ZeroMQContext
    private let socket: ZeroMQSocket
    private let zap: ZAPHandler?
    private let watch: ConnectionWatch
    public let address: String
    public var secure: Bool { zap != nil }
    /// CURVE: each node's adopted connection (routing id), and the last message's.
    private var routes: [String: Data] = [:]
    private var last: (peer: String, connection: Data)?

    /// Messages libzmq may queue per peer on the way in when `nodes` peers send at once: 32 in
    /// all (at least 1 each, at most 16), so what waits inside libzmq stays near 32 frames (plus
    /// the one each connection is reading) instead of growing with K.
    /// Milliseconds a connection may take to complete its handshake: a CURVE handshake over a
    /// 200 ms backhaul takes under a second; an idle connection from anyone is closed after this.
    public static let handshakeTimeoutMs: Int32 = 5_000

    public static func highWaterMark(forNodes nodes: Int) -> Int32 { Int32(max(1, min(16, 32 / max(1, nodes)))) }

    /// Binds `endpoint` (`tcp://host:port`, `ipc://path`). Receives wait up to `receiveTimeoutMs`;
    /// sends to a peer whose queue is full fail after `sendTimeoutMs`, by default at once: the
    /// loop that sends also runs the rounds, and a peer that never reads must not hold it (a full
    /// queue of libzmq's 1,000 messages means the peer is not reading). At most `highWaterMark`
    /// messages wait per peer inside libzmq on the way in (a few MB at the frame sizes used), so
    /// memory does not grow with a sender that outpaces the base station: it is held back instead.
    /// Refused connections are reported to `refused`, from the ZAP handler's or the connection
    /// watch's thread. At most `awaitingHandshakeCap` connections may await their handshake at once
    /// (`ConnectionGate`: the oldest beyond it are shut down, and reported). A
    /// connection that has not completed its handshake (ZMTP's greeting and, under CURVE, the key
    /// exchange and ZAP) within `handshakeTimeoutMs` is closed, so what a peer without a key can
    /// hold is a descriptor for that long (libzmq's default is 30 s).
    public init(
        endpoint: String, receiveTimeoutMs: Int32 = 200, sendTimeoutMs: Int32 = 0, highWaterMark: Int32 = 16,
        handshakeTimeoutMs: Int32 = ZeroMQServerTransport.handshakeTimeoutMs,
        awaitingHandshakeCap: Int = ConnectionGate.defaultCap, security: CurveServerSecurity? = nil,
        refused: @escaping @Sendable (SecurityRefusal) -> Void = { _ in }
    ) throws {
        context = try ZeroMQContext()
        socket = try ZeroMQSocket(context, .router)
        try socket.setLivenessChecks(.listener)
        try socket.setOption(ZMQ_HANDSHAKE_IVL, handshakeTimeoutMs)
        try socket.setReceiveHighWaterMark(highWaterMark)
        try socket.setReceiveTimeout(ms: receiveTimeoutMs)
        try socket.setSendTimeout(ms: sendTimeoutMs)
        if let security {
            let handler = try ZAPHandler(context: context, allowList: security.allowList, report: refused)
            try socket.makeCurveServer(security.keys)
            handler.start()
            zap = handler
        } else {
            zap = nil
        }
        let gate = ConnectionGate(
            cap: awaitingHandshakeCap,
            handshakeBytes: security == nil
                ? ConnectionGate.plaintextHandshakeBytes : ConnectionGate.curveHandshakeBytes)
        watch = try ConnectionWatch(
            watching: socket, context: context, gate: gate, secure: security != nil, report: refused)
        watch.start()
        address = try socket.bind(endpoint)
    }

    deinit {
        socket.close()
        watch.stop()
        zap?.stop()
    }

    /// Connections shut down short of their handshake because more than the cap were waiting.
    public var connectionsShed: Int { watch.shed }

    public func send(_ data: Data, to peer: String) throws {
        guard zap != nil else { return try socket.send([Data(peer.utf8), data]) }
        guard let route = routes[peer] else {
            throw ZeroMQError(call: "zmq_send", code: EHOSTUNREACH, message: "\(peer) has no registered connection")
        }
        try socket.send([route, data])
    }

    public func receive() throws -> (peer: String, data: Data)? {
        guard let (parts, user) = try socket.receiveWithUser(), parts.count >= 2 else { return nil }
        guard zap != nil else { return (String(decoding: parts[0], as: UTF8.self), parts[parts.count - 1]) }
        // Under ZAP every admitted connection has its user id; a message without one is not admitted.
        guard let user, !user.isEmpty else { return nil }
        last = (user, parts[0])
        return (user, parts[parts.count - 1])
    }

    public func adoptLastConnection() {
        if let last { routes[last.peer] = last.connection }
    }

    public var lastReceivedOnAdoptedConnection: Bool {
        guard zap != nil, let last else { return true }
        return routes[last.peer] == last.connection
    }

    /// How long unsent messages may keep the process alive at exit.
    public func setLinger(ms: Int32) throws { try socket.setLinger(ms: ms) }
}

/// A node on a ZeroMQ DEALER socket: in plaintext its routing identity is its name; under CURVE
/// (`security`) it authenticates with its key and sets no identity (the base station knows it by
/// its key). A monitor counts the handshakes with the base station (`sessions`).
public final class ZeroMQNodeTransport: NodeTransport {
    private let context: ZeroMQContext
    private let socket: ZeroMQSocket
    private let monitor: ZeroMQSocket
    public private(set) var sessions = 0

    public init(
        endpoint: String, identity: String, receiveTimeoutMs: Int32 = 500, sendTimeoutMs: Int32,
        highWaterMark: Int32 = 16,
        security: CurveClientSecurity? = nil
    ) throws {
        context = try ZeroMQContext()
        socket = try ZeroMQSocket(context, .dealer)
        try socket.setLivenessChecks(.dialler(connectTimeoutMs: 3_000))
        try socket.setSendHighWaterMark(highWaterMark)
        if let security { try socket.makeCurveClient(security) } else { try socket.setIdentity(identity) }
        try socket.setSendTimeout(ms: sendTimeoutMs)
        try socket.setReceiveTimeout(ms: receiveTimeoutMs)
        let events = "inproc://airfl-node-monitor-\(UUID().uuidString)"
        try socket.monitor(events, events: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        monitor = try ZeroMQSocket(context, .pair)
        try monitor.setReceiveTimeout(ms: 0)
        try monitor.connect(events)
        try socket.connect(endpoint)
    }

    deinit {
        socket.close()
        monitor.close()
    }

    public func send(_ data: Data) throws { try socket.send([data]) }

    public func receive() throws -> Data? {
        defer { countSessions() }
        countSessions()
        return try socket.receive()?.last
    }

    /// How long unsent messages (the farewell) may keep the process alive at exit.
    public func setLinger(ms: Int32) throws { try socket.setLinger(ms: ms) }

    private func countSessions() {
        while let event = try? monitor.receive() { if event.first?.count ?? 0 >= 6 { sessions += 1 } }
    }
}
