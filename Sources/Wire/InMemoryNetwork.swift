import Foundation

/// A base station and its nodes in one process: lossless FIFO queues between one server end and
/// named node ends, with the same blocking-with-timeout receive as the sockets. For unit tests of
/// rounds and firmware without processes; every queue is guarded by one lock, so the ends may live
/// on different threads.
///
/// In virtual time (a `ManualClock` given), the server end's receive does not wait: finding nothing
/// queued, it moves the clock on by the receive timeout, as a real wait would have taken, and
/// returns nil. A base station on that clock then reaches a 30 s deadline in a few thousand empty
/// receives, not in 30 s. Only for peers whose frames are queued before the wait that should see
/// them (scripted nodes): a node computing in real time would be timed out at once.
public final class InMemoryNetwork: @unchecked Sendable {
    private let condition = NSCondition()
    private var toServer: [(peer: String, data: Data)] = []
    private var toNode: [String: [Data]] = [:]
    /// Peers whose end was closed: sends to them fail, as a vanished process's would.
    private var closed: Set<String> = []
    /// How long a receive waits for a message.
    public let receiveTimeout: TimeInterval
    /// The clock the server end's empty receives move on (virtual time); nil: real waits.
    public let virtualClock: ManualClock?

    public init(receiveTimeout: TimeInterval = 0.05, virtualClock: ManualClock? = nil) {
        self.receiveTimeout = receiveTimeout
        self.virtualClock = virtualClock
    }

    /// The base station's end.
    public func server() -> ServerTransport { ServerEnd(network: self) }

    /// A node's end, reachable as `name` (its routing identity).
    public func connect(_ name: String) -> NodeTransport {
        condition.lock()
        closed.remove(name)
        toNode[name] = toNode[name] ?? []
        condition.unlock()
        return NodeEnd(network: self, name: name)
    }

    /// Closes `name`'s end: what is queued for it is discarded and later sends to it fail.
    public func disconnect(_ name: String) {
        condition.lock()
        closed.insert(name)
        toNode[name] = nil
        condition.unlock()
    }

    /// Messages queued for `name` and not yet received (for tests' assertions).
    public func pending(for name: String) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return toNode[name]?.count ?? 0
    }

    fileprivate func post(_ data: Data, from peer: String) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !closed.contains(peer) else { throw InMemoryNetworkError(problem: "\(peer)'s end is closed") }
        toServer.append((peer, data))
        condition.broadcast()
    }

    fileprivate func post(_ data: Data, to peer: String) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !closed.contains(peer), toNode[peer] != nil else {
            throw InMemoryNetworkError(problem: "no peer \(peer) is connected")
        }
        toNode[peer]!.append(data)
        condition.broadcast()
    }

    /// Waits up to `receiveTimeout` for `take` to find something.
    fileprivate func wait<T>(_ take: () -> T?) -> T? {
        let deadline = Date(timeIntervalSinceNow: receiveTimeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value = take() { return value }
            guard condition.wait(until: deadline) else { return take() }
        }
    }

    fileprivate func takeForServer() -> (peer: String, data: Data)? {
        let take = { self.toServer.isEmpty ? nil : self.toServer.removeFirst() }
        guard let clock = virtualClock else { return wait(take) }
        condition.lock()
        defer { condition.unlock() }
        if let message = take() { return message }
        clock.advance(by: receiveTimeout)
        return nil
    }

    fileprivate func take(for name: String) -> Data? {
        wait { (toNode[name]?.isEmpty ?? true) ? nil : toNode[name]!.removeFirst() }
    }

    private final class ServerEnd: ServerTransport {
        let network: InMemoryNetwork
        init(network: InMemoryNetwork) { self.network = network }
        var address: String { "in-memory" }
        func send(_ data: Data, to peer: String) throws { try network.post(data, to: peer) }
        func receive() throws -> (peer: String, data: Data)? { network.takeForServer() }
    }

    private final class NodeEnd: NodeTransport {
        let network: InMemoryNetwork
        let name: String
        init(network: InMemoryNetwork, name: String) {
            self.network = network
            self.name = name
        }
        func send(_ data: Data) throws { try network.post(data, from: name) }
        func receive() throws -> Data? { network.take(for: name) }
    }
}

/// A send on an `InMemoryNetwork` to or from a closed end.
public struct InMemoryNetworkError: Error, CustomStringConvertible {
    public var problem: String
    public var description: String { "in-memory network: \(problem)" }
}
