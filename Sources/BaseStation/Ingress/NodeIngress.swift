import CommandLineSupport
import Logging
import Wire

/// The base station's end of its nodes, the one `serve` and `stress` both run: every received
/// message goes decode (`Inbound.decode`) → who sent it (the transport's peer, checked against
/// the registry: its registered connection, its header's device) → a registration (welcome), or
/// the round's handler, or a typed `DropReason` counted in the live metrics. Sends that cannot be
/// handed over leave their node out until it registers again.
///
/// What the caller gives: the transport (ZeroMQ, or an `InMemoryNetwork`), the registry (the
/// scenario's names, or first-comer seats), the clock every deadline is read from, and each
/// node's welcome.
final class NodeIngress {
    let transport: ServerTransport
    /// Who registered, who takes part, who was told it is no node of this run.
    var registry: NodeRegistry
    /// The live figures (`/metrics`, the JSONL log): bytes in and drops by reason are counted here.
    let metrics: LiveMetrics
    let clock: MonotonicClock
    let log: Logger
    /// Lines a peer can cause over and over (drops, hellos), one per kind per 10 s with a count.
    private let limited: RateLimitedLog
    /// The welcome of the node registering as a device index.
    private let welcome: (Int) -> Welcome
    /// Once the run is over, the shutdown a hello is answered with instead of a welcome, and the
    /// round it names.
    private(set) var runOver: (shutdown: Shutdown, round: UInt32)?
    /// Nodes told the run is over whose farewell has not come yet.
    var awaitingFarewell = Set<Int>()
    /// Frames that could not be handed to a node, by type.
    private(set) var sendsFailed: [FrameType: Int] = [:]
    /// Times a node taking part was left out because a frame could not be handed to it.
    private(set) var nodesLeftOut = 0

    init(
        transport: ServerTransport, registry: NodeRegistry, metrics: LiveMetrics, clock: MonotonicClock,
        log: Logger, welcome: @escaping (Int) -> Welcome
    ) {
        self.transport = transport
        self.registry = registry
        self.metrics = metrics
        self.clock = clock
        self.log = log
        self.welcome = welcome
        limited = RateLimitedLog(log: log, now: { [clock] in clock.nanoseconds })
    }

    var nodes: [NodeRegistry.Node] { registry.nodes }

    /// What one received message is to the base station.
    enum Arrival {
        /// A registered node's message, over its registered connection, its header naming it.
        case fromNode(Int, Inbound)
        /// A hello, and the device index its peer holds (the scenario's, or a first-comer seat).
        case hello(Int, Hello)
        /// Nothing to act on: why, and what to log (nil: counted, not logged).
        case dropped(DropReason, log: String?)
        /// A message from a peer that is no node of the run.
        case stranger(String)
    }

    /// Decode, then authenticate: who `peer`'s message is from and what it says. Who a frame is
    /// from is the transport's to say (the key, or the connection), never the frame's: one over
    /// another connection than its node registered on, or whose header names another device, is
    /// no frame of that node.
    func classify(_ decoded: Result<Inbound, Inbound.Refusal>, from peer: String) -> Arrival {
        let inbound: Inbound
        switch decoded {
        case .success(let i): inbound = i
        case .failure(let refusal):
            if refusal.header?.type == .hello { return .dropped(.badHello, log: "bad hello from \(peer): \(refusal)") }
            return .dropped(refusal.reason, log: "dropped a frame from \(peer): \(refusal)")
        }
        if case .hello(let hello) = inbound.message {
            guard let index = registry.seat(for: peer) else {
                return registry.admission == .named ? .stranger(peer) : .dropped(.helloBeyondTheNodes, log: nil)
            }
            return .hello(index, hello)
        }
        guard let index = registry.index(of: peer) else { return .stranger(peer) }
        guard transport.lastReceivedOnAdoptedConnection else {
            return .dropped(
                .notTheRegisteredConnection,
                log: "dropped a \(inbound.type) frame for \(peer) from a connection it did not register on")
        }
        guard inbound.frame.node == UInt32(index) else {
            return .dropped(
                .wrongNodeField,
                log: "dropped a \(inbound.type) frame from \(peer) (device \(index)) whose header names device "
                    + "\(inbound.frame.node)")
        }
        return .fromNode(index, inbound)
    }

    /// Receives until `done` says so or `seconds` pass: registrations are handled on the way, every
    /// registered node's message goes to `handle`; what is dropped is counted (and logged, except
    /// a round's late frames, which come in runs). `handle` refuses a message by throwing: a
    /// `FrameError` with its reason, a receiver's `ReceptionRefusal`, or `StaleFrame`.
    func pump(for seconds: Double, _ handle: (Int, Inbound) throws -> Void, done: () -> Bool) throws {
        let deadline = clock.deadline(in: seconds)
        while !done(), clock.nanoseconds < deadline {
            guard let (peer, data) = try transport.receive() else { continue }
            metrics.received(bytes: data.count)
            switch classify(Inbound.decode(data), from: peer) {
            case .fromNode(let k, let inbound):
                do { try handle(k, inbound) } catch {
                    let reason = DropReason(handling: error)
                    metrics.dropped(reason)
                    if !(error is StaleFrame) {
                        limited.info(
                            kind: "\(reason) \(peer)", "  dropped a \(inbound.type) frame from \(peer): \(error)")
                    }
                }
            case .hello(let k, let hello): register(k, hello, from: peer)
            case .dropped(let reason, let line):
                metrics.dropped(reason)
                if let line { limited.info(kind: "\(reason) \(peer)", "  \(line)") }
                if reason == .helloBeyondTheNodes { refuseBeyondTheSeats(peer) }
            case .stranger(let name):
                metrics.dropped(.unknownPeer)
                answerStranger(name)
            }
        }
    }

    /// Sends `frame` to `node`; false when it cannot be handed over, counted, and the node left out
    /// of the rounds until it says hello again (a vanished node, or one whose queue is full because
    /// it does not read: one node must not hold the others).
    @discardableResult
    func send(_ frame: Frame, to node: Int) -> Bool {
        do { try transport.send(frame.encoded(), to: nodes[node].name) } catch {
            sendsFailed[frame.type, default: 0] += 1
            if nodes[node].active {
                nodesLeftOut += 1
                progress("  could not send \(frame.type) to \(nodes[node].name): \(error); leaving it out")
            }
            registry.leaveOut(node)
            return false
        }
        return true
    }

    /// Asks nodes this base station has no registration of to say hello, without waiting: one
    /// that is not connected (not started, or gone) is simply not reached.
    func askToRegister(_ indices: [Int], _ reason: String) {
        for i in indices {
            try? transport.send(
                RegisterAgain(reason: reason).frame(round: 0, node: UInt32(i)).encoded(), to: nodes[i].name)
        }
    }

    /// Tells every node that ever registered that the run is over (`shutdown`, of `round`); from
    /// now on a hello is answered so too instead of welcomed. With `awaitFarewells`, the active
    /// nodes' farewells are then awaited (`awaitingFarewell`).
    func tellEveryNodeTheRunIsOver(_ shutdown: Shutdown, round: UInt32, awaitFarewells: Bool) {
        runOver = (shutdown, round)
        for i in nodes.indices where nodes[i].hello != nil {
            tellRunIsOver(i, awaitFarewell: awaitFarewells && nodes[i].active)
        }
    }

    private func tellRunIsOver(_ index: Int, awaitFarewell: Bool) {
        guard let (shutdown, round) = runOver else { return }
        if send(shutdown.frame(round: round, node: UInt32(index)), to: index), awaitFarewell {
            awaitingFarewell.insert(index)
        }
    }

    private func register(_ index: Int, _ hello: Hello, from peer: String) {
        // The name a hello claims must be the one its key (or connection) is: a node started with
        // another node's key, or a hello naming someone else, is refused and changes nothing.
        do { try registry.check(hello, from: index, secure: transport.secure) } catch {
            metrics.dropped(.badHello)
            return limited.info(kind: "bad hello \(peer)", "  bad hello from \(peer): \(error)")
        }
        transport.adoptLastConnection()
        // The shutdown it missed; its farewell is awaited, as an active node's would be.
        guard runOver == nil else { return tellRunIsOver(index, awaitFarewell: true) }
        registry.admit(index, hello: hello)
        metrics.registered(nodes: registry.activeCount)
        send(welcome(index).frame(round: 0, node: UInt32(index)), to: index)
        // A node's hellos are answered each time, but a flood of them is one line per 10 s.
        limited.info(kind: "hello \(peer)", "  registered \(peer) (\(hello.profile)) as device \(index)")
    }

    /// Tells an unknown peer once why it is ignored (a flood of hellos gets one answer, and at
    /// most `NodeRegistry.strangersAnswered` names are ever answered), without waiting: if its
    /// queue is full or it is gone, so be it.
    private func answerStranger(_ name: String) {
        guard registry.firstWord(toStranger: name) else { return }
        progress("  ignoring unknown peer '\(name)' (not a node of this scenario)")
        try? transport.send(
            Shutdown(.refused, reason: "'\(name)' is not a node of this scenario").frame(round: 0, node: 0).encoded(),
            to: name)
    }

    /// A hello beyond the first comers' K seats is refused, once per name.
    private func refuseBeyondTheSeats(_ name: String) {
        guard registry.firstWord(toStranger: name) else { return }
        try? transport.send(
            Shutdown(.refused, reason: "the run has its \(nodes.count) nodes").frame(round: 0, node: 0).encoded(),
            to: name)
    }

    private func progress(_ line: String) { log.info("\(line)") }
}
