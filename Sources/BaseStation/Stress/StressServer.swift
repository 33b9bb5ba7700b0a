import Dispatch
import Foundation
import Histogram
import LinearAlgebra
import Logging
import Numerics
import Radio
import Randomness
import Wire

/// The shape of a stress run: the radio the base station emulates and how long it runs.
struct StressSettings {
    /// K, synthetic nodes to wait for.
    var nodes: Int
    var rxAntennas: Int
    var txAntennas: Int
    var streams: Int
    var subcarriers: Int
    /// The carrier's numerology, for the real-time factor (stress emulates no timing itself).
    var numerology = Numerology(subcarrierSpacingHz: 30e3)!
    /// S, OFDM symbols per node per round.
    var roundSymbols: Int
    var format: SampleFormat
    /// How long the rounds run, seconds (after registration).
    var seconds: Double
    var threads: Int
    var queueDepth: Int
    /// Messages libzmq queues per node on the way in.
    var highWaterMark: Int32 = 16
    /// Symbols frames granted and not yet handed to the summing workers, at most, all nodes
    /// together (`FrameCredits`); the receiver holds at most half of them to batch. nil: no window.
    var windowFrames: Int? = StressSettings.defaultWindowFrames
    var noisePowerW: Double
    var registerTimeoutS: Double
    var roundTimeoutS: Double
    var seed: UInt64
    /// Whether a round's end (noise, combining, reconstruction) runs while the next round's frames
    /// arrive. Stress rounds are independent, but a fleet's next round needs this one's aggregate,
    /// so `serve` cannot do this: false (the default) plays the rounds one after another, as `serve` does.
    var overlapRoundEnd = false
    /// Where the air is summed (`ReceiverSpace`): the combiner's space, as `serve` sums it.
    var receiver = ReceiverSpace.combiner
    var summing = Summing.workers

    static let defaultWindowFrames = 32

    /// D: the reals that fill S OFDM symbols of L streams on N_sc subcarriers.
    var reals: Int { 2 * streams * subcarriers * roundSymbols }
}

/// `basestation stress`'s base station: the ingress `serve` runs (`NodeIngress`: decoding,
/// authentication against the registry, registration, the same drop reasons) with first-comer
/// seats for K synthetic nodes, a synthetic round policy (no model: a `SyntheticRound` of D reals
/// instead of the global adapter, and a fixed design), the full air and combining on every frame
/// (`StreamingReceiver`, the symbols checked and summed by the call `serve` makes), and the
/// counters of `StressTally`. The channels are i.i.d. CN(0, 1) and the design (eigen beamformers,
/// zero-forcing precoders) is made once: what is stressed is the data path.
final class StressServer {
    let settings: StressSettings
    let ingress: NodeIngress
    var transport: ServerTransport { ingress.transport }
    var tally = StressTally()
    /// The live figures (`/metrics`, the JSONL log).
    var metrics: LiveMetrics { ingress.metrics }
    var clock: MonotonicClock { ingress.clock }
    /// The previous round's end, running on `finisher` while this round's frames arrive.
    private var finishing: RoundEnding?
    private let finisher = DispatchQueue(label: "airfl.stress.round-end")

    init(
        settings: StressSettings, transport: ServerTransport, clock: MonotonicClock = SystemClock.shared,
        log: Logger
    ) {
        self.settings = settings
        let s = settings
        ingress = NodeIngress(
            transport: transport, registry: NodeRegistry(seats: s.nodes), metrics: LiveMetrics(), clock: clock,
            log: log,
            welcome: { k in
                Welcome(
                    index: k, devices: s.nodes, seed: s.seed, data: "synthetic", partition: "iid", dirichletAlpha: 1,
                    heldOutFraction: 0.1, context: 1, batch: 1, optimizer: "sgd", learningRate: 0, clipNorm: 0,
                    weightDecay: 0)
            })
    }

    private var nodes: [NodeRegistry.Node] { ingress.nodes }

    /// Registration, then rounds until `seconds` pass, then a shutdown to every node.
    func run() throws {
        let s = settings
        try register()
        let channels = try makeDesign()
        let start = clock.nanoseconds
        tally.startRounds(received: metrics.snapshot)
        var round = 0
        while clock.seconds(since: start) < s.seconds {
            round += 1
            try playRound(round, channels: channels)
        }
        collectFinishedRound()
        tally.endRounds(ingress: ingress)
        ingress.tellEveryNodeTheRunIsOver(
            Shutdown(.runOver, reason: "the stress run is over"), round: 0, awaitFarewells: false)
    }

    /// Waits for K distinct nodes' hellos.
    private func register() throws {
        let s = settings
        try ingress.pump(for: s.registerTimeoutS, { _, _ in }, done: { ingress.registry.registeredCount == s.nodes })
        let registered = ingress.registry.registeredCount
        guard registered == s.nodes else {
            throw StressError("only \(registered) of \(s.nodes) nodes registered within \(s.registerTimeoutS) s")
        }
        ingress.log.notice("stress: \(s.nodes) nodes registered")
    }

    /// The channels in the receiver's form and the design; H itself is not kept.
    private func makeDesign() throws -> PreparedChannels {
        let s = settings
        var g = SeededGenerator(seed: s.seed, stream: [RandomStream.channelTaps.rawValue])
        var h = ChannelTensor(
            subcarriers: s.subcarriers, devices: s.nodes, receiveAntennas: s.rxAntennas, transmitAntennas: s.txAntennas)
        for i in h.elements.indices {
            h.elements[i] = Complex(Float(g.normal() * 0.5.squareRoot()), Float(g.normal() * 0.5.squareRoot()))
        }
        let power = [Double](repeating: 1, count: s.nodes)
        let beamformers = try ReceiveBeamformer.eigen(channels: h, streams: s.streams, powerW: power)
        return try PreparedChannels(
            h, design: try AirCompDesign(channels: h, beamformers: beamformers, powerW: power), space: s.receiver)
    }

    /// One round: the synthetic round out, every report in, transmit orders out, every frame in
    /// (summed as it arrives), the round finished. Its latency goes to the histogram.
    private func playRound(_ round: Int, channels: PreparedChannels) throws {
        let s = settings
        let r32 = UInt32(round)
        let began = clock.nanoseconds
        var asked = Set(nodes.indices.filter { nodes[$0].active })
        guard !asked.isEmpty else {
            throw StressError("every node was left out (no frame could be handed to any): the run cannot go on")
        }
        for k in asked.sorted()
        where !ingress.send(SyntheticRound(reals: s.reals).frame(round: r32, node: UInt32(k)), to: k) {
            asked.remove(k)
        }
        var reported = Set<Int>()
        try ingress.pump(
            for: s.roundTimeoutS,
            { k, f in
                guard case .updateReady = f.message, f.round == r32, asked.contains(k) else { return }
                reported.insert(k)
            }, done: { reported.count == asked.count })
        var credits = s.windowFrames.map { FrameCredits(pool: $0, nodes: reported.sorted()) }
        // The nodes whose round end is awaited: a node left out mid-round leaves, and its credit goes to the others.
        var transmitting = reported
        var unreached: [Int] = []
        for k in reported.sorted() {
            let order = Transmit(
                mode: .aircomp, scale: 1, subcarriers: s.subcarriers, streams: s.streams, antennas: s.txAntennas,
                precoders: channels.design.precoders[k].interleaved, sampleFormat: s.format,
                window: credits?.window(of: k))
            if !ingress.send(order.frame(round: r32, node: UInt32(k)), to: k) { unreached.append(k) }
        }
        /// Sends grants; a node one cannot reach leaves the round, and its credit is granted on.
        func deliver(_ grants: [(node: Int, frames: Int)]) {
            var due = grants[...]
            while let (k, frames) = due.popFirst() {
                guard transmitting.contains(k),
                    !ingress.send(Grant(frames: frames).frame(round: r32, node: UInt32(k)), to: k)
                else { continue }
                transmitting.remove(k)
                due += credits?.ended(k) ?? []
            }
        }
        // Grants only after every transmit order is out, so none reaches a node before its order.
        for k in unreached {
            transmitting.remove(k)
            deliver(credits?.ended(k) ?? [])
        }
        let receiver = try StreamingReceiver(
            air: .overTheAirPrepared(channels: channels, noisePowerW: s.noisePowerW, noiseDomain: .receiveAntennas),
            symbols: s.roundSymbols, reals: s.reals, scale: 1, seed: s.seed, round: round, threads: s.threads,
            queueDepth: s.queueDepth,
            holdFrames: s.windowFrames.map { $0 / 2 } ?? StreamingReceiver.defaultHoldFrames, measuring: false,
            summing: s.summing)
        // Frames whose credit went back: handed to the workers, or taken in and not held.
        var settled = 0
        var notHeld = 0
        /// The credit of the frames done with goes on; when none is on its way any more, the
        /// frames held for batching go to the workers, so the senders waiting for it are not stuck.
        func settle() {
            guard credits != nil else { return }
            if credits!.inFlight == 0, receiver.heldFrames > 0 { receiver.flush() }
            let done = receiver.framesHandedOver + notHeld
            deliver(credits!.released(done - settled))
            settled = done
        }
        var ended = Set<Int>()
        try ingress.pump(
            for: s.roundTimeoutS,
            { k, f in
                guard f.round == r32, transmitting.contains(k) else { throw StaleFrame(round: f.round, current: r32) }
                switch f.message {
                case .symbols:
                    guard credits?.arrived(from: k) ?? true else {
                        throw FrameError(offset: 0, problem: "beyond the node's window", reason: .beyondTheWindow)
                    }
                    defer { settle() }
                    do { try receiver.add(symbols: f.frame, device: k) } catch {
                        notHeld += 1
                        throw error
                    }
                    tally.samplesIn += Int(f.frame.symbolCount) * s.subcarriers * s.txAntennas
                case .roundEnd:
                    ended.insert(k)
                    transmitting.remove(k)
                    deliver(credits?.ended(k) ?? [])
                    settle()
                default:
                    throw FrameError(offset: 6, problem: "a \(f.type) frame mid-transmission", reason: .unexpectedType)
                }
            }, done: { transmitting.isEmpty })
        // At most one round's end at a time: the previous one is collected before this one starts.
        collectFinishedRound()
        let ending = RoundEnding(began: began, complete: ended.count == nodes.count, clock: clock)
        if s.overlapRoundEnd {
            finisher.async(group: ending.group) { ending.finish(receiver) }
        } else {
            ending.finish(receiver)
        }
        finishing = ending
    }

    /// Waits for the round whose end is running, and counts it: its latency runs from its
    /// synthetic round out to its reconstruction done.
    private func collectFinishedRound() {
        guard let ending = finishing else { return }
        ending.group.wait()
        finishing = nil
        let s = settings
        tally.rounds += 1
        tally.symbolsCombined += s.streams * s.subcarriers * s.roundSymbols
        if !ending.complete { tally.incompleteRounds += 1 }
        let took = ending.finished - ending.began
        tally.latency(nanoseconds: took)
        metrics.combined(symbols: s.streams * s.subcarriers * s.roundSymbols)
        metrics.roundFinished(status: ending.complete ? .ok : .incomplete, seconds: Double(took) / 1e9)
    }
}

/// A round whose frames are all in, and its end (`StreamingReceiver.finish`), which may run on
/// another thread; `finished` is read after `group` is waited for.
private final class RoundEnding: @unchecked Sendable {
    let began: UInt64, complete: Bool
    let clock: MonotonicClock
    let group = DispatchGroup()
    private(set) var finished: UInt64 = 0

    init(began: UInt64, complete: Bool, clock: MonotonicClock) {
        self.began = began
        self.complete = complete
        self.clock = clock
    }

    func finish(_ receiver: StreamingReceiver) {
        _ = receiver.finish()
        finished = clock.nanoseconds
    }
}

/// A stress run that could not go on.
struct StressError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
