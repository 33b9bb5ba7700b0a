import CommandLineSupport
import Dispatch
import Foundation
import LanguageModel
import Radio
import Wire

extension FederationServer {
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
        let start = DispatchTime.now().uptimeNanoseconds
        defer { evaluationSeconds += Self.seconds(since: start) }
        let p = try LlamaForward(model: model, adapter: global).perplexity(tokens: heldOutTokens, context: settings.ctx).perplexity
        return (Foundation.log(p), p)
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    func run() throws -> [String: Any] {
        let started = DispatchTime.now().uptimeNanoseconds
        progress("base station on \(transport.address): \(nodes.count) nodes, \(settings.rounds) rounds, \(settings.aggregation), rank \(settings.rankPlanning ? "planned" : "\(settings.rank)")")
        try pump(for: settings.registerTimeoutS, { _, _ in }, done: { nodes.allSatisfy(\.active) })
        guard nodes.contains(where: \.active) else { throw CommandError("no node registered within \(settings.registerTimeoutS) s") }
        for n in nodes where !n.active { progress("  \(n.name) did not register; running without it") }
        let registration = Self.seconds(since: started)
        // The base model (every fresh adapter has B = 0) before any training.
        let initial = try evaluate()
        metrics.heldOut(loss: initial.loss)
        let firstEvaluation = evaluationSeconds
        progress(String(format: "round 0: held-out loss %.4f, perplexity %.3f", initial.loss, initial.perplexity))
        try recorder.append([MetricsRow(round: 0, node: "global", profile: "", status: .initial, heldOutLoss: initial.loss,
                                        heldOutPerplexity: initial.perplexity, rank: global.rank)])
        var rankPlanning: Any = NSNull()
        let pilotStarted = DispatchTime.now().uptimeNanoseconds
        if settings.rankPlanning {
            let h = channelModel.frequencyResponse().estimated(nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: 1)
            rankPlanning = try planRankFromPilot(channels: h, initialLoss: initial.loss)
        }
        let pilotSeconds = Self.seconds(since: pilotStarted)
        let pilot = recorder.rows.filter { $0.round == 0 && $0.status != .initial }
        var last = initial, airtime = pilot.filter { $0.node == "global" }.reduce(0.0) { $0 + $1.airtimeS }
        var energy = pilot.filter { $0.node != "global" }.reduce(0.0) { $0 + $1.energyJ }
        var trainLoss = Double.nan, globals = [MetricsRow](), lastDelivered = 0
        for round in 1...settings.rounds {
            let roundStarted = DispatchTime.now().uptimeNanoseconds
            var r = try runRound(round)
            r.global.wallS = Self.seconds(since: roundStarted)
            metrics.roundFinished(status: r.global.status.rawValue, seconds: r.global.wallS)
            metrics.aggregationMSE(r.global.mse)
            metrics.heldOut(loss: r.global.heldOutLoss)
            last = (r.global.heldOutLoss, r.global.heldOutPerplexity)
            globals.append(r.global)
            airtime += r.global.airtimeS
            energy += r.nodes.reduce(0) { $0 + $1.energyJ }
            if r.nodes.contains(where: { $0.status == .ok }) { lastDelivered = round }
            let losses = r.nodes.map(\.trainLoss).filter(\.isFinite)
            if !losses.isEmpty { trainLoss = losses.reduce(0, +) / Double(losses.count) }
            try recorder.append(r.nodes + [r.global])
            try recorder.checkpoint(global, round: round, state: ["heldout_loss": json(last.loss), "heldout_perplexity": json(last.perplexity)])
            let heldOut = settings.evaluatesHeldOut(after: round)
                ? String(format: "held-out loss %.4f, perplexity %.3f", r.global.heldOutLoss, r.global.heldOutPerplexity) : "held-out not evaluated (eval_every)"
            progress(String(format: "round %d: train loss %.4f, %@, MSE %@, %d/%d nodes, airtime %.3g s",
                            round, trainLoss, heldOut, r.global.mse.isFinite ? String(format: "%.3g", r.global.mse) : "-",
                            r.nodes.filter { $0.status == .ok }.count, nodes.count, r.global.airtimeS))
        }
        // Every node that ever registered is told, so dropped nodes do not wait for a base station that is gone.
        for i in nodes.indices where nodes[i].hello != nil { send(Shutdown(reason: "run complete").frame(round: UInt32(settings.rounds), node: UInt32(i)), to: i) }
        let summary: [String: Any] = summaryExtras.merging([
            "rounds": settings.rounds, "rank": global.rank, "rank_planned": settings.rankPlanning, "aggregation": settings.aggregation.name, "seed": scenario.seed,
            "final_loss": json(trainLoss), "final_heldout_loss": json(last.loss),
            "initial_perplexity": json(initial.perplexity), "final_perplexity": json(last.perplexity),
            "mse_mean": meanOverRounds(globals, \.mse), "mse_thermal_mean": meanOverRounds(globals, \.mseThermal),
            "mse_csi_mean": meanOverRounds(globals, \.mseCSI), "mse_quantization_mean": meanOverRounds(globals, \.mseQuantization),
            "mse_predicted_mean": meanOverRounds(globals, \.msePredicted),
            "mse_thermal_over_predicted": thermalOverPredicted(globals),
            "airtime_total_s": airtime, "energy_total_j": energy, "frames_dropped": droppedFrames,
            "frames_dropped_by_reason": metrics.snapshot.dropped,
            "last_round_delivered": lastDelivered,
            "rank_planning": rankPlanning,
            "nodes": nodes.map { ["name": $0.name, "profile": $0.profile.name, "active_at_end": $0.active] as [String: Any] },
            "wall_time_s": Self.seconds(since: started),
            // Where the time went: loading the model and data (before serving), waiting for the
            // nodes to register, the pilot round, held-out evaluation (round 0 and every round), and
            // the rounds' rest (the nodes' training, the air, aggregation).
            "time_s": ["set_up": setUpSeconds, "registration": registration,
                       "pilot": pilotSeconds, "heldout_evaluation": evaluationSeconds,
                       "rounds_without_evaluation": Self.seconds(since: pilotStarted) - pilotSeconds - (evaluationSeconds - firstEvaluation)],
        ]) { _, run in run }
        try recorder.finish(global, config: model.config, summary: summary)
        // Rounds that no node delivered to are no training: a run that ends in them failed, even
        // though every round "ran" (the results stay, for the post-mortem).
        guard lastDelivered == settings.rounds else {
            let since = lastDelivered + 1
            throw CommandError("no node delivered an update in round\(since == settings.rounds ? " \(since)" : "s \(since)–\(settings.rounds)") of \(settings.rounds): the run failed (results in \(recorder.directory))")
        }
        return summary
    }
}
