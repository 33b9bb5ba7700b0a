import CommandLineSupport
import Dispatch
import Foundation
import LanguageModel
import Radio
import Wire

extension FederationServer {
    /// The mean of a column over the rounds where it is finite (NaN, null in JSON, when none is).
    func meanOverRounds(_ rows: [MetricsRow], _ column: KeyPath<MetricsRow, Double>) -> Double {
        let values = rows.map { $0[keyPath: column] }.filter(\.isFinite)
        return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Σ measured thermal MSE / Σ σ²L/η over the rounds that have both: 1 when the served air
    /// matches the closed form.
    func thermalOverPredicted(_ rows: [MetricsRow]) -> Double {
        let both = rows.filter { $0.mseThermal.isFinite && $0.msePredicted.isFinite && $0.msePredicted > 0 }
        guard !both.isEmpty else { return .nan }
        return both.reduce(0) { $0 + $1.mseThermal } / both.reduce(0) { $0 + $1.msePredicted }
    }

    /// The run: registrations, then either round 0 (the base model's evaluation, the rank
    /// planner's pilot) or the checkpoint to resume from, then the rounds, each ending in a
    /// checkpoint, then the results. Throws when no node delivered in the last round.
    func run() throws -> RunSummary {
        // A finished run resumed has nothing left to play: its results are reported, no node awaited.
        if let c = resumed, c.round == settings.rounds, let summary = try finishedSummary() { return summary }
        let started = clock.nanoseconds
        progress(
            "base station on \(transport.address): \(nodes.count) nodes, \(settings.rounds) rounds, "
                + "\(settings.aggregation), \(settings.rankChoice.description)"
        )
        let roundsLeft = settings.rounds - (resumed?.round ?? 0)
        if roundsLeft > 0 {
            try awaitRegistrations()
            guard nodes.contains(where: \.active) else {
                throw CommandError("no node registered within \(settings.registerTimeoutS) s")
            }
            for n in nodes where !n.active { progress("  \(n.name) did not register; running without it") }
        }
        let registration = clock.seconds(since: started)
        let pilotStarted = clock.nanoseconds
        let first: Int
        if let c = resumed {
            try resume(from: c)
            first = c.round + 1
        } else {
            try startFromTheBaseModel()
            first = 1
        }
        let pilotSeconds = clock.seconds(since: pilotStarted)
        let firstEvaluation = evaluator.seconds
        for round in first..<(settings.rounds + 1) {
            let roundStarted = clock.nanoseconds
            var r = try runRound(round)
            r.global.wallS = clock.seconds(since: roundStarted)
            metrics.roundFinished(status: r.global.status, seconds: r.global.wallS)
            metrics.aggregationMSE(r.global.mse)
            metrics.heldOut(loss: r.global.heldOutLoss)
            try recorder.append(r.nodes + [r.global])
            try checkpoint(round: round)
            if rounds.crashPoint?(round, .checkpointed) == true { throw SimulatedCrash() }
            let totals = RunTotals(rows: recorder.rows)
            let heldOut =
                settings.evaluatesHeldOut(after: round)
                ? String(
                    format: "held-out loss %.4f, perplexity %.3f", r.global.heldOutLoss, r.global.heldOutPerplexity)
                : "held-out not evaluated (eval_every)"
            progress(
                String(
                    format: "round %d: train loss %.4f, %@, MSE %@, %d/%d nodes, airtime %.3g s",
                    round, totals.trainLoss, heldOut,
                    r.global.mse.isFinite ? String(format: "%.3g", r.global.mse) : "-",
                    r.nodes.filter { $0.status == .ok }.count, nodes.count, r.global.airtimeS))
        }
        // Every node that ever registered is told, so dropped nodes do not wait for a base station that is gone.
        tellEveryNodeTheRunIsOver()
        let totals = RunTotals(rows: recorder.rows)
        let time = RunSummary.TimeSplit(
            setUp: setUpSeconds, registration: registration, pilot: pilotSeconds,
            heldoutEvaluation: evaluator.seconds,
            roundsWithoutEvaluation: clock.seconds(since: pilotStarted) - pilotSeconds
                - (evaluator.seconds - firstEvaluation))
        let summary = makeSummary(totals, wallTimeS: clock.seconds(since: started), time: time)
        try recorder.finish(global, config: model.config, summary: summary)
        // The results are whole before the wait: a kill during it loses nothing.
        try awaitFarewells()
        // Rounds that no node delivered to are no training: a run that ends in them failed, even
        // though every round "ran" (the results stay, for the post-mortem).
        guard totals.lastDelivered == settings.rounds else {
            let since = totals.lastDelivered + 1
            throw CommandError(
                "no node delivered an update in "
                    + "round\(since == settings.rounds ? " \(since)" : "s \(since)–\(settings.rounds)") of "
                    + "\(settings.rounds): the run failed (results in \(recorder.directory))"
            )
        }
        return summary
    }

    /// The summary of the finished run being resumed, when its results were all written (the
    /// checkpoint of the last round comes before them: a run killed between the two writes them
    /// again, from its rows, when resumed).
    private func finishedSummary() throws -> RunSummary? {
        let path = recorder.directory + "/summary.json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let summary = try JSONRecord.read(RunSummary.self, from: path)
        progress(
            "\(recorder.directory) is a finished run (all \(settings.rounds) rounds); nothing to resume, "
                + "no node awaited")
        return summary
    }

    /// Round 0 of a fresh run: the base model (every fresh adapter has B = 0) evaluated, the rank
    /// planned from a pilot round when asked, and the first checkpoint.
    private func startFromTheBaseModel() throws {
        let initial = try evaluator.scoreBaseModel()
        metrics.heldOut(loss: initial.loss)
        progress(String(format: "round 0: held-out loss %.4f, perplexity %.3f", initial.loss, initial.perplexity))
        var row = MetricsRow(round: 0, node: "global", profile: "", status: .initial, rank: global.rank)
        row.heldOut = initial
        try recorder.append([row])
        switch settings.rankChoice {
        case .fixed: break
        case .planned:
            let h = rounds.channelModel.frequencyResponse().estimated(
                nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: 1)
            rankPlanning = try planRankFromPilot(channels: h, initialLoss: initial.loss)
        }
        try checkpoint(round: 0)
    }

    /// Continues from a checkpoint: its adapter, rows, rank plan and warm start; the channel
    /// moved to where round `c.round` left it (round 1 draws at time 0, round t at t − 1).
    private func resume(from c: RunCheckpoint) throws {
        global = c.adapter
        try recorder.restore(c.rows)
        rounds.warmStart = c.warmStart
        registry.restore(c.stragglers)
        rounds.channelModel.advance(to: max(c.round - 1, 0))
        rankPlanning = c.rankPlanning
        if let loss = c.rows.last(where: { $0.node == "global" && $0.heldOutLoss.isFinite })?.heldOutLoss {
            metrics.heldOut(loss: loss)
        }
        progress("resuming \(recorder.directory) after round \(c.round) of \(settings.rounds) (rank \(global.rank))")
    }

    /// The state after `round`, replacing the previous checkpoint.
    private func checkpoint(round: Int) throws {
        try resumption.save(
            round: round, adapter: global, rows: recorder.rows, rankPlanning: rankPlanning,
            warmStart: rounds.warmStart, stragglers: registry.stragglers)
    }

    /// Registrations until every node has registered or `register_timeout_s` passes. Nodes not yet
    /// registered are asked every second: those that outlived an earlier base station of this run
    /// (resumed) answer at once instead of after their silence timeout.
    private func awaitRegistrations() throws {
        let deadline = clock.nanoseconds + UInt64(settings.registerTimeoutS * 1e9)
        while !nodes.allSatisfy(\.active), clock.nanoseconds < deadline {
            askToRegister(nodes.indices.filter { !nodes[$0].active }, "this base station has no registration of you")
            try pump(
                for: min(1, Double(deadline - min(deadline, clock.nanoseconds)) / 1e9), { _, _ in },
                done: { nodes.allSatisfy(\.active) })
        }
    }

    /// summary.json: the run's figures from its rows, with who the run was and where its time went.
    private func makeSummary(_ t: RunTotals, wallTimeS: Double, time: RunSummary.TimeSplit) -> RunSummary {
        let receiver: String?
        switch settings.scheme { // where the air was summed; ideal and digital sum no air
        case .aircomp: receiver = scenario.aircomp.receiver.rawValue
        case .ideal, .digital: receiver = nil
        }
        let energyChecked: Bool // digital's compression noise has no closed form from the reports
        switch settings.scheme {
        case .aircomp, .ideal: energyChecked = true
        case .digital: energyChecked = false
        }
        return RunSummary(
            scenario: scenarioLabel?.name, scenarioFingerprint: scenarioLabel?.fingerprint, rounds: settings.rounds,
            rank: global.rank, rankPlanned: settings.rankChoice == .planned, aggregation: settings.aggregation.name,
            seed: scenario.seed, finalLoss: t.trainLoss, finalHeldoutLoss: t.finalHeldOut.loss,
            finalHeldoutLossSe: t.finalHeldOut.standardError, finalPerplexity: t.finalHeldOut.perplexity,
            heldoutTokens: evaluator.tokens.count, initialPerplexity: t.initialPerplexity,
            mseMean: meanOverRounds(t.globals, \.mse), mseThermalMean: meanOverRounds(t.globals, \.mseThermal),
            mseCsiMean: meanOverRounds(t.globals, \.mseCSI),
            mseQuantizationMean: meanOverRounds(t.globals, \.mseQuantization),
            msePredictedMean: meanOverRounds(t.globals, \.msePredicted),
            msePerRealMean: meanOverRounds(t.globals, \.msePerReal), nmseMean: meanOverRounds(t.globals, \.nmse),
            mseThermalOverPredicted: thermalOverPredicted(t.globals), airtimeTotalS: t.airtime,
            airtimeMeanS: meanOverRounds(t.globals, \.airtimeS), energyTotalJ: t.energy, framesDropped: droppedFrames,
            framesDroppedByReason: metrics.snapshot.dropped, lastRoundDelivered: t.lastDelivered,
            roundsEnergyFlagged: energyChecked ? t.energyFlagged : nil,
            rankPlanning: rankPlanning,
            nodes: nodes.indices.map {
                RunSummary.Node(name: nodes[$0].name, profile: profiles[$0].name, activeAtEnd: nodes[$0].active)
            },
            resumedFromRound: resumed?.round, wallTimeS: wallTimeS, kernel: model.kernel.rawValue,
            receiver: receiver, memo: evaluator.memo == nil ? nil : evaluator.memoAnswers, timeS: time)
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
    /// The last round in which a node delivered, and the quorum was met (0: none).
    var lastDelivered = 0
    /// Rounds whose aggregate exceeded `AggregateEnergyCheck.flagFactor` × its bound.
    var energyFlagged: [Int] = []

    init(rows: [MetricsRow]) {
        // A round below the quorum delivered updates but trained nothing.
        let belowQuorum = Set(rows.filter { $0.node == "global" && $0.status == .noQuorum }.map(\.round))
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
                if AggregateEnergyCheck.flags(measured: r.aggregateEnergy, bound: r.aggregateEnergyBound) {
                    energyFlagged.append(r.round)
                }
            } else {
                energy += r.energyJ
                if r.round > 0 && r.status == .ok && !belowQuorum.contains(r.round) {
                    lastDelivered = max(lastDelivered, r.round)
                }
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
