/// The connections of a listening socket that have not completed their handshake, held to a cap:
/// a connection flood from anyone (no key needed) cannot hold the base station's descriptors or
/// keep its nodes out. libzmq reports each accepted and closed connection with its descriptor
/// (`ConnectionWatch`); whether one is past its handshake is read from the kernel, as the bytes it
/// has received from the peer (a ZMTP greeting is 64 bytes; a node past a CURVE handshake has sent
/// its HELLO and INITIATE too, ≥ 521 bytes; past a plaintext one, its READY, ≥ 94). Beyond `cap`
/// connections still short of that, the oldest are shut down: an honest node's fresh connection
/// completes its handshake in a round trip, while a flood's wait.
public struct ConnectionGate: Sendable {
    /// Connections that may await their handshake at once.
    public let cap: Int
    /// Bytes a peer has sent once its handshake is complete (at least).
    public let handshakeBytes: Int
    /// Accepted and not yet closed: descriptor → order of acceptance.
    private var open: [Int32: Int] = [:]
    private var accepted = 0
    /// Connections shut down for the cap, in all.
    public private(set) var shed = 0

    public static let defaultCap = 64
    /// ZMTP 3 greeting (64) + CURVE HELLO (200) + INITIATE (at least 257).
    public static let curveHandshakeBytes = 521
    /// ZMTP 3 greeting (64) + the NULL mechanism's READY with a DEALER's Socket-Type (30).
    public static let plaintextHandshakeBytes = 94

    public init(cap: Int = ConnectionGate.defaultCap, handshakeBytes: Int) {
        self.cap = max(1, cap)
        self.handshakeBytes = handshakeBytes
    }

    public mutating func accepted(_ fd: Int32) {
        accepted += 1
        open[fd] = accepted
    }

    public mutating func closed(_ fd: Int32) { open[fd] = nil }

    /// Connections now open.
    public var openCount: Int { open.count }

    /// The descriptors to shut down now: the oldest of those still short of `handshakeBytes`
    /// (`bytesReceived`; nil: not a TCP connection, never counted) beyond `cap`. They are forgotten
    /// here (their close is reported later, and ignored).
    public mutating func overflow(bytesReceived: (Int32) -> Int?) -> [Int32] {
        let waiting = open.filter { fd, _ in bytesReceived(fd).map { $0 < handshakeBytes } ?? false }
        guard waiting.count > cap else { return [] }
        let oldest = waiting.sorted { $0.value < $1.value }.prefix(waiting.count - cap).map(\.key)
        for fd in oldest { open[fd] = nil }
        shed += oldest.count
        return oldest
    }
}
