import Dispatch
import Foundation
import HardwareProfiles
import LanguageModel
import Radio
import Wire

/// The edge device's firmware: an event loop with explicit states,
///
///     boot → register → wait ⇄ train → wait ⇄ modulate → transmit → wait … → halted
///
/// held to its hardware profile: the training state is planned before anything is allocated and
/// must fit the RAM budget (cached weights when they fit, else streamed); a FLOP meter counts every
/// matrix product and local training stops before a step would pass the round's FLOP budget;
/// compute time and energy are emulated from the profile (and slept at a scale factor if asked);
/// the transmission is quantised by the profile's DAC. A watchdog resets a hung loop.
final class EdgeFirmware {
    enum State: String { case boot, register, wait, train, modulate, transmit, halted }

    let name: String
    let profile: HardwareProfile
    let file: GGUFFile
    let tokenizer: BPETokenizer
    let config: LlamaConfig
    let watchdog: Watchdog
    let bsTimeoutS: Double
    let realtimeScaleOverride: Double?
    let frameSymbols: Int
    let vanishAtRound: Int?
    let socket: ZeroMQSocket
    private let context: ZeroMQContext

    private(set) var state = State.boot
    private var welcome: Welcome?
    private var sampler: WindowSampler?
    private var model: LlamaModel?
    private var modelMode: TrainingMemoryPlan.Mode?
    private var update: [Float] = []
    private var updateRound: UInt32?
    private var lastStepFlops = 0.0

    init(endpoint: String, name: String, profile: HardwareProfile, modelPath: String, watchdog: Watchdog, bsTimeoutS: Double,
         realtimeScale: Double?, frameSymbols: Int, vanishAtRound: Int? = nil) throws {
        self.name = name
        self.profile = profile
        self.watchdog = watchdog
        self.bsTimeoutS = bsTimeoutS
        realtimeScaleOverride = realtimeScale
        self.frameSymbols = frameSymbols
        self.vanishAtRound = vanishAtRound
        file = try GGUFFile(path: modelPath)
        tokenizer = try BPETokenizer(gguf: file)
        config = try LlamaConfig(gguf: file)
        guard Double(file.byteCount) <= profile.flashBytes else {
            throw CommandError("\(profile.name) cannot hold \(modelPath): \(file.byteCount) bytes of model, \(Int(profile.flashBytes)) bytes of flash")
        }
        context = try ZeroMQContext()
        socket = try ZeroMQSocket(context, .dealer)
        try socket.setIdentity(name)
        try socket.setSendTimeout(ms: Int32(min(bsTimeoutS, 600) * 1000))
        try socket.setReceiveTimeout(ms: 500)
        try socket.connect(endpoint)
    }

    private func enter(_ s: State) {
        state = s
        watchdog.kick(s.rawValue)
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data("[\(name)] \(state.rawValue): \(line)\n".utf8)) }

    private func send(_ frame: Frame) throws { try socket.send([frame.encoded()]) }

    /// The next valid frame within `seconds`, kicking the watchdog while waiting; malformed frames
    /// are reported and dropped.
    private func receive(within seconds: Double) throws -> Frame? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            watchdog.kick(state.rawValue)
            guard let parts = try socket.receive() else { continue }
            guard let data = parts.last else { continue }
            do { return try Frame(decoding: data) } catch { log("dropped a frame from the base station: \(error)") }
        }
        return nil
    }

    func run() throws {
        enter(.boot)
        log("profile \(profile.name): \(Int(profile.ramBytes)) B RAM, \(profile.sustainedGFLOPS) GFLOP/s, budget \(profile.flopBudgetPerRound) FLOP/round, DAC \(profile.dacBits) bits")
        try register()
        enter(.wait)
        var silentSince = DispatchTime.now().uptimeNanoseconds
        while state != .halted {
            guard let frame = try receive(within: 1) else {
                if Double(DispatchTime.now().uptimeNanoseconds - silentSince) / 1e9 > bsTimeoutS {
                    log("base station silent for \(Int(bsTimeoutS)) s; registering again")
                    try register()
                    enter(.wait)
                    silentSince = DispatchTime.now().uptimeNanoseconds
                }
                continue
            }
            // One bad message costs at most its round, never the firmware.
            do {
                switch frame.type {
                case .roundStart:
                    if let v = vanishAtRound, frame.round == UInt32(v) {
                        log("fault injection: vanishing at the start of round \(v)")
                        exit(0)
                    }
                    let start: RoundStart
                    do { start = try RoundStart(frame: frame) } catch {
                        try sitOut(frame.round, "round \(frame.round): malformed round start (\(error))")
                        break
                    }
                    do { try train(frame.round, start) } catch { try sitOut(frame.round, "round \(frame.round): \(error)") }
                case .transmit: try transmit(frame.round, Transmit(frame: frame))
                case .shutdown:
                    log("shutdown: \(try Shutdown(frame: frame).reason)")
                    enter(.halted)
                case .welcome: break  // a repeated welcome after re-registration
                default: log("ignored an unexpected \(frame.type) frame")
                }
            } catch {
                log("dropped a \(frame.type) message: \(error)")
            }
            silentSince = DispatchTime.now().uptimeNanoseconds
            if state != .halted { enter(.wait) }
        }
    }

    /// Sends hello until the base station welcomes (or refuses) this node.
    private func register() throws {
        enter(.register)
        let hello = Hello(name: name, profile: profile.name, txPowerW: profile.txPowerW, antennas: profile.antennas, dacBits: profile.dacBits,
                          sustainedGFLOPS: profile.sustainedGFLOPS, flopBudgetPerRound: profile.flopBudgetPerRound,
                          joulesPerGFLOP: profile.joulesPerGFLOP, ramBytes: profile.ramBytes)
        let start = DispatchTime.now().uptimeNanoseconds
        while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < bsTimeoutS {
            try send(hello.frame(round: 0, node: 0))
            guard let frame = try receive(within: 10) else { continue }
            if frame.type == .shutdown { throw CommandError("the base station refused \(name): \(try Shutdown(frame: frame).reason)") }
            guard frame.type == .welcome else { continue }
            let w = try Welcome(frame: frame)
            try Self.validate(w)
            try checkSmallestPlanFits(w)
            if welcome == nil || welcome! != w { try prepareData(w) }
            welcome = w
            log("registered as device \(w.index) of \(w.devices)")
            return
        }
        throw CommandError("no base station answered within \(Int(bsTimeoutS)) s")
    }

    /// Reports a round without an update (the base station leaves this node out of it).
    private func sitOut(_ round: UInt32, _ why: String) throws {
        log(why)
        update = []
        updateRound = round
        guard let w = welcome else { return }
        try send(UpdateReady(loss: .nan, steps: 0, tokens: 0, flops: 0, computeSeconds: 0, energyJ: 0, updateEnergy: 0, reals: 0)
                    .frame(round: round, node: UInt32(w.index)))
    }

    /// Range checks on the federation's settings before anything is sized from them.
    static func validate(_ w: Welcome) throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw FrameError(offset: 0, problem: "welcome: \(what)") } }
        try check((1...100_000).contains(w.devices) && (0..<w.devices).contains(w.index), "index \(w.index) of \(w.devices) devices")
        try check((2...65_536).contains(w.context), "context \(w.context)")
        try check((1...4096).contains(w.batch), "batch \(w.batch)")
        try check(w.learningRate.isFinite && Float(w.learningRate) > 0, "learning rate \(w.learningRate)")
        try check(w.clipNorm.isFinite && w.clipNorm >= 0 && w.weightDecay.isFinite && w.weightDecay >= 0, "clip \(w.clipNorm) / weight decay \(w.weightDecay)")
        try check(w.heldOutFraction > 0 && w.heldOutFraction < 1 && w.dirichletAlpha > 0, "held-out fraction / Dirichlet α")
    }

    /// Range checks on a transmit order against the update it is for.
    static func validate(_ t: Transmit, reals: Int) throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw FrameError(offset: 0, problem: "transmit: \(what)") } }
        try check((1...65_536).contains(t.subcarriers) && (1...64).contains(t.streams) && (1...64).contains(t.antennas), "grid \(t.subcarriers)×\(t.streams), \(t.antennas) antennas")
        try check(t.scale.isFinite && t.scale > 0, "scale \(t.scale)")
        try check((2...16).contains(t.digitalBits), "\(t.digitalBits) digital bits")
        try check(["aircomp", "ideal", "digital"].contains(t.mode), "mode \(t.mode)")
        try check(t.mode != "aircomp" || t.precoders.count == 2 * t.subcarriers * t.antennas * t.streams, "\(t.precoders.count / 2) precoder entries")
        try check(t.precoders.allSatisfy(\.isFinite), "non-finite precoder")
        let symbols = (reals + 2 * t.subcarriers * t.streams - 1) / (2 * t.subcarriers * t.streams)
        try check(symbols * t.subcarriers * max(t.antennas, t.streams) <= 1 << 28, "a transmission of \(symbols) OFDM symbols is too large")
    }

    /// Refuses to run when not even the smallest training state (rank 1, streamed) fits the RAM.
    private func checkSmallestPlanFits(_ w: Welcome) throws {
        let plan = try TrainingMemoryPlan(gguf: file, rank: 1, targets: [.q], optimizer: OptimizerKind(rawValue: w.optimizer) ?? .adamw,
                                          context: w.context, mode: .streamed, runtimeBytes: 0)
        guard Double(plan.total) <= profile.ramBytes else {
            throw CommandError("\(profile.name) cannot fine-tune this model at ctx \(w.context): even rank 1 streamed needs \(plan.total) bytes of RAM, the profile has \(Int(profile.ramBytes))")
        }
    }

    private func prepareData(_ w: Welcome) throws {
        guard let partition = FederatedData.Partition(rawValue: w.partition) else { throw CommandError("unknown partition \(w.partition)") }
        let data = try FederatedData(spec: w.data, partition: partition, devices: w.devices, dirichletAlpha: w.dirichletAlpha,
                                     heldOutFraction: w.heldOutFraction, seed: w.seed)
        let windows = WindowPacker.pack(data.shards[w.index], tokenizer: tokenizer, length: w.context)
        sampler = try WindowSampler(windows, seed: w.seed &+ UInt64(w.index) &* 0x9E37_79B9)
        log("shard: \(data.shards[w.index].count) documents, \(windows.count) windows of \(w.context) tokens")
    }

    /// Local LoRA steps from the global adapter, within the RAM plan and the FLOP budget.
    private func train(_ round: UInt32, _ start: RoundStart) throws {
        enter(.train)
        guard let w = welcome, var sampler else { throw CommandError("a round started before registration") }
        func refuse(_ why: String) throws { try sitOut(round, why) }
        guard let targets = try? LoRATarget.list(start.targets), (1...4096).contains(start.rank),
              (0...100_000).contains(start.localSteps), start.alpha.isFinite, start.alpha > 0 else {
            return try refuse("round \(round): bad adapter shape (rank \(start.rank), targets \(start.targets), \(start.localSteps) steps)")
        }
        let kind = OptimizerKind(rawValue: w.optimizer) ?? .adamw
        let chosen = try TrainingMemoryPlan.best(budget: Int(profile.ramBytes), gguf: file, rank: start.rank, targets: targets,
                                                 optimizer: kind, context: w.context, runtimeBytes: 0)
        guard Double(chosen.total) <= profile.ramBytes else {
            return try refuse("round \(round): rank \(start.rank) at ctx \(w.context) needs \(chosen.total) bytes, \(profile.name) has \(Int(profile.ramBytes)); sitting out")
        }
        if model == nil || modelMode != chosen.mode {
            model = try LlamaModel(gguf: file, residency: chosen.mode == .cached ? .cached : .streamed)
            modelMode = chosen.mode
            log("memory plan: \(chosen.mode.rawValue) mode, \(chosen.total) of \(Int(profile.ramBytes)) bytes")
        }
        // The global adapter's buffer as it came (nothing drawn, one buffer).
        let adapter: LoRAAdapter
        do {
            adapter = try LoRAAdapter(config: config, rank: start.rank, alpha: start.alpha, targets: targets, parameters: start.adapter)
        } catch { return try refuse("round \(round): \(error)") }
        var settings = OptimizerSettings()
        settings.kind = kind
        settings.learningRate = Float(w.learningRate)
        settings.clipNorm = Float(w.clipNorm)
        settings.weightDecay = Float(w.weightDecay)
        let tuner = LoRAFineTuner(model: model!, adapter: adapter, optimizer: settings, totalSteps: start.localSteps, activations: chosen.activationPolicy)
        let began = DispatchTime.now().uptimeNanoseconds
        var losses = [Double](), tokens = 0
        for step in 0..<start.localSteps {
            // A step's cost is the last one's (the very first step of a run is the probe that measures it).
            if lastStepFlops > 0, tuner.meter.flops + lastStepFlops > profile.flopBudgetPerRound {
                log("round \(round): FLOP budget reached after \(step) steps (\(tuner.meter.flops) of \(profile.flopBudgetPerRound))")
                break
            }
            do {
                let r = try tuner.step((0..<w.batch).map { _ in sampler.next() })
                losses.append(r.loss)
                tokens += r.tokens
                lastStepFlops = r.flops
            } catch let e as TrainingError {
                log("round \(round): step \(step + 1) refused (\(e)); keeping the adapter from before it")
                break
            }
            watchdog.kick(State.train.rawValue)
        }
        self.sampler = sampler
        let flops = tuner.meter.flops
        let computeSeconds = flops / (profile.sustainedGFLOPS * 1e9)
        let scale = realtimeScaleOverride ?? 0
        if scale > 0 {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
            let remaining = computeSeconds * scale - elapsed
            var left = remaining
            while left > 0 {  // in slices, kicking the watchdog: sleeping is not hanging
                Thread.sleep(forTimeInterval: min(left, 1))
                left -= 1
                watchdog.kick(State.train.rawValue)
            }
        }
        let trained = tuner.adapter.flattened()
        update = zip(trained, start.adapter).map { $0 - $1 }
        updateRound = round
        let energy = update.reduce(0.0) { $0 + Double($1) * Double($1) }
        let mean = losses.isEmpty ? Double.nan : losses.reduce(0, +) / Double(losses.count)
        log(String(format: "round %d: %d steps, loss %.4f, %.3g FLOP, emulated %.2f s, %.3g J", round, losses.count, mean, flops, computeSeconds,
                   flops / 1e9 * profile.joulesPerGFLOP))
        try send(UpdateReady(loss: mean, steps: losses.count, tokens: tokens, flops: flops, computeSeconds: computeSeconds,
                             energyJ: flops / 1e9 * profile.joulesPerGFLOP, updateEnergy: energy, reals: update.count)
                    .frame(round: round, node: UInt32(w.index)))
    }

    /// Maps the update to OFDM symbols, precodes and quantises it as told, and sends the frames.
    private func transmit(_ round: UInt32, _ t: Transmit) throws {
        enter(.modulate)
        guard let w = welcome, updateRound == round, !update.isEmpty else {
            log("round \(round): asked to transmit without an update of that round; ignoring")
            return
        }
        try Self.validate(t, reals: update.count)
        let grid = try ResourceGrid(subcarriers: t.subcarriers, streams: t.streams)
        var samples: [Float], rows: Int, format: SampleFormat = .cf32, step: Float = 1
        let symbols: Int
        switch t.mode {
        case "aircomp":
            let s = try grid.map(update: update, scale: t.scale, device: w.index)
            let b = try SubcarrierBlocks(subcarriers: t.subcarriers, rows: t.antennas, columns: t.streams, interleaved: t.precoders)
            let x = try OverTheAir.precode(s, with: b)
            symbols = x.columns
            rows = t.antennas
            samples = x.symbolMajorSamples(0..<symbols)
            step = try DAC(bits: profile.dacBits).quantize(&samples)
            format = t.sampleFormat == "cf32" ? .cf32 : .ci16
        case "ideal", "digital":
            let payload = t.mode == "digital" ? DigitalUplink.quantize(update, bits: t.digitalBits) : update
            let s = try grid.map(update: payload, scale: t.scale, device: w.index)
            symbols = s.columns
            rows = t.streams
            samples = s.symbolMajorSamples(0..<symbols)
        default:
            log("round \(round): unknown transmission mode \(t.mode)")
            return
        }
        enter(.transmit)
        let perSymbol = 2 * t.subcarriers * rows
        // Frames stay under the wire's payload limit whatever --frame-symbols says.
        let fitting = max(1, Frame.maximumPayload / (perSymbol / 2 * format.bytesPerSample))
        let chunk = min(frameSymbols, fitting)
        var frames = 0
        for first in stride(from: 0, to: symbols, by: chunk) {
            let count = min(chunk, symbols - first)
            try send(Frame.symbols(round: round, node: UInt32(w.index), firstSymbol: UInt32(first), symbolCount: UInt32(count),
                                   subcarriers: UInt32(t.subcarriers), antennas: UInt32(rows),
                                   samples: samples[(first * perSymbol)..<((first + count) * perSymbol)], format: format, step: step))
            frames += 1
            watchdog.kick(State.transmit.rawValue)
        }
        try send(RoundEnd(frames: frames, ofdmSymbols: symbols).frame(round: round, node: UInt32(w.index)))
        update = []
    }
}
