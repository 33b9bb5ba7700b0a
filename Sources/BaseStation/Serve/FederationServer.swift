import CommandLineSupport
import Configuration
import Dispatch
import Foundation
import HardwareProfiles
import LanguageModel
import LinearAlgebra
import Logging
import Radio
import Wire

/// The base station of a federated LoRA run: node registry, and per round the channels, the
/// beamforming design, precoders out, the global adapter out, symbol frames in, the emulated
/// air, aggregation (`aircomp`, `ideal` or `digital`), held-out evaluation, an atomic checkpoint
/// and metrics. A node that misses a deadline is left out of the round (the sum is rescaled over
/// the nodes that delivered) and must register again to rejoin.
///
/// It talks through a `ServerTransport`: ZeroMQ in `serve`, an `InMemoryNetwork` in unit tests.
final class FederationServer {
    let scenario: Scenario
    let settings: FederationSettings
    let transport: ServerTransport
    let model: LlamaModel
    /// Scores the model on the held-out tokens (and keeps the memo).
    let evaluator: HeldOutEvaluator
    /// Held-out tokens outside the evaluation sample, for the bound's constants (rank planning only;
    /// empty otherwise, or when the evaluation takes every held-out document).
    let calibrationTokens: [Int]
    let shardSizes: [Int]
    /// Who registered, who takes part, who was told it is no node of this scenario.
    var registry: NodeRegistry
    var nodes: [NodeRegistry.Node] { registry.nodes }
    var global: LoRAAdapter
    var recorder: RunRecorder
    var channelModel: ChannelModel
    var previousBeamformers: [ComplexMatrix<Double>]?
    var previousParticipants: [Int] = []
    /// Frames dropped (malformed, from unknown peers, or failing a round's checks): the sum of the
    /// live metrics' counts by reason.
    var droppedFrames: Int { metrics.snapshot.dropped.values.reduce(0, +) }
    /// Seconds spent loading the model, the data and the channel model.
    let setUpSeconds: Double
    let log: Logger
    /// Where deadlines, timeouts and the run's timings are read.
    let clock: MonotonicClock
    /// Who the run is in summary.json (the scenario's name and fingerprint); nil for a run not
    /// started from a scenario file.
    var scenarioLabel: ScenarioLabel?
    /// The live figures (`/metrics`, the JSONL log); the receiving loop updates them.
    let metrics = LiveMetrics()
    /// Worker threads of each round's streaming receiver (the result does not depend on it).
    var receiverThreads = ProcessInfo.processInfo.activeProcessorCount
    /// Who this run is, for its checkpoints (a resumed run's checkpoint must be its own).
    let identity: RunIdentity
    /// The checkpoint this run resumes from (`resume`), if there was one.
    var resumed: RunCheckpoint?
    /// summary.json's `rank_planning` (nil without planning).
    var rankPlanning: RankPlanningRecord?
    /// A test seam: the base station dies (throws `SimulatedCrash`) where this says so: at a
    /// round's `.reported`, `.collected` or `.checkpointed` point.
    var crashPoint: ((_ round: Int, _ point: CrashPoint) -> Bool)?
    /// A test seam: replaces each round's drawn channels (e.g. a deep fade on demand).
    var channelOverride: ((_ round: Int, _ drawn: ChannelTensor) -> ChannelTensor)?
    /// Set once the last round is done: hellos are answered with the shutdown, not a welcome.
    var runOver = false
    /// Nodes told the run is over whose farewell has not come yet (`awaitFarewells`).
    var awaitingFarewell = Set<Int>()

    convenience init(
        scenario: Scenario, scenarioDirectory: String, results: String, transport: ServerTransport,
        start: RunStart = .fresh, clock: MonotonicClock = SystemClock.shared, log: Logger
    ) throws {
        try self.init(
            scenario: scenario, scenarioDirectory: scenarioDirectory, results: results, start: start, identity: nil,
            clock: clock, bind: { transport }, log: log)
    }

    /// `bind` makes the transport once the scenario, profiles, model and data have loaded, so a
    /// broken configuration is reported as such whatever holds the endpoint. `start` says what
    /// happens to a run already in `results` (`RunStart`); a resumed run's checkpoint must be
    /// `identity`'s (default: the scenario's seed and aggregation, no file). Every deadline, timeout
    /// and timing is read from `clock` (a test's moves only when its network's empty receives move it).
    init(
        scenario: Scenario, scenarioDirectory: String, results: String, start: RunStart, identity: RunIdentity?,
        clock: MonotonicClock = SystemClock.shared, bind: () throws -> ServerTransport, log: Logger
    ) throws {
        self.clock = clock
        let initStart = clock.nanoseconds
        // Before anything is loaded or bound: a rerun into an earlier run's directory is refused at once.
        if start == .fresh { try RunRecorder.refuseExistingRun(in: results) }
        self.scenario = scenario
        let settings = scenario.federation
        self.settings = settings
        self.log = log
        guard !scenario.nodes.isEmpty else { throw CommandError("the scenario lists no [[nodes]]") }
        registry = NodeRegistry(
            zip(scenario.nodes, try scenario.nodeProfiles(relativeTo: scenarioDirectory)).map { ($0.name, $1) })
        var channel = scenario.channel
        channel.devices = registry.nodes.count
        channel.transmitAntennas = registry.nodes.map(\.profile.antennas).min()!
        guard scenario.aircomp.streams <= channel.transmitAntennas else {
            throw CommandError(
                "aircomp.streams = \(scenario.aircomp.streams) exceeds the fewest transmit antennas among the nodes' "
                    + "profiles (\(channel.transmitAntennas))"
            )
        }
        try channel.validate()
        let file = try GGUFFile(path: settings.model)
        let config = try LlamaConfig(gguf: file)
        if let limit = file.metadata["llama.context_length"]?.int, settings.ctx > limit {
            throw ConfigurationError(
                key: "federation.ctx",
                problem: "\(settings.ctx) tokens exceed the model's context length \(limit) (\(settings.model))")
        }
        // Everything large this run will hold, against this machine's memory, before any of it is made.
        let modelBytes = (try? FileManager.default.attributesOfItem(atPath: settings.model)[.size] as? Int) ?? 0
        try MemoryPlan(
            channel: channel, streams: scenario.aircomp.streams, settings: settings, config: config,
            modelBytes: modelBytes,
            receiver: scenario.aircomp.receiver
        ).check()
        channelModel = try ChannelModel(configuration: channel, seed: scenario.seed)

        model = try LlamaModel(gguf: file, kernel: settings.kernel)
        let tokenizer = try BPETokenizer(gguf: file)
        let data = try FederatedData(
            spec: settings.data, partition: settings.partition, devices: registry.nodes.count,
            dirichletAlpha: settings.dirichletAlpha,
            heldOutFraction: settings.heldOut, seed: scenario.seed,
            heldOutSeed: UInt64(settings.heldOutSeed))
        let sample = data.heldOutSample(tokens: settings.evalTokens) { tokenizer.encode($0).count }
        var tokens = tokenizer.encode(FederatedData.stream(sample))
        if settings.evalTokens > 0 { tokens = Array(tokens.prefix(settings.evalTokens)) }
        evaluator = HeldOutEvaluator(
            model: model, tokens: tokens, context: settings.ctx, modelPath: settings.model, clock: clock, log: log)
        let calibration: [Document]
        switch settings.rankChoice {
        case .fixed: calibration = []
        case .planned:
            calibration = data.calibrationSample(excluding: sample, tokens: scenario.plan.calibrationTokens) {
                tokenizer.encode($0).count
            }
        }
        calibrationTokens =
            calibration.isEmpty
            ? [] : Array(tokenizer.encode(FederatedData.stream(calibration)).prefix(scenario.plan.calibrationTokens))
        shardSizes = data.shards.map { WindowPacker.pack($0, tokenizer: tokenizer, length: settings.ctx).count }
        global = LoRAAdapter(
            config: model.config, rank: settings.rank, alpha: settings.adapterAlpha(rank: settings.rank),
            targets: settings.targets, seed: scenario.seed)
        self.identity =
            identity
            ?? RunIdentity(scenario: "", seed: scenario.seed, aggregation: settings.aggregation.name, overrides: [])
        let checkpointPath = RunRecorder.checkpointPath(in: results)
        if start == .resume && FileManager.default.fileExists(atPath: checkpointPath) {
            resumed = try RunCheckpoint.load(
                path: checkpointPath, config: model.config, targets: global.targets, expected: self.identity)
            guard resumed!.round <= settings.rounds else {
                throw CommandError(
                    "\(checkpointPath) is at round \(resumed!.round), beyond this run's \(settings.rounds) rounds "
                        + "(give --rounds)"
                )
            }
        } else if start == .resume {
            log.warning("no checkpoint in \(results): nothing was committed, so the run starts from the beginning")
        }
        transport = try bind()
        recorder = try RunRecorder(directory: results)
        setUpSeconds = clock.seconds(since: initStart)
    }

    /// A line of the run's progress on the log.
    func progress(_ line: String) { log.info("\(line)") }

    // MARK: Transport

    /// Sends `frame` to `node`; false (and the node left out) when it cannot be handed over.
    @discardableResult
    func send(_ frame: Frame, to node: Int) -> Bool {
        do { try transport.send(frame.encoded(), to: nodes[node].name) } catch {
            progress("  could not send \(frame.type) to \(nodes[node].name): \(error); leaving it out")
            registry.leaveOut(node)
            return false
        }
        return true
    }

    /// Receives until `done` says so or the deadline passes; registrations are handled on the way,
    /// malformed frames reported and dropped.
    func pump(for seconds: Double, _ handle: (Int, Frame) throws -> Void, done: () -> Bool) throws {
        let deadline = clock.deadline(in: seconds)
        while !done(), clock.nanoseconds < deadline {
            guard let (name, data) = try transport.receive() else { continue }
            metrics.received(bytes: data.count)
            let frame: Frame
            do { frame = try Frame(decoding: data) } catch {
                metrics.dropped((error as? FrameError)?.reason ?? .malformed)
                progress("  dropped a frame from \(name): \(error)")
                continue
            }
            guard let index = registry.index(of: name) else {
                metrics.dropped(.unknownPeer)
                answerStranger(name)
                continue
            }
            if frame.type == .hello {
                do { try register(index, Hello(frame: frame)) } catch {
                    metrics.dropped(.badHello)
                    progress("  bad hello from \(name): \(error)")
                }
                continue
            }
            // Who a frame is from is the transport's to say (the key, or the connection), never the
            // frame's: one over another connection than the node registered on, or whose header names
            // another device, is no frame of this node.
            guard transport.lastReceivedOnAdoptedConnection else {
                metrics.dropped(.notTheRegisteredConnection)
                progress("  dropped a \(frame.type) frame for \(name) from a connection it did not register on")
                continue
            }
            guard frame.node == UInt32(index) else {
                metrics.dropped(.wrongNodeField)
                progress(
                    "  dropped a \(frame.type) frame from \(name) (device \(index)) whose header names device "
                        + "\(frame.node)"
                )
                continue
            }
            do { try handle(index, frame) } catch {
                metrics.dropped(DropReason(handling: error))
                // Late frames of a round already over come in runs (a dropped node's transmission): counted, not logged
                // one by one.
                if !(error is StaleFrame) { progress("  dropped a \(frame.type) frame from \(name): \(error)") }
            }
        }
    }

    /// Tells an unknown peer once why it is ignored (a flood of hellos gets one answer, and at
    /// most `NodeRegistry.strangersAnswered` names are ever answered), without waiting: if its queue is full or
    /// it is gone, so be it.
    private func answerStranger(_ name: String) {
        guard registry.firstWord(toStranger: name) else { return }
        progress("  ignoring unknown peer '\(name)' (not a node of this scenario)")
        try? transport.send(
            Shutdown(.refused, reason: "'\(name)' is not a node of this scenario").frame(round: 0, node: 0).encoded(),
            to: name)
    }

    /// Asks scenario nodes this base station has no registration of to say hello, without
    /// waiting: one that is not connected (not started, or gone) is simply not reached.
    func askToRegister(_ indices: [Int], _ reason: String) {
        for i in indices {
            try? transport.send(
                RegisterAgain(reason: reason).frame(round: 0, node: UInt32(i)).encoded(), to: nodes[i].name)
        }
    }

    private func register(_ index: Int, _ hello: Hello) throws {
        // The name a hello claims must be the one its key (or connection) is: a node started with
        // another node's key, or a hello naming someone else, is refused and changes nothing.
        try registry.check(hello, from: index, secure: transport.secure)
        transport.adoptLastConnection()
        guard !runOver else { return answerHelloAfterRun(index) }
        registry.admit(index, hello: hello)
        metrics.registered(nodes: registry.activeCount)
        let s = settings
        send(
            Welcome(
                index: index, devices: nodes.count, seed: scenario.seed, data: s.data, partition: s.partition.rawValue,
                dirichletAlpha: s.dirichletAlpha,
                heldOutFraction: s.heldOut, context: s.ctx, batch: s.batch, optimizer: s.optimizer.rawValue,
                learningRate: s.learningRate,
                clipNorm: s.clip, weightDecay: s.weightDecay, realtimeScale: s.realtimeScale,
                heldOutSeed: UInt64(s.heldOutSeed), kernel: s.kernel.rawValue
            ).frame(round: 0, node: UInt32(index)), to: index)
        progress("  registered \(nodes[index].name) (\(hello.profile)) as device \(index)")
    }
}

/// Where `FederationServer.crashPoint` may stop a run.
enum CrashPoint { case reported, collected, checkpointed }

/// A base station stopped by `crashPoint` (a test's kill, without the process).
struct SimulatedCrash: Error {}
