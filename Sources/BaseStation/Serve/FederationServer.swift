import Dispatch
import Foundation
import HardwareProfiles
import LanguageModel
import LinearAlgebra
import Radio
import Wire

/// The base station of a federated LoRA run: node registry, and per round the channels, the
/// beamforming design, precoders out, the global adapter out, symbol frames in, the emulated
/// air, aggregation (`aircomp`, `ideal` or `digital`), held-out evaluation, an atomic checkpoint
/// and metrics. A node that misses a deadline is left out of the round (the sum is rescaled over
/// the nodes that delivered) and must register again to rejoin.
final class FederationServer {
    struct Node {
        let name: String
        let profile: HardwareProfile
        var hello: Hello?
        var active = false
    }

    let scenario: Scenario
    let settings: FederationSettings
    let socket: ZeroMQSocket
    private let context: ZeroMQContext
    let endpoint: String
    let model: LlamaModel
    let heldOutTokens: [Int]
    let shardSizes: [Int]
    var nodes: [Node]
    var global: LoRAAdapter
    var recorder: RunRecorder
    var channelModel: ChannelModel
    var previousBeamformers: [ComplexMatrix<Double>]?
    var previousParticipants: [Int] = []
    /// Frames dropped (malformed, or failing a round's checks), each logged with its reason.
    var droppedFrames = 0
    let progress: (String) -> Void

    init(scenario: Scenario, scenarioDirectory: String, results: String, progress: @escaping (String) -> Void) throws {
        self.scenario = scenario
        let settings = scenario.federation
        self.settings = settings
        self.progress = progress
        guard !scenario.nodes.isEmpty else { throw CommandError("the scenario lists no [[nodes]]") }
        nodes = try scenario.nodes.map { Node(name: $0.name, profile: try HardwareProfile.load(resolvePath($0.profile, relativeTo: scenarioDirectory))) }
        var channel = scenario.channel
        channel.devices = nodes.count
        channel.transmitAntennas = nodes.map(\.profile.antennas).min()!
        guard scenario.aircomp.streams <= channel.transmitAntennas else {
            throw CommandError("aircomp.streams = \(scenario.aircomp.streams) exceeds the fewest transmit antennas among the nodes' profiles (\(channel.transmitAntennas))")
        }
        try channel.validate()
        channelModel = try ChannelModel(configuration: channel, seed: scenario.seed)

        let file = try GGUFFile(path: settings.model)
        model = try LlamaModel(gguf: file)
        let tokenizer = try BPETokenizer(gguf: file)
        let data = try FederatedData(spec: settings.data, partition: settings.partition, devices: nodes.count, dirichletAlpha: settings.dirichletAlpha,
                                     heldOutFraction: settings.heldOut, seed: scenario.seed)
        var tokens = tokenizer.encode(data.heldOutText)
        if settings.evalTokens > 0 { tokens = Array(tokens.prefix(settings.evalTokens)) }
        heldOutTokens = tokens
        shardSizes = data.shards.map { WindowPacker.pack($0, tokenizer: tokenizer, length: settings.ctx).count }
        global = LoRAAdapter(config: model.config, rank: settings.rank, alpha: Float(settings.loraAlpha ?? Double(2 * settings.rank)),
                             targets: settings.targets, seed: scenario.seed)
        recorder = try RunRecorder(directory: results)
        context = try ZeroMQContext()
        socket = try ZeroMQSocket(context, .router)
        try socket.setReceiveTimeout(ms: 200)
        try socket.setSendTimeout(ms: 30_000)
        endpoint = try socket.bind(settings.endpoint)
    }

    // MARK: Transport

    func send(_ frame: Frame, to node: Int) {
        do { try socket.send([Data(nodes[node].name.utf8), frame.encoded()]) } catch {
            progress("  could not send \(frame.type) to \(nodes[node].name): \(error); leaving it out")
            nodes[node].active = false
        }
    }

    /// Receives until `done` says so or the deadline passes; registrations are handled on the way,
    /// malformed frames reported and dropped.
    func pump(for seconds: Double, _ handle: (Int, Frame) throws -> Void, done: () -> Bool) throws {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while !done(), DispatchTime.now().uptimeNanoseconds < deadline {
            guard let parts = try socket.receive(), parts.count >= 2 else { continue }
            let name = String(decoding: parts[0], as: UTF8.self)
            let frame: Frame
            do { frame = try Frame(decoding: parts[parts.count - 1]) } catch {
                droppedFrames += 1
                progress("  dropped a frame from \(name): \(error)")
                continue
            }
            guard let index = nodes.firstIndex(where: { $0.name == name }) else {
                // Tell an unknown peer why it is ignored; if it is already gone, so be it.
                do { try socket.send([parts[0], Shutdown(reason: "'\(name)' is not a node of this scenario").frame(round: 0, node: 0).encoded()]) } catch {
                    progress("  could not answer unknown peer \(name): \(error)")
                }
                continue
            }
            if frame.type == .hello {
                do { try register(index, Hello(frame: frame)) } catch { progress("  bad hello from \(name): \(error)") }
                continue
            }
            do { try handle(index, frame) } catch {
                droppedFrames += 1
                progress("  dropped a \(frame.type) frame from \(name): \(error)")
            }
        }
    }

    private func register(_ index: Int, _ hello: Hello) throws {
        nodes[index].hello = hello
        nodes[index].active = true
        let s = settings
        send(Welcome(index: index, devices: nodes.count, seed: scenario.seed, data: s.data, partition: s.partition.rawValue, dirichletAlpha: s.dirichletAlpha,
                     heldOutFraction: s.heldOut, context: s.ctx, batch: s.batch, optimizer: s.optimizer.rawValue, learningRate: s.learningRate,
                     clipNorm: s.clip, weightDecay: s.weightDecay).frame(round: 0, node: UInt32(index)), to: index)
        progress("  registered \(nodes[index].name) (\(hello.profile)) as device \(index)")
    }

    // MARK: Run

    /// A number for JSON (which has no NaN or ∞): the value, or null.
    func json(_ v: Double) -> Any { v.isFinite ? v : NSNull() }

    /// The mean of a column over the rounds where it is finite (null when none is).
    func meanOverRounds(_ rows: [MetricsRow], _ column: KeyPath<MetricsRow, Double>) -> Any {
        let values = rows.map { $0[keyPath: column] }.filter(\.isFinite)
        return values.isEmpty ? NSNull() : values.reduce(0, +) / Double(values.count)
    }

    /// Σ measured thermal MSE / Σ σ²L/η over the rounds that have both: 1 when the served air
    /// matches the closed form.
    func thermalOverPredicted(_ rows: [MetricsRow]) -> Any {
        let both = rows.filter { $0.mseThermal.isFinite && $0.msePredicted.isFinite && $0.msePredicted > 0 }
        guard !both.isEmpty else { return NSNull() }
        return both.reduce(0) { $0 + $1.mseThermal } / both.reduce(0) { $0 + $1.msePredicted }
    }

    func evaluate() throws -> (loss: Double, perplexity: Double) {
        let p = try LlamaForward(model: model, adapter: global).perplexity(tokens: heldOutTokens, context: settings.ctx).perplexity
        return (log(p), p)
    }

    func run() throws -> [String: Any] {
        let started = DispatchTime.now().uptimeNanoseconds
        progress("base station on \(endpoint): \(nodes.count) nodes, \(settings.rounds) rounds, \(settings.aggregation), rank \(settings.rankPlanning ? "planned" : "\(settings.rank)")")
        try pump(for: settings.registerTimeoutS, { _, _ in }, done: { nodes.allSatisfy(\.active) })
        guard nodes.contains(where: \.active) else { throw CommandError("no node registered within \(settings.registerTimeoutS) s") }
        for n in nodes where !n.active { progress("  \(n.name) did not register; running without it") }
        if settings.rankPlanning {
            var probe = channelModel
            let h = probe.frequencyResponse().estimated(nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: 1)
            let planned = try planRank(channels: h)
            global = LoRAAdapter(config: model.config, rank: planned.rank, alpha: Float(settings.loraAlpha ?? Double(2 * planned.rank)),
                                 targets: global.targets, seed: scenario.seed)
            progress(String(format: "rank planning: rank %d (bound by %@), optimality gap %.4g", planned.rank, planned.binding, planned.gap))
        }
        let initial = try evaluate()
        progress(String(format: "round 0: held-out loss %.4f, perplexity %.3f", initial.loss, initial.perplexity))
        try recorder.append([MetricsRow(round: 0, node: "global", profile: "", status: .initial, heldOutLoss: initial.loss,
                                        heldOutPerplexity: initial.perplexity, rank: global.rank)])
        var last = initial, airtime = 0.0, energy = 0.0, trainLoss = Double.nan, globals = [MetricsRow]()
        for round in 1...settings.rounds {
            let r = try runRound(round)
            last = (r.global.heldOutLoss, r.global.heldOutPerplexity)
            globals.append(r.global)
            airtime += r.global.airtimeS
            energy += r.nodes.reduce(0) { $0 + $1.energyJ }
            let losses = r.nodes.map(\.trainLoss).filter(\.isFinite)
            if !losses.isEmpty { trainLoss = losses.reduce(0, +) / Double(losses.count) }
            try recorder.append(r.nodes + [r.global])
            try recorder.checkpoint(global, round: round, state: ["heldout_loss": json(last.loss), "heldout_perplexity": json(last.perplexity)])
            progress(String(format: "round %d: train loss %.4f, held-out loss %.4f, perplexity %.3f, MSE %@, %d/%d nodes, airtime %.3g s",
                            round, trainLoss, last.loss, last.perplexity, r.global.mse.isFinite ? String(format: "%.3g", r.global.mse) : "-",
                            r.nodes.filter { $0.status == .ok }.count, nodes.count, r.global.airtimeS))
        }
        // Every node that ever registered is told, so dropped nodes do not wait for a base station that is gone.
        try? socket.setLinger(ms: 2000)
        for i in nodes.indices where nodes[i].hello != nil { send(Shutdown(reason: "run complete").frame(round: UInt32(settings.rounds), node: UInt32(i)), to: i) }
        let summary: [String: Any] = [
            "rounds": settings.rounds, "rank": global.rank, "rank_planned": settings.rankPlanning, "aggregation": settings.aggregation.name, "seed": scenario.seed,
            "final_loss": json(trainLoss), "final_heldout_loss": json(last.loss),
            "initial_perplexity": json(initial.perplexity), "final_perplexity": json(last.perplexity),
            "mse_mean": meanOverRounds(globals, \.mse), "mse_thermal_mean": meanOverRounds(globals, \.mseThermal),
            "mse_csi_mean": meanOverRounds(globals, \.mseCSI), "mse_quantization_mean": meanOverRounds(globals, \.mseQuantization),
            "mse_predicted_mean": meanOverRounds(globals, \.msePredicted),
            "mse_thermal_over_predicted": thermalOverPredicted(globals),
            "airtime_total_s": airtime, "energy_total_j": energy, "frames_dropped": droppedFrames,
            "nodes": nodes.map { ["name": $0.name, "profile": $0.profile.name, "active_at_end": $0.active] as [String: Any] },
            "wall_time_s": Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
        ]
        try recorder.finish(global, config: model.config, summary: summary)
        return summary
    }
}
