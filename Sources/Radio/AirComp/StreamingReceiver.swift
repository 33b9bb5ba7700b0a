import Dispatch
import Foundation
import LinearAlgebra
import Numerics

/// What the base station sums in a round.
public enum AirSum: Sendable {
    /// AirComp: device j sends x_j = B_j s_j (N_t rows), which reaches the BS through its true
    /// channel H_j; the BS adds thermal noise and combines with the design's A/√η.
    ///
    /// - channels: true H of the round's participants, in the design's device order.
    case overTheAir(channels: ChannelTensor, design: AirCompDesign, noisePowerW: Double, noiseDomain: NoiseDomain)
    /// Ideal FL and digital OFDMA: device j sends its symbols s_j (L rows), summed with weight
    /// w_j exactly. `quantized`: the symbols carry a quantised update (digital), so the error is
    /// the quantisation.
    case exact(weights: [Double], grid: ResourceGrid, quantized: Bool)
    /// The air through channels prepared once for many rounds (`PreparedChannels`: the same
    /// channels and design every round, as in `stress`), so the rounds neither rebuild the
    /// receiver's form of H nor keep H itself beside it. Without the error measurement.
    case overTheAirPrepared(channels: PreparedChannels, noisePowerW: Double, noiseDomain: NoiseDomain)

    /// The design, noise power (W) and noise domain of an air sum; nil for an exact one.
    var radio: (design: AirCompDesign, noisePowerW: Double, noiseDomain: NoiseDomain)? {
        switch self {
        case .overTheAir(_, let design, let sigma2, let domain): (design, sigma2, domain)
        case .overTheAirPrepared(let p, let sigma2, let domain): (p.design, sigma2, domain)
        case .exact: nil
        }
    }
}

/// True channels H_k (N_sc × K × N_r × N_t) in the form the receiver sums them with, made once:
/// each device's `ColumnTransform` on the design's grid of LSBs. H itself is not kept (at K = 64,
/// N_r = 16, N_t = 4, N_sc = 64 each form is 2 MiB).
public struct PreparedChannels: Sendable {
    public let design: AirCompDesign
    /// Where the receivers made on these channels sum (the transforms are that space's).
    public let space: ReceiverSpace
    let transforms: [ColumnTransform]
    let lsb: [Float]

    public init(_ h: ChannelTensor, design: AirCompDesign, space: ReceiverSpace = .combiner) throws {
        try StreamingReceiver.checkShapes(h, design)
        self.design = design
        self.space = space
        let lsb = StreamingReceiver.airLSB(design, space: space)
        self.lsb = lsb
        transforms = ColumnTransform.airChannels(h, design, space: space, lsb: lsb)
    }
}

/// A device's frame or reference that the receiver refused, and why (nothing of it was summed).
public struct ReceptionRefusal: Error, Equatable, CustomStringConvertible {
    /// The kinds of refusal (the base station reports each as its `DropReason`).
    public enum Kind: Sendable, Equatable {
        /// Outside the round or of the wrong size.
        case outOfRange
        /// Symbols or reals that arrived before.
        case duplicateOrReplayed
        /// A NaN or an infinity.
        case nonFinite
        /// Anything else: beyond what the sums can hold, or not measured by this receiver.
        case refused
    }

    public var device: Int
    public var problem: String
    public var kind: Kind
    public init(device: Int, problem: String, kind: Kind = .refused) {
        self.device = device
        self.problem = problem
        self.kind = kind
    }
    public var description: String { "device \(device): \(problem)" }
}

/// Where a streaming receiver sums its frames.
public enum Summing: String, Sendable, CaseIterable {
    /// On worker threads, one per band of subcarriers (`add` hands a batch over and returns).
    case workers
    /// On the thread that calls `add`, every band in turn: no hand-off between threads, for a
    /// receiver whose sum is cheap beside the receiving itself (the combiner's few rows).
    case receivingThread = "receiving-thread"
}

/// The base station's receive chain as a pipeline over one round's frames.
///
/// `add` (on the caller's thread: the one that receives frames) checks a frame and hands it to
/// `threads` workers, each owning a band of subcarriers, which superpose it into the exact sum
/// Σ_j G_j x_j (`ExactAccumulator`; G_j = A^H H_j/√η for the air in the combiner's space, H_j in
/// the antennas', w_j·I for an exact sum: `ReceiverSpace`). At most
/// `queueDepth` frames wait for the workers; beyond that `add` blocks, so the caller stops
/// reading the network and the senders feel backpressure. Memory is O(rows × N_sc × S) whatever
/// the number of devices (plus the channels themselves).
///
/// `finish` then adds the noise, combines, reconstructs, and measures the error per subcarrier
/// band. Because the sum is exact, the result is the same bits for any arrival order, frame split
/// and thread count: `ReceiveChain` (all of a device's symbols as one frame, devices in order) is
/// this receiver, so the batch and the streaming path agree bit for bit.
///
/// A device whose transmission stops part-way is in the sum for the OFDM symbols that arrived:
/// each OFDM symbol t is rescaled by W_t, the weight of the devices whose symbol t arrived.
public final class StreamingReceiver: @unchecked Sendable {
    public let air: AirSum
    public let grid: ResourceGrid
    /// S, OFDM symbols of the round's transmission.
    public let symbols: Int
    /// D, reals per update.
    public let reals: Int
    /// c, the round's common scale.
    public let scale: Float
    public let devices: Int
    /// w_j of each device.
    public let weights: [Double]
    /// Rows of a device's samples: N_t (air) or L (exact).
    public let inputRows: Int
    /// Where the air is summed (an exact sum is in the streams' space whatever this says).
    public let space: ReceiverSpace
    let seed: UInt64, round: Int
    /// Σ_j G_j x_j: N_r rows (air in the antennas' space) or L rows.
    let signal: ExactAccumulator
    let transforms: [ColumnTransform]
    /// The measurement's sums of the intended symbols: Σ_j H_j B_j s_j (air only; A^H H_j B_j s_j/√η
    /// in the combiner's space) and Σ_j w_j s_j.
    let noiseless: ExactAccumulator?, target: ExactAccumulator?
    let noiselessTransforms: [ColumnTransform], targetTransforms: [ColumnTransform]
    /// Which OFDM symbols of each device arrived (receiving thread only).
    var arrived: [[Bool]]
    /// Symbols frames summed per device.
    public internal(set) var framesAdded: [Int]
    /// The reals of each device's reference that arrived, as disjoint ranges.
    var referenceRanges: [[Range<Int>]]
    /// Checked frames not yet handed to the workers, in batches by the OFDM symbols they carry:
    /// a batch is summed together (one pass over the sum's memory for all of its frames).
    var pending: [(range: Range<Int>, frames: [(device: Int, samples: ReceivedSamples)])] = []
    /// Frames and bytes in `pending`.
    public internal(set) var heldFrames = 0
    var heldBytes = 0
    /// Frames handed to the workers so far (the receiving thread's count: a sender's window may
    /// take its credit back from it).
    public internal(set) var framesHandedOver = 0
    /// Frames a batch holds at most.
    static let batchLimit = 16
    /// Frames and bytes that may wait in `pending` (whatever K is), besides the one just added.
    let holdLimit: Int
    static let holdBytes = 4 << 20
    /// `holdLimit`'s default: 64 frames.
    public static let defaultHoldFrames = 64
    let bands: [Range<Int>]
    let workers: [DispatchQueue]
    /// Where frames are summed: on `workers`, or on the thread that adds them.
    public let summing: Summing
    let slots: DispatchSemaphore
    /// Frames that may wait for the workers (the slots).
    let depth: Int
    let done = DispatchQueue(label: "airfl.receiver.done")

    /// - Parameters:
    ///   - measuring: keep the sums the error measurement needs (references are refused without).
    ///   - queueDepth: frames that may wait for the workers before `add` blocks (besides the
    ///     batches being gathered).
    ///   - holdFrames: frames the batches being gathered may hold (and 4 MiB at most), besides
    ///     the one just added; beyond, the largest batch goes to the workers.
    ///   - space: where the air is summed (prepared channels carry their own).
    public init(
        air: AirSum, symbols: Int, reals: Int, scale: Float, seed: UInt64, round: Int, threads: Int = 2,
        queueDepth: Int = 32, holdFrames: Int = StreamingReceiver.defaultHoldFrames, measuring: Bool = true,
        space: ReceiverSpace = .combiner, summing: Summing = .workers
    ) throws {
        self.air = air
        self.summing = summing
        self.symbols = symbols
        self.reals = reals
        self.scale = scale
        self.seed = seed
        self.round = round
        var lsb: [Float]
        switch air {
        case .overTheAir(let h, let design, _, _):
            try Self.checkShapes(h, design)
            grid = try ResourceGrid(subcarriers: h.subcarriers, streams: design.streams)
            (inputRows, weights) = (h.transmitAntennas, design.weights)
            lsb = Self.airLSB(design, space: space)
            self.space = space
        case .overTheAirPrepared(let p, _, _):
            guard !measuring else {
                throw AirCompError.cannotMeasure(
                    "prepared channels keep no H (make the receiver with measuring: false)")
            }
            grid = try ResourceGrid(subcarriers: p.design.subcarriers, streams: p.design.streams)
            (inputRows, weights, lsb) = (p.design.transmitAntennas, p.design.weights, p.lsb)
            self.space = p.space
        case .exact(let w, let g, _):
            self.space = space
            guard !w.isEmpty else { throw AirCompError.noDevices }
            (grid, inputRows, weights) = (g, g.streams, w)
            lsb = Array(repeating: Self.symbolLSB, count: g.subcarriers)
        }
        devices = weights.count
        guard scale.isFinite, scale > 0 else {
            throw AirCompError.shapeMismatch("common scale \(scale) must be finite and > 0")
        }
        guard symbols == grid.ofdmSymbols(forReals: reals) else {
            throw AirCompError.shapeMismatch(
                "\(reals) reals fill \(grid.ofdmSymbols(forReals: reals)) OFDM symbols of "
                    + "\(grid.subcarriers)×\(grid.streams), not \(symbols)"
            )
        }
        let nsc = grid.subcarriers
        let l = grid.streams
        let symbolLSB = [Float](repeating: Self.symbolLSB, count: nsc)
        switch air {
        case .overTheAir(let h, let design, _, _) where space == .combiner:
            signal = ExactAccumulator(subcarriers: nsc, rows: l, columns: symbols, lsb: lsb)
            transforms = ColumnTransform.airChannels(h, design, space: space, lsb: lsb)
            noiselessTransforms =
                measuring
                ? (0..<devices).map { k in ColumnTransform.combinedEffective(h, design, device: k, lsb: lsb) } : []
            noiseless = measuring ? ExactAccumulator(subcarriers: nsc, rows: l, columns: symbols, lsb: lsb) : nil
        case .overTheAir(let h, let design, _, _):
            signal = ExactAccumulator(subcarriers: nsc, rows: h.receiveAntennas, columns: symbols, lsb: lsb)
            transforms = ColumnTransform.airChannels(h, design, space: space, lsb: lsb)
            noiselessTransforms =
                measuring ? (0..<devices).map { k in ColumnTransform.effective(h, design, device: k, lsb: lsb) } : []
            noiseless =
                measuring
                ? ExactAccumulator(subcarriers: nsc, rows: h.receiveAntennas, columns: symbols, lsb: lsb) : nil
        case .overTheAirPrepared(let p, _, _):
            signal = ExactAccumulator(
                subcarriers: nsc, rows: p.space == .combiner ? l : p.design.receiveAntennas, columns: symbols, lsb: lsb)
            transforms = p.transforms
            noiselessTransforms = []
            noiseless = nil
        case .exact(let w, _, _):
            signal = ExactAccumulator(subcarriers: nsc, rows: l, columns: symbols, lsb: symbolLSB)
            transforms = w.map { ColumnTransform.diagonal(Float($0), subcarriers: nsc, streams: l, lsb: symbolLSB) }
            noiselessTransforms = []
            noiseless = nil
        }
        targetTransforms =
            measuring
            ? weights.map { ColumnTransform.diagonal(Float($0), subcarriers: nsc, streams: l, lsb: symbolLSB) } : []
        target = measuring ? ExactAccumulator(subcarriers: nsc, rows: l, columns: symbols, lsb: symbolLSB) : nil
        arrived = Array(repeating: Array(repeating: false, count: symbols), count: devices)
        framesAdded = Array(repeating: 0, count: devices)
        referenceRanges = Array(repeating: [], count: devices)
        let w = max(1, min(threads, nsc))
        bands = (0..<w).map { (nsc * $0 / w)..<(nsc * ($0 + 1) / w) }
        workers = summing == .workers ? (0..<w).map { DispatchQueue(label: "airfl.receiver.band\($0)") } : []
        depth = max(1, queueDepth)
        holdLimit = max(0, holdFrames)
        slots = DispatchSemaphore(value: depth)
    }

    /// One LSB of a sum of symbols (unit mean power by the common scale): 2⁻²⁸.
    public static let symbolLSB: Float = 0x1p-28

    /// The air sum's LSB per subcarrier: 2⁻²⁸ of the designed receive amplitude √η[n] per stream
    /// at the antennas (ŝ = Aᴴy/√η ≈ Σ w s ~ 1); 2⁻²⁸ itself in the combiner's space, where the
    /// sum is ŝ's own scale.
    static func airLSB(_ design: AirCompDesign, space: ReceiverSpace) -> [Float] {
        switch space {
        case .combiner: [Float](repeating: symbolLSB, count: design.subcarriers)
        case .antennas: design.eta.map { Float(powerOfTwo(below: $0.squareRoot()) * 0x1p-28) }
        }
    }

    static func checkShapes(_ h: ChannelTensor, _ design: AirCompDesign) throws {
        guard h.devices == design.devices, h.subcarriers == design.subcarriers,
            h.receiveAntennas == design.receiveAntennas,
            h.transmitAntennas == design.transmitAntennas
        else {
            throw AirCompError.shapeMismatch(
                "channels \(h.devices)×\(h.subcarriers)×\(h.receiveAntennas)×\(h.transmitAntennas) do not fit the "
                    + "design's "
                    + "\(design.devices)×\(design.subcarriers)×\(design.receiveAntennas)×\(design.transmitAntennas)"
            )
        }
    }

    /// The largest power of two ≤ x (x > 0, finite), else 1.
    static func powerOfTwo(below x: Double) -> Double {
        guard x.isFinite, x > 0 else { return 1 }
        return Double(sign: .plus, exponent: x.exponent, significand: 1)
    }
}
