import CommandLineSupport
import Dispatch
import Foundation
import LanguageModel
import Wire

/// The firmware's learning side: the welcome's settings checked and decoded, the node's shard,
/// and each round's local training from the global adapter within the RAM plan and FLOP budget.
extension EdgeFirmware {
    /// Range checks on the federation's settings before anything is sized from them, and the
    /// learning side's closed sets decoded from their names (once, here).
    @discardableResult
    static func validate(_ w: Welcome) throws -> (
        partition: FederatedData.Partition, optimizer: OptimizerKind, kernel: FrozenKernel
    ) {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw FrameError(offset: 0, problem: "welcome: \(what)") }
        }
        // A peer's name is quoted escaped and cut short: it may be long or hold control characters.
        func unknown(_ what: String, _ name: String) -> FrameError {
            FrameError(offset: 0, problem: "welcome: unknown \(what) \(String(name.prefix(32)).debugDescription)")
        }
        guard let partition = FederatedData.Partition(rawValue: w.partition) else {
            throw unknown("partition", w.partition)
        }
        guard let optimizer = OptimizerKind(rawValue: w.optimizer) else { throw unknown("optimizer", w.optimizer) }
        guard let kernel = FrozenKernel(rawValue: w.kernel) else { throw unknown("kernel", w.kernel) }
        try check(
            (1...100_000).contains(w.devices) && (0..<w.devices).contains(w.index),
            "index \(w.index) of \(w.devices) devices")
        try check((2...65_536).contains(w.context), "context \(w.context)")
        try check((1...4096).contains(w.batch), "batch \(w.batch)")
        try check(w.learningRate.isFinite && Float(w.learningRate) > 0, "learning rate \(w.learningRate)")
        try check(
            w.clipNorm.isFinite && w.clipNorm >= 0 && w.weightDecay.isFinite && w.weightDecay >= 0,
            "clip \(w.clipNorm) / weight decay \(w.weightDecay)")
        try check(
            w.heldOutFraction > 0 && w.heldOutFraction < 1 && w.dirichletAlpha > 0, "held-out fraction / Dirichlet α")
        try check(w.realtimeScale.isFinite && (0...1e6).contains(w.realtimeScale), "real-time scale \(w.realtimeScale)")
        return (partition, optimizer, kernel)
    }

    /// Refuses to run when not even the smallest training state (rank 1, streamed) fits the RAM.
    func checkSmallestPlanFits(_ w: Welcome, optimizer: OptimizerKind, kernel: FrozenKernel) throws {
        let plan = try TrainingMemoryPlan(
            gguf: file, rank: 1, targets: [.q], optimizer: optimizer, context: w.context, mode: .streamed,
            runtimeBytes: 0,
            kernel: kernel)
        guard Double(plan.total) <= profile.ramBytes else {
            throw CommandError(
                "\(profile.name) cannot fine-tune this model at ctx \(w.context): even rank 1 streamed needs "
                    + "\(plan.total) bytes of RAM, the profile has \(Int(profile.ramBytes))"
            )
        }
    }

    func prepareData(_ w: Welcome, partition: FederatedData.Partition) throws {
        let data = try FederatedData(
            spec: w.data, partition: partition, devices: w.devices, dirichletAlpha: w.dirichletAlpha,
            heldOutFraction: w.heldOutFraction, seed: w.seed,
            heldOutSeed: w.heldOutSeed)
        let windows = WindowPacker.pack(data.shards[w.index], tokenizer: tokenizer, length: w.context)
        sampler = try WindowSampler(windows, seed: w.seed &+ UInt64(w.index) &* 0x9E37_79B9)
        note("shard: \(data.shards[w.index].count) documents, \(windows.count) windows of \(w.context) tokens")
    }

    /// Local LoRA steps from the global adapter, within the RAM plan and the FLOP budget; reports
    /// the update's loss, FLOPs, emulated time and energy, and ‖Δ‖².
    func train(_ round: UInt32, _ start: RoundStart) throws {
        guard let w = welcome, let shard = sampler else { throw CommandError("a round started before registration") }
        // Round r draws from window r × steps × batch of the shard's seeded order, whatever this
        // process drew before: a node restarted mid-run, or a round the base station replays after
        // its own restart, trains on what it would have.
        var sampler = shard.positioned(at: Int(round) * start.localSteps * w.batch)
        let names = start.targets.joined(separator: ",")
        guard let targets = try? LoRATarget.list(names: start.targets), (1...4096).contains(start.rank),
            (0...100_000).contains(start.localSteps), start.alpha.isFinite, start.alpha > 0
        else {
            return try sitOut(
                round,
                "round \(round): bad adapter shape (rank \(start.rank), targets \(names), \(start.localSteps) steps)")
        }
        let chosen = try TrainingMemoryPlan.best(
            budget: Int(profile.ramBytes), gguf: file, rank: start.rank, targets: targets,
            optimizer: optimizer, context: w.context, runtimeBytes: 0, kernel: kernel)
        guard Double(chosen.total) <= profile.ramBytes else {
            return try sitOut(
                round,
                "round \(round): rank \(start.rank) at ctx \(w.context) needs \(chosen.total) bytes, \(profile.name) "
                    + "has \(Int(profile.ramBytes)); sitting out"
            )
        }
        // The global adapter's buffer as it came: nothing drawn, one buffer.
        let adapter: LoRAAdapter
        do {
            adapter = try LoRAAdapter(
                config: config, rank: start.rank, alpha: start.alpha, targets: targets, parameters: start.adapter)
        } catch { return try sitOut(round, "round \(round): \(error)") }
        let shape = "\(start.rank) \(names) \(w.batch)"
        if shape != lastStepShape { lastStepFlops = 0 }
        lastStepShape = shape
        let memoKey = try trainingMemoKey(round, start, adapter: adapter, kernel: chosen.kernel)
        if let memoKey, let recalled = recallTraining(memoKey, reals: start.adapter.count) {
            return try deliverRecalled(round, recalled, scale: realtimeScaleOverride ?? w.realtimeScale)
        }
        if model == nil || modelMode != chosen.mode || model!.kernel != chosen.kernel {
            if chosen.mode == .streamed { AllocatorPolicy.returnLargeBlocks() }
            model = try LlamaModel(
                gguf: file, residency: chosen.mode == .cached ? .cached : .streamed, kernel: chosen.kernel)
            modelMode = chosen.mode
            note(
                "memory plan: \(chosen.mode.rawValue) mode, \(model!.kernel.rawValue) kernel, \(chosen.total) of "
                    + "\(Int(profile.ramBytes)) bytes"
            )
        }
        var settings = OptimizerSettings()
        settings.kind = optimizer
        settings.learningRate = Float(w.learningRate)
        settings.clipNorm = Float(w.clipNorm)
        settings.weightDecay = Float(w.weightDecay)
        let tuner = LoRAFineTuner(
            model: model!, adapter: adapter, optimizer: settings, totalSteps: start.localSteps,
            activations: chosen.activationPolicy,
            workspace: workspace)
        let trainer = LocalTrainer(
            tuner: tuner, flopBudget: profile.flopBudgetPerRound, stepFlopsEstimate: lastStepFlops)
        let began = DispatchTime.now().uptimeNanoseconds
        let outcome = try trainer.run(
            steps: start.localSteps, batch: { (0..<w.batch).map { _ in sampler.next() } },
            onStep: { _ in watchdog.kick(state.name) })
        lastStepFlops = trainer.lastStepFlops
        switch outcome.stop {
        case .completed: break
        case .flopBudget:
            note(
                "round \(round): FLOP budget reached after \(outcome.records.count) steps (\(outcome.flops) of "
                    + "\(profile.flopBudgetPerRound))"
            )
        case .refused(let e):
            note("round \(round): step \(outcome.records.count + 1) refused (\(e)); keeping the adapter from before it")
        }
        let computeSeconds = outcome.emulatedSeconds(sustainedGFLOPS: profile.sustainedGFLOPS)
        sleepToRealTime(computeSeconds, since: began, scale: realtimeScaleOverride ?? w.realtimeScale)
        update = zip(tuner.adapter.flattened(), start.adapter).map { $0 - $1 }
        updateRound = round
        let energy = update.reduce(0.0) { $0 + Double($1) * Double($1) }
        let joules = outcome.emulatedEnergy(joulesPerGFLOP: profile.joulesPerGFLOP)
        note(
            String(
                format: "round %d: %d steps, loss %.4f, %.3g FLOP, emulated %.2f s, %.3g J", round,
                outcome.records.count, outcome.meanLoss,
                outcome.flops, computeSeconds, joules))
        let ready = UpdateReady(
            loss: outcome.meanLoss, steps: outcome.records.count, tokens: outcome.tokens, flops: outcome.flops,
            computeSeconds: computeSeconds, energyJ: joules, updateEnergy: energy, reals: update.count)
        if let memoKey { rememberTraining(memoKey, ready: ready, update: update) }
        try send(ready.frame(round: round, node: UInt32(w.index)))
    }

    /// A memoised training delivered as if just trained: the same update and report (its emulated
    /// compute time still slept at the real-time scale).
    private func deliverRecalled(_ round: UInt32, _ recalled: RecalledTraining, scale: Double) throws {
        guard let w = welcome else { return }
        sleepToRealTime(recalled.ready.computeSeconds, since: DispatchTime.now().uptimeNanoseconds, scale: scale)
        lastStepFlops = recalled.lastStepFlops
        update = recalled.update
        updateRound = round
        let r = recalled.ready
        note(
            String(
                format: "round %d: %d steps, loss %.4f, %.3g FLOP, emulated %.2f s, %.3g J (from the memo)", round,
                r.steps, r.loss,
                r.flops, r.computeSeconds, r.energyJ))
        try send(r.frame(round: round, node: UInt32(w.index)))
    }

    /// Sleeps until `computeSeconds × scale` have passed since `began` (0: not at all), in slices
    /// that kick the watchdog: sleeping is not hanging.
    private func sleepToRealTime(_ computeSeconds: Double, since began: UInt64, scale: Double) {
        guard scale > 0 else { return }
        var left = computeSeconds * scale - Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
        while left > 0 {
            Thread.sleep(forTimeInterval: min(left, 1))
            left -= 1
            watchdog.kick(state.name)
        }
    }
}
