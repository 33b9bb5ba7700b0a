import Numerics
import Randomness

extension ChannelTensor {
    /// The BS's imperfect estimate Ĥ = H + E.
    ///
    /// E has i.i.d. CN(0, nmse · β̂_k) entries, β̂_k the mean power gain of device k, so that
    /// E‖E_k‖² / E‖H_k‖² = nmse for every device whatever its path loss. nmse = 0 returns H.
    ///
    /// - Parameters:
    ///   - nmse: normalised mean squared error of the estimate (linear, ≥ 0).
    ///   - seed, round: select the PRNG substream, one per device and round.
    public func estimated(nmse: Double, seed: UInt64, round: Int) -> ChannelTensor {
        guard nmse > 0 else { return self }
        var out = self
        for k in 0..<devices {
            var g = SeededGenerator(seed: seed, stream: [RandomStream.csiError.rawValue, UInt64(k), UInt64(round)])
            let sigma = (nmse * meanGain(device: k) / 2).squareRoot()
            for n in 0..<subcarriers {
                let o = offset(subcarrier: n, device: k)
                for i in o..<(o + matrixSize) {
                    out.elements[i] += Complex(Float(sigma * g.normal()), Float(sigma * g.normal()))
                }
            }
        }
        return out
    }
}
