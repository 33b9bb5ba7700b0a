import Foundation

/// The control messages of the round protocol, each the payload of one frame type. Every decode
/// checks lengths and consumes exactly its payload.
///
///     node                                   base station
///      │ hello ───────────────────────────────▶ │ registry
///      │ ◀─────────────────────────────── welcome│
///      │ ◀──── roundStart (adapter, rank, steps) │  per round
///      │ train (FLOP-budgeted)                   │
///      │ updateReady (loss, FLOPs, ‖Δ‖²) ──────▶ │ design: scale c, precoders
///      │ ◀────────── transmit (mode, c, B_k[n])  │
///      │ symbols × frames ─────────────────────▶ │ air, combining, aggregation
///      │ roundEnd ─────────────────────────────▶ │ evaluation, checkpoint
///      │ ◀─────────────────────────────── shutdown│
public protocol WireMessage: Equatable, Sendable {
    static var frameType: FrameType { get }
    func write(to w: inout PayloadWriter)
    init(reading r: inout PayloadReader) throws
}

extension WireMessage {
    public func frame(round: UInt32, node: UInt32) -> Frame {
        var w = PayloadWriter()
        write(to: &w)
        return Frame(type: Self.frameType, round: round, node: node, payload: w.data)
    }

    public init(frame: Frame) throws {
        guard frame.type == Self.frameType else { throw FrameError(offset: 6, problem: "expected a \(Self.frameType) frame, got \(frame.type)") }
        var r = PayloadReader(frame.payload)
        try self.init(reading: &r)
        try r.finish("\(Self.frameType)")
    }
}

public struct Hello: WireMessage {
    public static let frameType = FrameType.hello
    public var name: String
    public var profile: String
    public var txPowerW: Double
    public var antennas: Int
    public var dacBits: Int
    public var sustainedGFLOPS: Double
    public var flopBudgetPerRound: Double
    public var joulesPerGFLOP: Double
    public var ramBytes: Double
    public init(name: String, profile: String, txPowerW: Double, antennas: Int, dacBits: Int, sustainedGFLOPS: Double,
                flopBudgetPerRound: Double, joulesPerGFLOP: Double, ramBytes: Double) {
        self.name = name; self.profile = profile; self.txPowerW = txPowerW; self.antennas = antennas; self.dacBits = dacBits
        self.sustainedGFLOPS = sustainedGFLOPS; self.flopBudgetPerRound = flopBudgetPerRound; self.joulesPerGFLOP = joulesPerGFLOP; self.ramBytes = ramBytes
    }
    public func write(to w: inout PayloadWriter) {
        w.string(name); w.string(profile); w.f64(txPowerW); w.int(antennas); w.int(dacBits)
        w.f64(sustainedGFLOPS); w.f64(flopBudgetPerRound); w.f64(joulesPerGFLOP); w.f64(ramBytes)
    }
    public init(reading r: inout PayloadReader) throws {
        name = try r.string(); profile = try r.string(); txPowerW = try r.f64(); antennas = try r.int(); dacBits = try r.int()
        sustainedGFLOPS = try r.f64(); flopBudgetPerRound = try r.f64(); joulesPerGFLOP = try r.f64(); ramBytes = try r.f64()
    }
}

/// The federation's settings a node needs to train its shard.
public struct Welcome: WireMessage {
    public static let frameType = FrameType.welcome
    public var index: Int
    public var devices: Int
    public var seed: UInt64
    /// Data spec (`fortunes:…`, a path), partition (`category` or `dirichlet`), its α.
    public var data: String
    public var partition: String
    public var dirichletAlpha: Double
    public var heldOutFraction: Double
    public var context: Int
    public var batch: Int
    public var optimizer: String
    public var learningRate: Double
    public var clipNorm: Double
    public var weightDecay: Double
    public init(index: Int, devices: Int, seed: UInt64, data: String, partition: String, dirichletAlpha: Double, heldOutFraction: Double,
                context: Int, batch: Int, optimizer: String, learningRate: Double, clipNorm: Double, weightDecay: Double) {
        self.index = index; self.devices = devices; self.seed = seed; self.data = data; self.partition = partition
        self.dirichletAlpha = dirichletAlpha; self.heldOutFraction = heldOutFraction; self.context = context; self.batch = batch
        self.optimizer = optimizer; self.learningRate = learningRate; self.clipNorm = clipNorm; self.weightDecay = weightDecay
    }
    public func write(to w: inout PayloadWriter) {
        w.int(index); w.int(devices); w.u64(seed); w.string(data); w.string(partition); w.f64(dirichletAlpha); w.f64(heldOutFraction)
        w.int(context); w.int(batch); w.string(optimizer); w.f64(learningRate); w.f64(clipNorm); w.f64(weightDecay)
    }
    public init(reading r: inout PayloadReader) throws {
        index = try r.int(); devices = try r.int(); seed = try r.u64(); data = try r.string(); partition = try r.string()
        dirichletAlpha = try r.f64(); heldOutFraction = try r.f64(); context = try r.int(); batch = try r.int()
        optimizer = try r.string(); learningRate = try r.f64(); clipNorm = try r.f64(); weightDecay = try r.f64()
    }
}

/// A round begins: the global adapter (flattened, `LoRAAdapter.flattened` order), its shape and
/// the local work.
public struct RoundStart: WireMessage {
    public static let frameType = FrameType.roundStart
    public var rank: Int
    public var alpha: Float
    /// Comma-separated GGUF target names.
    public var targets: String
    public var localSteps: Int
    public var adapter: [Float]
    public init(rank: Int, alpha: Float, targets: String, localSteps: Int, adapter: [Float]) {
        self.rank = rank; self.alpha = alpha; self.targets = targets; self.localSteps = localSteps; self.adapter = adapter
    }
    public func write(to w: inout PayloadWriter) { w.int(rank); w.f32(alpha); w.string(targets); w.int(localSteps); w.floats(adapter) }
    public init(reading r: inout PayloadReader) throws {
        rank = try r.int(); alpha = try r.f32(); targets = try r.string(); localSteps = try r.int(); adapter = try r.floats()
    }
}

/// Local training is done.
public struct UpdateReady: WireMessage {
    public static let frameType = FrameType.updateReady
    public var loss: Double
    public var steps: Int
    public var tokens: Int
    public var flops: Double
    public var computeSeconds: Double
    public var energyJ: Double
    /// ‖Δ‖² and D (reals) of the update, for the common scale.
    public var updateEnergy: Double
    public var reals: Int
    public init(loss: Double, steps: Int, tokens: Int, flops: Double, computeSeconds: Double, energyJ: Double, updateEnergy: Double, reals: Int) {
        self.loss = loss; self.steps = steps; self.tokens = tokens; self.flops = flops; self.computeSeconds = computeSeconds
        self.energyJ = energyJ; self.updateEnergy = updateEnergy; self.reals = reals
    }
    public func write(to w: inout PayloadWriter) {
        w.f64(loss); w.int(steps); w.int(tokens); w.f64(flops); w.f64(computeSeconds); w.f64(energyJ); w.f64(updateEnergy); w.int(reals)
    }
    public init(reading r: inout PayloadReader) throws {
        loss = try r.f64(); steps = try r.int(); tokens = try r.int(); flops = try r.f64(); computeSeconds = try r.f64()
        energyJ = try r.f64(); updateEnergy = try r.f64(); reals = try r.int()
    }
}

/// How the node transmits this round.
public struct Transmit: WireMessage {
    public static let frameType = FrameType.transmit
    /// `aircomp` (precoded analog symbols), `ideal` (the mapped symbols, no air), `digital`
    /// (the update quantised to `digitalBits` per real, OFDMA).
    public var mode: String
    public var scale: Float
    public var subcarriers: Int
    public var streams: Int
    public var antennas: Int
    /// B_k[n], N_t × L column-major per subcarrier, interleaved complex (aircomp only).
    public var precoders: [Float]
    public var digitalBits: Int
    /// Sample format of the aircomp symbols: `ci16` (the DAC's codes) or `cf32`.
    public var sampleFormat: String
    public init(mode: String, scale: Float, subcarriers: Int, streams: Int, antennas: Int, precoders: [Float], digitalBits: Int, sampleFormat: String = "ci16") {
        self.mode = mode; self.scale = scale; self.subcarriers = subcarriers; self.streams = streams; self.antennas = antennas
        self.precoders = precoders; self.digitalBits = digitalBits; self.sampleFormat = sampleFormat
    }
    public func write(to w: inout PayloadWriter) {
        w.string(mode); w.f32(scale); w.int(subcarriers); w.int(streams); w.int(antennas); w.floats(precoders); w.int(digitalBits); w.string(sampleFormat)
    }
    public init(reading r: inout PayloadReader) throws {
        mode = try r.string(); scale = try r.f32(); subcarriers = try r.int(); streams = try r.int(); antennas = try r.int()
        precoders = try r.floats(); digitalBits = try r.int(); sampleFormat = try r.string()
    }
}

/// The node's transmission of the round is complete: how many frames and OFDM symbols it sent,
/// which the base station checks against what arrived. (Airtime and radiated energy the base
/// station computes itself from the design.)
public struct RoundEnd: WireMessage {
    public static let frameType = FrameType.roundEnd
    public var frames: Int
    public var ofdmSymbols: Int
    public init(frames: Int, ofdmSymbols: Int) {
        self.frames = frames; self.ofdmSymbols = ofdmSymbols
    }
    public func write(to w: inout PayloadWriter) { w.int(frames); w.int(ofdmSymbols) }
    public init(reading r: inout PayloadReader) throws {
        frames = try r.int(); ofdmSymbols = try r.int()
    }
}

public struct Shutdown: WireMessage {
    public static let frameType = FrameType.shutdown
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public func write(to w: inout PayloadWriter) { w.string(reason) }
    public init(reading r: inout PayloadReader) throws { reason = try r.string() }
}
