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
    let model: LlamaModel
    /// Scores the model on the held-out tokens (and keeps the memo).
    let evaluator: HeldOutEvaluator
    /// Held-out tokens outside the evaluation sample, for the bound's constants (rank planning only;
    /// empty otherwise, or when the evaluation takes every held-out document).
    let calibrationTokens: [Int]
    let shardSizes: [Int]
    /// The scenario's nodes' hardware profiles, by device index.
    let profiles: [HardwareProfile]
    /// The nodes' end of the base station: decode, authenticate, register, send (`serve` and
    /// `stress` run the same one). Made once the transport is bound.
    let ingress: NodeIngress
    var transport: ServerTransport { ingress.transport }
    /// Who registered, who takes part, who was told it is no node of this scenario.
    var registry: NodeRegistry {
        get { ingress.registry }
        _modify { yield &ingress.registry }
    }
    var nodes: [NodeRegistry.Node] { ingress.nodes }
    var global: LoRAAdapter
    var recorder: RunRecorder
    /// Plays each round (start, plan, collect, aggregate) over the ingress; holds the channel
    /// model and the warm start.
    let rounds: RoundEngine
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
    /// Who this run is, its checkpoints, and the one it resumes from (`resume`), if there was one.
    let resumption: RunResumption
    var resumed: RunCheckpoint? { resumption.resumed }
    /// summary.json's `rank_planning` (nil without planning).
    var rankPlanning: RankPlanningRecord?
    /// Nodes told the run is over whose farewell has not come yet (`awaitFarewells`).
    var awaitingFarewell: Set<Int> { ingress.awaitingFarewell }

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
        guard settings.quorum <= scenario.nodes.count else {
            throw ConfigurationError(
                key: "federation.quorum",
                problem: "\(settings.quorum) updates a round can never have with \(scenario.nodes.count) nodes")
        }
        profiles = try scenario.nodeProfiles(relativeTo: scenarioDirectory)
        var channel = scenario.channel
        channel.devices = profiles.count
        channel.transmitAntennas = profiles.map(\.antennas).min()!
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
        // A planned run's pilot allocates its adapters at r_max (at most `plan.r_max`).
        let largestRank: (rank: Int, key: String)
        switch settings.rankChoice {
        case .fixed(let r): largestRank = (r, "federation.rank")
        case .planned: largestRank = (scenario.plan.rankCeiling, "plan.r_max")
        }
        try MemoryPlan(
            channel: channel, streams: scenario.aircomp.streams, settings: settings, config: config,
            modelBytes: modelBytes, receiver: scenario.aircomp.receiver, largestRank: largestRank
        ).check()
        let channelModel = try ChannelModel(configuration: channel, seed: scenario.seed)

        model = try LlamaModel(gguf: file, kernel: settings.kernel)
        let tokenizer = try BPETokenizer(gguf: file)
        let data = try FederatedData(
            spec: settings.data, partition: settings.partition, devices: profiles.count,
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
        resumption = try RunResumption(
            start: start, results: results,
            identity: identity
                ?? RunIdentity(
                    scenario: "", seed: scenario.seed, aggregation: settings.aggregation.name, overrides: []),
            config: model.config, targets: global.targets, rounds: settings.rounds, log: log)
        let transport = try bind()
        recorder = try RunRecorder(directory: results)
        setUpSeconds = clock.seconds(since: initStart)
        ingress = NodeIngress(
            transport: transport, registry: NodeRegistry(names: scenario.nodes.map(\.name)), metrics: metrics,
            clock: clock, log: log,
            welcome: { [settings, scenario, profiles] index in
                let s = settings
                return Welcome(
                    index: index, devices: profiles.count, seed: scenario.seed, data: s.data,
                    partition: s.partition.rawValue, dirichletAlpha: s.dirichletAlpha, heldOutFraction: s.heldOut,
                    context: s.ctx, batch: s.batch, optimizer: s.optimizer.rawValue, learningRate: s.learningRate,
                    clipNorm: s.clip, weightDecay: s.weightDecay, realtimeScale: s.realtimeScale,
                    heldOutSeed: UInt64(s.heldOutSeed), kernel: s.kernel.rawValue)
            })
        rounds = RoundEngine(
            scenario: scenario, profiles: profiles, shardSizes: shardSizes, channelModel: channelModel,
            ingress: ingress)
    }

    /// A line of the run's progress on the log.
    func progress(_ line: String) { log.info("\(line)") }

    // MARK: Nodes (`NodeIngress`)

    /// Sends `frame` to `node`; false (and the node left out) when it cannot be handed over.
    @discardableResult
    func send(_ frame: Frame, to node: Int) -> Bool { ingress.send(frame, to: node) }

    /// Receives until `done` says so or `seconds` pass (`NodeIngress.pump`).
    func pump(for seconds: Double, _ handle: (Int, Inbound) throws -> Void, done: () -> Bool) throws {
        try ingress.pump(for: seconds, handle, done: done)
    }

    /// Asks scenario nodes this base station has no registration of to say hello, without waiting.
    func askToRegister(_ indices: [Int], _ reason: String) { ingress.askToRegister(indices, reason) }

    // MARK: Rounds (`RoundEngine`)

    /// Round `round` played on the global adapter; an accepted aggregate is committed, and for a
    /// training round the held-out set evaluated when the run's `eval_every` says so. An adapter
    /// whose held-out loss is not finite is never kept: the round is undone.
    func runRound(_ round: Int, purpose: RoundPurpose = .training) throws -> PlayedRound {
        var played = try rounds.play(round, adapter: global, purpose: purpose)
        let before = global
        if case .committed(let updated) = played.outcome { try global.assign(flattened: updated) }
        // A pilot round leaves the global adapter as it was (the base model, evaluated as round 0).
        if purpose == .training, settings.evaluatesHeldOut(after: round) {
            played.global.heldOut = try evaluator.score(global)
            if !played.global.heldOutLoss.isFinite, case .committed = played.outcome {
                progress("  round \(round): the held-out loss of the new adapter is not finite; the round is undone")
                global = before
                played.global.status = .rejected
                played.global.heldOut = try evaluator.score(global)
            }
        }
        return played
    }
}
