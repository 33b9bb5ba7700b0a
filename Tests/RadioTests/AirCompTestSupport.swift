import LinearAlgebra
import Numerics
import Randomness

@testable import Radio

/// i.i.d. Rayleigh channels CN(0, gain) with the project's PRNG.
func rayleighChannels(subcarriers: Int, devices: Int, rx: Int, tx: Int, seed: UInt64, gains: [Double]? = nil)
    -> ChannelTensor
{
    var t = ChannelTensor(subcarriers: subcarriers, devices: devices, receiveAntennas: rx, transmitAntennas: tx)
    var g = SeededGenerator(seed: seed, stream: [99])
    for n in 0..<subcarriers {
        for k in 0..<devices {
            let s = ((gains?[k] ?? 1) / 2).squareRoot()
            for r in 0..<rx {
                for a in 0..<tx { t[n, k, r, a] = Complex(Float(s * g.normal()), Float(s * g.normal())) }
            }
        }
    }
    return t
}

/// K random updates of D reals, N(0, σ²) entries.
func randomUpdates(devices: Int, reals: Int, sigma: Double = 1, seed: UInt64) -> [[Float]] {
    var g = SeededGenerator(seed: seed, stream: [98])
    return (0..<devices).map { _ in (0..<reals).map { _ in Float(sigma * g.normal()) } }
}

/// Random orthonormal beamformers (QR of a Gaussian matrix), one per subcarrier.
func randomBeamformers(subcarriers: Int, rx: Int, streams: Int, seed: UInt64) throws -> [ComplexMatrix<Double>] {
    var g = SeededGenerator(seed: seed, stream: [97])
    return try (0..<subcarriers).map { _ in
        try ComplexMatrix<Double>(rows: rx, cols: streams) { _, _ in Complex(g.normal(), g.normal()) }.qr().q
    }
}
