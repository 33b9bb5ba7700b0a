/// Why an over-the-air aggregation step could not be carried out. Each case names what and where.
public enum AirCompError: Error, Equatable, CustomStringConvertible {
    case noDevices
    case streamsExceedAntennas(streams: Int, transmitAntennas: Int, receiveAntennas: Int)
    case invalidStreams(Int)
    case singularEffectiveChannel(device: Int, subcarrier: Int)
    case nonFiniteUpdate(device: Int, index: Int)
    case nonFiniteChannel(device: Int, subcarrier: Int)
    case invalidPower(device: Int, watts: Double)
    case invalidWeights(String)
    case shapeMismatch(String)
    case beamformerNotOrthonormal(subcarrier: Int, deviation: Double)
    /// The error measurement was asked of a sum that cannot give it (what it lacks, in words).
    case cannotMeasure(String)

    public var description: String {
        switch self {
        case .noDevices: return "no devices: over-the-air aggregation needs at least one device"
        case .streamsExceedAntennas(let l, let nt, let nr):
            return "L = \(l) streams exceeds the antennas: need L ≤ N_t = \(nt) and L ≤ N_r = \(nr)"
        case .invalidStreams(let l): return "L = \(l) streams: must be at least 1"
        case .singularEffectiveChannel(let k, let n):
            return
                "device \(k), subcarrier \(n): the effective channel Aᴴ H_k is rank-deficient, zero-forcing is "
                + "impossible"
        case .nonFiniteUpdate(let k, let i): return "device \(k): update element \(i) is NaN or infinite"
        case .nonFiniteChannel(let k, let n): return "device \(k), subcarrier \(n): channel holds NaN or infinity"
        case .invalidPower(let k, let w): return "device \(k): power budget \(w) W must be positive and finite"
        case .invalidWeights(let why): return "aggregation weights: \(why)"
        case .shapeMismatch(let why): return "shape mismatch: \(why)"
        case .beamformerNotOrthonormal(let n, let d):
            return "subcarrier \(n): receive beamformer columns are not orthonormal (‖AᴴA − I‖ = \(d))"
        case .cannotMeasure(let why): return "cannot measure the aggregation error: \(why)"
        }
    }
}
