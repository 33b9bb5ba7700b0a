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
    /// The next message from any peer within the transport's receive timeout, or nil.
    func receive() throws -> (peer: String, data: Data)?
}

/// A node's end of the network: encoded frames to and from its base station.
public protocol NodeTransport: AnyObject {
    func send(_ data: Data) throws
    /// The next message within the transport's receive timeout, or nil.
    func receive() throws -> Data?
}

/// The base station on a ZeroMQ ROUTER socket: a peer is its DEALER's routing identity.
public final class ZeroMQServerTransport: ServerTransport {
    private let context: ZeroMQContext
    private let socket: ZeroMQSocket
    public let address: String

    /// Binds `endpoint` (`tcp://host:port`, `ipc://path`). Receives wait up to `receiveTimeoutMs`;
    /// sends to a peer whose queue is full fail after `sendTimeoutMs`, by default at once: the
    /// loop that sends also runs the rounds, and a peer that never reads must not hold it (a full
    /// queue of libzmq's 1,000 messages means the peer is not reading). At most `highWaterMark`
    /// messages wait per peer inside libzmq on the way in (a few MB at the frame sizes used), so
    /// memory does not grow with a sender that outpaces the base station: it is held back instead.
    public init(endpoint: String, receiveTimeoutMs: Int32 = 200, sendTimeoutMs: Int32 = 0, highWaterMark: Int32 = 16) throws {
        context = try ZeroMQContext()
        socket = try ZeroMQSocket(context, .router)
        try socket.setReceiveHighWaterMark(highWaterMark)
        try socket.setReceiveTimeout(ms: receiveTimeoutMs)
        try socket.setSendTimeout(ms: sendTimeoutMs)
        address = try socket.bind(endpoint)
    }

    public func send(_ data: Data, to peer: String) throws { try socket.send([Data(peer.utf8), data]) }

    public func receive() throws -> (peer: String, data: Data)? {
        guard let parts = try socket.receive(), parts.count >= 2 else { return nil }
        return (String(decoding: parts[0], as: UTF8.self), parts[parts.count - 1])
    }

    /// How long unsent messages may keep the process alive at exit.
    public func setLinger(ms: Int32) throws { try socket.setLinger(ms: ms) }
}

/// A node on a ZeroMQ DEALER socket whose routing identity is its name.
public final class ZeroMQNodeTransport: NodeTransport {
    private let context: ZeroMQContext
    private let socket: ZeroMQSocket

    public init(endpoint: String, identity: String, receiveTimeoutMs: Int32 = 500, sendTimeoutMs: Int32, highWaterMark: Int32 = 16) throws {
        context = try ZeroMQContext()
        socket = try ZeroMQSocket(context, .dealer)
        try socket.setSendHighWaterMark(highWaterMark)
        try socket.setIdentity(identity)
        try socket.setSendTimeout(ms: sendTimeoutMs)
        try socket.setReceiveTimeout(ms: receiveTimeoutMs)
        try socket.connect(endpoint)
    }

    public func send(_ data: Data) throws { try socket.send([data]) }

    public func receive() throws -> Data? { try socket.receive()?.last }
}
