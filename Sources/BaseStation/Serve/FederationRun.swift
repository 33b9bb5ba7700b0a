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

    /// The held-out loss, its standard error and perplexity of the global adapter (`adapted`) or
    /// of the base model.
    func evaluate(adapted: Bool = true) throws -> HeldOutScore {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { evaluationSeconds += Self.seconds(since: start) }
        // The nodes wait while the base station evaluates: every core takes windows of its own.
        let r = try LlamaForward(model: model, adapter: adapted ? global : nil)
            .perplexity(tokens: heldOutTokens, context: settings.ctx, workers: ProcessInfo.processInfo.activeProcessorCount)
        return HeldOutScore(loss: Foundation.log(r.perplexity), perplexity: r.perplexity, standardError: r.lossStandardError)
    }

    /// Round 0's evaluation: the base model's (a fresh adapter has B = 0, so the adapted model is
    /// the base model at any rank), from the memo when it holds this model, held-out set and
    /// context; else evaluated, and stored there.
    func evaluateBaseModel() throws -> HeldOutScore {
        guard let memo else { return try evaluate(adapted: false) }
        guard let identity = FNV1a.hash(file: settings.model) else { throw CommandError("cannot read \(settings.model)") }
        var key = MemoKey("heldout-base v2")
        key.add("model_fnv1a", identity.hash)
        key.add("model_bytes", Int64(identity.bytes))
        key.add("ctx", Int64(settings.ctx))
        key.add("kernel", model.kernel.rawValue)
        var tokens = PayloadWriter()
        for t in heldOutTokens { tokens.int(t) }
        key.add("tokens", [UInt8](tokens.data))
        switch memo.lookup(kind: "heldout-base", key: key.bytes, maxValueBytes: 16) {
        case .hit(let value) where value.count == 16:
            var r = PayloadReader(Data(value))
            let p = (try? r.f64()) ?? .nan, se = (try? r.f64()) ?? .nan
            if p.isFinite && p >= 1 && !(se < 0) {
                memoHits["heldout_base"] = true
                return HeldOutScore(loss: Foundation.log(p), perplexity: p, standardError: se)
            }
            log.warning("memo: \(memo.path(kind: "heldout-base", key: key.bytes)) holds perplexity \(p); evaluating again")
        case .hit: break
        case .absent: break
        case .unusable(let reason): log.warning("memo: \(reason); evaluating again")
        }
        let result = try evaluate(adapted: false)
        memoHits["heldout_base"] = false
        var value = PayloadWriter()
        value.f64(result.perplexity)
        value.f64(result.standardError)
        do { try memo.store(kind: "heldout-base", key: key.bytes, value: [UInt8](value.data)) } catch { log.warning("memo: not stored: \(error)") }
        return result
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// The run: registrations, then either round 0 (the base model's evaluation, the rank
    /// planner's pilot) or the checkpoint to resume from, then the rounds, each ending in a
    /// checkpoint, then the results. Throws when no node delivered in the last round.
    func run() throws -> [String: Any] {
        let started = DispatchTime.now().uptimeNanoseconds
        progress("base station on \(transport.address): \(nodes.count) nodes, \(settings.rounds) rounds, \(settings.aggregation), rank \(settings.rankPlanning ? "planned" : "\(settings.rank)")")
        try awaitRegistrations()
        guard nodes.contains(where: \.active) else { throw CommandError("no node registered within \(settings.registerTimeoutS) s") }
        for n in nodes where !n.active { progress("  \(n.name) did not register; running without it") }
        let registration = Self.seconds(since: started)
        let pilotStarted = DispatchTime.now().uptimeNanoseconds
        let first: Int
        if let c = resumed {
            try resume(from: c)
            first = c.round + 1
        } else {
            try startFromTheBaseModel()
            first = 1
        }
        let pilotSeconds = Self.seconds(since: pilotStarted)
        let firstEvaluation = evaluationSeconds
        for round in first..<(settings.rounds + 1) {
            let roundStarted = DispatchTime.now().uptimeNanoseconds
            var r = try runRound(round)
            r.global.wallS = Self.seconds(since: roundStarted)
            metrics.roundFinished(status: r.global.status, seconds: r.global.wallS)
            metrics.aggregationMSE(r.global.mse)
            metrics.heldOut(loss: r.global.heldOutLoss)
            try recorder.append(r.nodes + [r.global])
            try checkpoint(round: round)
            if crashPoint?(round, .checkpointed) == true { throw SimulatedCrash() }
            let totals = RunTotals(rows: recorder.rows)
            let heldOut = settings.evaluatesHeldOut(after: round)
                ? String(format: "held-out loss %.4f, perplexity %.3f", r.global.heldOutLoss, r.global.heldOutPerplexity) : "held-out not evaluated (eval_every)"
            progress(String(format: "round %d: train loss %.4f, %@, MSE %@, %d/%d nodes, airtime %.3g s",
                            round, totals.trainLoss, heldOut, r.global.mse.isFinite ? String(format: "%.3g", r.global.mse) : "-",
                            r.nodes.filter { $0.status == .ok }.count, nodes.count, r.global.airtimeS))
        }
        // Every node that ever registered is told, so dropped nodes do not wait for a base station that is gone.
        tellEveryNodeTheRunIsOver()
        let totals = RunTotals(rows: recorder.rows)
        var summary = summaryExtras.merging(summaryFigures(totals)) { _, run in run }
        summary["resumed_from_round"] = resumed.map { $0.round } ?? NSNull()
        summary["wall_time_s"] = Self.seconds(since: started)
        summary["kernel"] = model.kernel.rawValue
        switch settings.scheme {  // where the air was summed; ideal and digital sum no air
        case .aircomp: summary["receiver"] = scenario.aircomp.receiver.rawValue
        case .ideal, .digital: summary["receiver"] = NSNull()
        }
        // Where this sitting's time went: loading the model and data (before serving), waiting for
        // the nodes to register, round 0 (the base model's evaluation and the pilot round; reading the
        // checkpoint when resumed), held-out evaluation after it, and the rounds' rest (the nodes'
        // training, the air, aggregation).
        summary["memo"] = memo == nil ? NSNull() as Any : memoHits as Any
        summary["time_s"] = ["set_up": setUpSeconds, "registration": registration, "pilot": pilotSeconds,
                             "heldout_evaluation": evaluationSeconds,
                             "rounds_without_evaluation": Self.seconds(since: pilotStarted) - pilotSeconds - (evaluationSeconds - firstEvaluation)]
        try recorder.finish(global, config: model.config, summary: summary)
        // The results are whole before the wait: a kill during it loses nothing.
        try awaitFarewells()
        // Rounds that no node delivered to are no training: a run that ends in them failed, even
        // though every round "ran" (the results stay, for the post-mortem).
        guard totals.lastDelivered == settings.rounds else {
            let since = totals.lastDelivered + 1
            throw CommandError("no node delivered an update in round\(since == settings.rounds ? " \(since)" : "s \(since)–\(settings.rounds)") of \(settings.rounds): the run failed (results in \(recorder.directory))")
        }
        return summary
    }

    /// Round 0 of a fresh run: the base model (every fresh adapter has B = 0) evaluated, the rank
    /// planned from a pilot round when asked, and the first checkpoint.
    private func startFromTheBaseModel() throws {
        let initial = try evaluateBaseModel()
        metrics.heldOut(loss: initial.loss)
        progress(String(format: "round 0: held-out loss %.4f, perplexity %.3f", initial.loss, initial.perplexity))
        var row = MetricsRow(round: 0, node: "global", profile: "", status: .initial, rank: global.rank)
        row.heldOut = initial
        try recorder.append([row])
        if settings.rankPlanning {
            let h = channelModel.frequencyResponse().estimated(nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: 1)
            rankPlanning = try planRankFromPilot(channels: h, initialLoss: initial.loss)
        }
        try checkpoint(round: 0)
    }

    /// Continues from a checkpoint: its adapter, rows, rank plan and warm start; the channel
    /// moved to where round `c.round` left it (round 1 draws at time 0, round t at t − 1).
    private func resume(from c: RunCheckpoint) throws {
        global = c.adapter
        try recorder.restore(c.rows)
        previousParticipants = c.warmParticipants
        previousBeamformers = c.warmBeamformers
        channelModel.advance(to: max(c.round - 1, 0))
        rankPlanning = (try? JSONSerialization.jsonObject(with: Data(c.rankPlanning.utf8), options: [.fragmentsAllowed])) ?? NSNull()
        if let loss = c.rows.last(where: { $0.node == "global" && $0.heldOutLoss.isFinite })?.heldOutLoss { metrics.heldOut(loss: loss) }
        progress("resuming \(recorder.directory) after round \(c.round) of \(settings.rounds) (rank \(global.rank))")
    }

    /// The state after `round`, replacing the previous checkpoint.
    private func checkpoint(round: Int) throws {
        let planning = (try? JSONSerialization.data(withJSONObject: rankPlanning, options: [.sortedKeys, .fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        try recorder.checkpoint(RunCheckpoint(round: round, identity: identity, adapter: global, rows: recorder.rows, rankPlanning: planning,
                                              warmParticipants: previousParticipants, warmBeamformers: previousBeamformers))
    }

    /// Registrations until every node has registered or `register_timeout_s` passes. Nodes not yet
    /// registered are asked every second: those that outlived an earlier base station of this run
    /// (resumed) answer at once instead of after their silence timeout.
    private func awaitRegistrations() throws {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(settings.registerTimeoutS * 1e9)
        while !nodes.allSatisfy(\.active), DispatchTime.now().uptimeNanoseconds < deadline {
            askToRegister(nodes.indices.filter { !nodes[$0].active }, "this base station has no registration of you")
            try pump(for: min(1, Double(deadline - min(deadline, DispatchTime.now().uptimeNanoseconds)) / 1e9), { _, _ in }, done: { nodes.allSatisfy(\.active) })
        }
    }

    /// summary.json's figures of the run from its rows.
    private func summaryFigures(_ t: RunTotals) -> [String: Any] {
        [
            "rounds": settings.rounds, "rank": global.rank, "rank_planned": settings.rankPlanning, "aggregation": settings.aggregation.name, "seed": scenario.seed,
            "final_loss": json(t.trainLoss), "final_heldout_loss": json(t.finalHeldOut.loss),
            "final_heldout_loss_se": json(t.finalHeldOut.standardError), "heldout_tokens": heldOutTokens.count,
            "initial_perplexity": json(t.initialPerplexity), "final_perplexity": json(t.finalHeldOut.perplexity),
            "mse_mean": meanOverRounds(t.globals, \.mse), "mse_thermal_mean": meanOverRounds(t.globals, \.mseThermal),
            "mse_csi_mean": meanOverRounds(t.globals, \.mseCSI), "mse_quantization_mean": meanOverRounds(t.globals, \.mseQuantization),
            "mse_predicted_mean": meanOverRounds(t.globals, \.msePredicted),
            "mse_per_real_mean": meanOverRounds(t.globals, \.msePerReal), "nmse_mean": meanOverRounds(t.globals, \.nmse),
            "mse_thermal_over_predicted": thermalOverPredicted(t.globals),
            "airtime_total_s": t.airtime, "airtime_mean_s": meanOverRounds(t.globals, \.airtimeS), "energy_total_j": t.energy, "frames_dropped": droppedFrames,
            "frames_dropped_by_reason": metrics.snapshot.dropped,
            "last_round_delivered": t.lastDelivered,
            "rank_planning": rankPlanning,
            "nodes": nodes.map { ["name": $0.name, "profile": $0.profile.name, "active_at_end": $0.active] as [String: Any] },
        ]
    }
}

/// A run's figures from its metrics rows (so a resumed run's are those of an uninterrupted one).
struct RunTotals {
    /// The global rows of rounds 1…T.
    var globals: [MetricsRow] = []
    /// Airtime of the pilot and every round; energy of every node's rows.
    var airtime = 0.0, energy = 0.0
    /// The mean finite train loss over the nodes of the last round that had one.
    var trainLoss = Double.nan
    var initialPerplexity = Double.nan
    /// The last round's held-out score (the base model's before round 1).
    var finalHeldOut = HeldOutScore()
    /// The last round in which a node delivered (0: none).
    var lastDelivered = 0

    init(rows: [MetricsRow]) {
        for r in rows {
            if r.node == "global" {
                if r.status == .initial {
                    initialPerplexity = r.heldOutPerplexity
                    finalHeldOut = r.heldOut
                    continue
                }
                airtime += r.airtimeS
                if r.round > 0 {
                    globals.append(r)
                    finalHeldOut = r.heldOut
                }
            } else {
                energy += r.energyJ
                if r.round > 0 && r.status == .ok { lastDelivered = max(lastDelivered, r.round) }
            }
        }
        for round in Set(rows.map(\.round)).sorted() where round > 0 {
            let losses = rows.filter { $0.round == round && $0.node != "global" }.map(\.trainLoss).filter(\.isFinite)
            if !losses.isEmpty { trainLoss = losses.reduce(0, +) / Double(losses.count) }
        }
    }
}

/// A held-out evaluation: the mean loss (nats/token), its standard error over the evaluation's
/// windows (`PerplexityResult.lossStandardError`) and the perplexity exp(loss).
struct HeldOutScore {
    var loss = Double.nan
    var perplexity = Double.nan
    var standardError = Double.nan
}
