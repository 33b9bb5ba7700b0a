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
///      │ ◀── transmit (mode, c, B_k[n], window)  │
///      │ symbols × frames ─────────────────────▶ │ air, combining, aggregation
///      │ ◀──────── grant (more frames may go)    │ when the window is finite
///      │ reference × frames ───────────────────▶ │ measured error (emulator only)
///      │ roundEnd ─────────────────────────────▶ │ evaluation, checkpoint
///      │ ◀─────────────────────────────── shutdown│ run over (or refused)
///      │ farewell ─────────────────────────────▶ │ then the base station exits
///      │ ◀────────── registerAgain (BS restarted, │ or the node was left out)
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
        guard frame.type == Self.frameType else {
            throw FrameError(offset: 6, problem: "expected a \(Self.frameType) frame, got \(frame.type)")
        }
        var r = PayloadReader(frame.payload)
        try self.init(reading: &r)
        try r.finish("\(Self.frameType)")
    }
}

/// A node asks to join: who it says it is and what hardware it says it has. The base station
/// takes the node's identity from the transport (its routing name), not from `name`, and the
/// radio and compute budgets from the scenario's profile, not from these claims: they are logged
/// for the operator and checked against the profile, never trusted.
public struct Hello: WireMessage {
    public static let frameType = FrameType.hello
    /// The node's name as the scenario's `[[nodes]]` lists it.
    public var name: String
    /// Its hardware profile's name (`hwprofiles/*.toml` `name`).
    public var profile: String
    /// Total transmit power budget P_k, watts.
    public var txPowerW: Double
    /// N_t, transmit antennas.
    public var antennas: Int
    /// The DAC's resolution per I/Q component, bits.
    public var dacBits: Int
    /// Sustained compute rate, GFLOP/s.
    public var sustainedGFLOPS: Double
    /// Local-training FLOP budget per round.
    public var flopBudgetPerRound: Double
    /// Compute energy, joules per GFLOP.
    public var joulesPerGFLOP: Double
    /// RAM available to the training state, bytes.
    public var ramBytes: Double
    public init(
        name: String, profile: String, txPowerW: Double, antennas: Int, dacBits: Int, sustainedGFLOPS: Double,
        flopBudgetPerRound: Double, joulesPerGFLOP: Double, ramBytes: Double
    ) {
        self.name = name
        self.profile = profile
        self.txPowerW = txPowerW
        self.antennas = antennas
        self.dacBits = dacBits
        self.sustainedGFLOPS = sustainedGFLOPS
        self.flopBudgetPerRound = flopBudgetPerRound
        self.joulesPerGFLOP = joulesPerGFLOP
        self.ramBytes = ramBytes
    }
    public func write(to w: inout PayloadWriter) {
        w.string(name)
        w.string(profile)
        w.f64(txPowerW)
        w.int(antennas)
        w.int(dacBits)
        w.f64(sustainedGFLOPS)
        w.f64(flopBudgetPerRound)
        w.f64(joulesPerGFLOP)
        w.f64(ramBytes)
    }
    public init(reading r: inout PayloadReader) throws {
        name = try r.string()
        profile = try r.string()
        txPowerW = try r.f64()
        antennas = try r.int()
        dacBits = try r.int()
        sustainedGFLOPS = try r.f64()
        flopBudgetPerRound = try r.f64()
        joulesPerGFLOP = try r.f64()
        ramBytes = try r.f64()
    }
}

/// The federation's settings a node needs to train its shard. The learning side's closed sets
/// (`partition`, `optimizer`) travel by name, since this module knows nothing of learning; the
/// firmware decodes them into its enums once, on arrival, and refuses a welcome it cannot.
public struct Welcome: WireMessage {
    public static let frameType = FrameType.welcome
    /// This node's device index k, 0 ≤ k < `devices`: its shard and its frames' node field.
    public var index: Int
    /// K, devices in the federation.
    public var devices: Int
    /// The run's seed (data split, partition, window order).
    public var seed: UInt64
    /// Data spec: `fortunes:CAT,…`, a text file or a .jsonl file.
    public var data: String
    /// `category`, `dirichlet` or `iid`.
    public var partition: String
    /// Dirichlet concentration α (partition `dirichlet`).
    public var dirichletAlpha: Double
    /// Fraction of each category's documents held out for evaluation, in (0, 1).
    public var heldOutFraction: Double
    /// The seed of the held-out split alone: one held-out set for every run seed.
    public var heldOutSeed: UInt64
    /// Window length in tokens.
    public var context: Int
    /// Windows per local optimiser step.
    public var batch: Int
    /// `adamw` or `sgd`.
    public var optimizer: String
    /// Peak learning rate.
    public var learningRate: Double
    /// Global gradient-norm clip (0: off).
    public var clipNorm: Double
    /// Weight decay λ.
    public var weightDecay: Double
    /// The node sleeps its emulated compute time × this after local training, so the fleet runs at
    /// the hardware's pace (0: flat out). A node's `--realtime-scale` overrides it.
    public var realtimeScale: Double
    /// What runs the products with the frozen base weights: `quantized` (on the GGUF blocks
    /// where the model's types allow) or `float` (dequantised sgemm), the run's one choice.
    public var kernel: String
    public init(
        index: Int, devices: Int, seed: UInt64, data: String, partition: String, dirichletAlpha: Double,
        heldOutFraction: Double,
        context: Int, batch: Int, optimizer: String, learningRate: Double, clipNorm: Double, weightDecay: Double,
        realtimeScale: Double = 0, heldOutSeed: UInt64 = 0, kernel: String = "quantized"
    ) {
        self.index = index
        self.devices = devices
        self.seed = seed
        self.data = data
        self.partition = partition
        self.dirichletAlpha = dirichletAlpha
        self.heldOutFraction = heldOutFraction
        self.context = context
        self.batch = batch
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.clipNorm = clipNorm
        self.weightDecay = weightDecay
        self.realtimeScale = realtimeScale
        self.heldOutSeed = heldOutSeed
        self.kernel = kernel
    }
    public func write(to w: inout PayloadWriter) {
        w.int(index)
        w.int(devices)
        w.u64(seed)
        w.string(data)
        w.string(partition)
        w.f64(dirichletAlpha)
        w.f64(heldOutFraction)
        w.int(context)
        w.int(batch)
        w.string(optimizer)
        w.f64(learningRate)
        w.f64(clipNorm)
        w.f64(weightDecay)
        w.f64(realtimeScale)
        w.u64(heldOutSeed)
        w.string(kernel)
    }
    public init(reading r: inout PayloadReader) throws {
        index = try r.int()
        devices = try r.int()
        seed = try r.u64()
        data = try r.string()
        partition = try r.string()
        dirichletAlpha = try r.f64()
        heldOutFraction = try r.f64()
        context = try r.int()
        batch = try r.int()
        optimizer = try r.string()
        learningRate = try r.f64()
        clipNorm = try r.f64()
        weightDecay = try r.f64()
        realtimeScale = try r.f64()
        heldOutSeed = try r.u64()
        kernel = try r.string()
    }
}

/// A round begins: the global adapter (flattened, `LoRAAdapter.flattened` order), its shape and
/// the local work.
public struct RoundStart: WireMessage {
    public static let frameType = FrameType.roundStart
    /// LoRA rank r.
    public var rank: Int
    /// LoRA α (scale α/r).
    public var alpha: Float
    /// The adapted matrices by their GGUF tensor names (`attn_q`, `attn_v`), in the adapter's
    /// order; the firmware parses them into its targets on arrival (an unknown name refuses the round).
    public var targets: [String]
    /// Local optimiser steps asked for (the node may do fewer within its FLOP budget).
    public var localSteps: Int
    /// The global adapter's D(r) parameters in wire order.
    public var adapter: [Float]
    public init(rank: Int, alpha: Float, targets: [String], localSteps: Int, adapter: [Float]) {
        self.rank = rank
        self.alpha = alpha
        self.targets = targets
        self.localSteps = localSteps
        self.adapter = adapter
    }
    public func write(to w: inout PayloadWriter) {
        w.int(rank)
        w.f32(alpha)
        w.strings(targets)
        w.int(localSteps)
        w.floats(adapter)
    }
    public init(reading r: inout PayloadReader) throws {
        rank = try r.int()
        alpha = try r.f32()
        targets = try r.strings()
        localSteps = try r.int()
        adapter = try r.floats()
    }
}

/// Local training is done (`steps` = 0: the node sits this round out).
public struct UpdateReady: WireMessage {
    public static let frameType = FrameType.updateReady
    /// Mean training loss over the local steps, nats per token (NaN when no step ran).
    public var loss: Double
    /// Local steps done.
    public var steps: Int
    /// Tokens trained on.
    public var tokens: Int
    /// FLOPs of local training (the node's meter).
    public var flops: Double
    /// Emulated compute time on the node's hardware, seconds.
    public var computeSeconds: Double
    /// Emulated compute energy, joules.
    public var energyJ: Double
    /// ‖Δ‖² of the update, for the common scale.
    public var updateEnergy: Double
    /// D, reals in the update.
    public var reals: Int
    public init(
        loss: Double, steps: Int, tokens: Int, flops: Double, computeSeconds: Double, energyJ: Double,
        updateEnergy: Double, reals: Int
    ) {
        self.loss = loss
        self.steps = steps
        self.tokens = tokens
        self.flops = flops
        self.computeSeconds = computeSeconds
        self.energyJ = energyJ
        self.updateEnergy = updateEnergy
        self.reals = reals
    }
    public func write(to w: inout PayloadWriter) {
        w.f64(loss)
        w.int(steps)
        w.int(tokens)
        w.f64(flops)
        w.f64(computeSeconds)
        w.f64(energyJ)
        w.f64(updateEnergy)
        w.int(reals)
    }
    public init(reading r: inout PayloadReader) throws {
        loss = try r.f64()
        steps = try r.int()
        tokens = try r.int()
        flops = try r.f64()
        computeSeconds = try r.f64()
        energyJ = try r.f64()
        updateEnergy = try r.f64()
        reals = try r.int()
    }
}

/// How the node transmits this round.
public struct Transmit: WireMessage {
    public static let frameType = FrameType.transmit
    public var mode: AggregationMode
    /// The common scale c: symbols are Δ / c.
    public var scale: Float
    /// N_sc.
    public var subcarriers: Int
    /// L, streams per subcarrier.
    public var streams: Int
    /// N_t, the antennas the precoders drive.
    public var antennas: Int
    /// B_k[n], N_t × L column-major per subcarrier, interleaved complex (aircomp only; empty otherwise).
    public var precoders: [Float]
    /// B, the value bits a digital update may take (the device compresses it without bias into
    /// them; the 32-bit full scale comes on top). Unused by the other modes.
    public var digitalBudgetBits: Int
    /// The seed of the digital compressor's draws (which reals are sent, the stochastic rounding),
    /// chosen by the base station so both ends know the mask without index bits.
    public var digitalSeed: UInt64
    /// Sample format of the aircomp symbols: `ci16` (the DAC's codes) or `cf32`.
    public var sampleFormat: SampleFormat
    /// Symbols frames the node may send before it waits for a `Grant` (each grant adds its
    /// count); `nil`: the whole transmission at once. A base station bounds the frames in flight
    /// with it whatever the number of nodes, so what libzmq buffers does not grow with K.
    public var window: Int?
    public init(
        mode: AggregationMode, scale: Float, subcarriers: Int, streams: Int, antennas: Int, precoders: [Float],
        digitalBudgetBits: Int = 0, digitalSeed: UInt64 = 0, sampleFormat: SampleFormat = .ci16, window: Int? = nil
    ) {
        self.mode = mode
        self.scale = scale
        self.subcarriers = subcarriers
        self.streams = streams
        self.antennas = antennas
        self.precoders = precoders
        self.digitalBudgetBits = digitalBudgetBits
        self.digitalSeed = digitalSeed
        self.sampleFormat = sampleFormat
        self.window = window
    }
    public func write(to w: inout PayloadWriter) {
        w.u8(mode.rawValue)
        w.f32(scale)
        w.int(subcarriers)
        w.int(streams)
        w.int(antennas)
        w.floats(precoders)
        w.int(digitalBudgetBits)
        w.u64(digitalSeed)
        w.u8(sampleFormat.rawValue)
        // −1: no window (the wire's int is signed; a count is never negative).
        w.int(window ?? -1)
    }
    public init(reading r: inout PayloadReader) throws {
        mode = try r.code(AggregationMode.self, "aggregation mode")
        scale = try r.f32()
        subcarriers = try r.int()
        streams = try r.int()
        antennas = try r.int()
        precoders = try r.floats()
        digitalBudgetBits = try r.int()
        digitalSeed = try r.u64()
        let at = r.offset
        sampleFormat = try r.code(SampleFormat.self, "sample format")
        guard sampleFormat != .none else {
            throw FrameError(offset: at, problem: "a transmission needs the cf32 or ci16 sample format")
        }
        let windowAt = r.offset
        let frames = try r.int()
        guard frames >= -1 else {
            throw FrameError(offset: windowAt, problem: "window \(frames): a frame count, or −1 for none")
        }
        window = frames == -1 ? nil : frames
    }
}

/// More of the round's symbols frames may go: the base station adds `frames` to the node's
/// window as the frames it sent before are taken in.
public struct Grant: WireMessage {
    public static let frameType = FrameType.grant
    /// Symbols frames added to the window (≥ 1).
    public var frames: Int
    public init(frames: Int) { self.frames = frames }
    public func write(to w: inout PayloadWriter) { w.int(frames) }
    public init(reading r: inout PayloadReader) throws {
        let at = r.offset
        frames = try r.int()
        guard frames >= 1 else { throw FrameError(offset: at, problem: "a grant of \(frames) frames (at least 1)") }
    }
}

/// The node's transmission of the round is complete: how many frames and OFDM symbols it sent,
/// which the base station checks against what arrived. (Airtime and radiated energy the base
/// station computes itself from the design.)
public struct RoundEnd: WireMessage {
    public static let frameType = FrameType.roundEnd
    /// Symbols frames sent this round.
    public var frames: Int
    /// S, OFDM symbols sent.
    public var ofdmSymbols: Int
    public init(frames: Int, ofdmSymbols: Int) {
        self.frames = frames
        self.ofdmSymbols = ofdmSymbols
    }
    public func write(to w: inout PayloadWriter) {
        w.int(frames)
        w.int(ofdmSymbols)
    }
    public init(reading r: inout PayloadReader) throws {
        frames = try r.int()
        ofdmSymbols = try r.int()
    }
}

/// A run of the update Δ_k the node meant to send, reals `offset ..< offset + values.count`. It
/// stands in for what a real system cannot have, so the emulator can split the aggregation error
/// by cause; the base station never sums it.
public struct UpdateReference: WireMessage {
    public static let frameType = FrameType.reference
    /// Index of the first real.
    public var offset: Int
    public var values: [Float]
    public init(offset: Int, values: [Float]) {
        self.offset = offset
        self.values = values
    }
    public func write(to w: inout PayloadWriter) {
        w.int(offset)
        w.floats(values)
    }
    public init(reading r: inout PayloadReader) throws {
        offset = try r.int()
        values = try r.floats()
    }
    /// Reals per frame, well under `Frame.maximumPayload`.
    public static let maximumValues = 1 << 22
}

/// A stress round (`basestation stress`): no model, no adapter; the node reports and, once told
/// how, transmits a synthetic update of `reals` reals, at full speed.
public struct SyntheticRound: WireMessage {
    public static let frameType = FrameType.syntheticRound
    /// D, reals of the synthetic update.
    public var reals: Int
    public init(reals: Int) { self.reals = reals }
    public func write(to w: inout PayloadWriter) { w.int(reals) }
    public init(reading r: inout PayloadReader) throws { reals = try r.int() }
}

/// The run is over, or the node is refused.
public struct Shutdown: WireMessage {
    public static let frameType = FrameType.shutdown
    /// Which of the two: a node leaves a finished run cleanly (with a `Farewell`), and fails on a refusal.
    public enum Kind: UInt8, Sendable {
        /// The run is complete: the node has done its part.
        case runOver = 1
        /// The node is not admitted (not a node of the scenario, or the run is full).
        case refused = 2
    }
    public var kind: Kind
    /// Why, for the node's log.
    public var reason: String
    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }
    public func write(to w: inout PayloadWriter) {
        w.u8(kind.rawValue)
        w.string(reason)
    }
    public init(reading r: inout PayloadReader) throws {
        kind = try r.code(Kind.self, "shutdown kind")
        reason = try r.string()
    }
}

/// A node heard the run's shutdown and leaves. The base station waits (briefly) for every active
/// node's farewell before it exits, so its exit cannot cut a shutdown off in flight: a TCP
/// connection closed while a node's data is still arriving is reset, and what it had not yet
/// delivered is lost (a lossy, delayed backhaul makes that likely).
public struct Farewell: WireMessage {
    public static let frameType = FrameType.farewell
    public init() {}
    public func write(to w: inout PayloadWriter) {}
    public init(reading r: inout PayloadReader) throws {}
}

/// The base station asks a node it has no registration of (it restarted and resumes, or it left
/// the node out of a round) to say hello again, instead of the node waiting out its silence timeout.
public struct RegisterAgain: WireMessage {
    public static let frameType = FrameType.registerAgain
    /// Why, for the node's log.
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public func write(to w: inout PayloadWriter) { w.string(reason) }
    public init(reading r: inout PayloadReader) throws { reason = try r.string() }
}
