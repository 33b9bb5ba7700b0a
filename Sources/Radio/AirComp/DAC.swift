/// A transmitter's digital-to-analog converter: each I and Q sample quantised to `bits` bits,
/// mid-tread uniform over the full scale ±FS with FS the largest |component| of the burst (the
/// automatic gain a real front end applies), step = FS / (2^(bits−1) − 1).
public struct DAC: Sendable, Equatable {
    public let bits: Int

    public init(bits: Int) throws {
        guard (2...16).contains(bits) else { throw AirCompError.shapeMismatch("DAC resolution \(bits) bits is outside 2…16") }
        self.bits = bits
    }

    /// Largest code magnitude, 2^(bits−1) − 1 (fits Int16 for bits ≤ 16).
    public var maximumCode: Int { (1 << (bits - 1)) - 1 }

    /// Quantises interleaved (re, im) samples in place; returns the step (volts per code), so
    /// sample = code × step. An all-zero burst returns step 1.
    @discardableResult
    public func quantize(_ samples: inout [Float]) -> Float {
        var fullScale: Float = 0
        for v in samples { fullScale = max(fullScale, abs(v)) }
        guard fullScale > 0 else { return 1 }
        let step = fullScale / Float(maximumCode)
        let inverse = 1 / step
        for i in samples.indices { samples[i] = (samples[i] * inverse).rounded() * step }
        return step
    }
}

extension ChannelTensor {
    /// The channels of `devices` (in that order), N_sc × devices.count × N_r × N_t.
    public func selecting(devices selected: [Int]) -> ChannelTensor {
        var out = ChannelTensor(subcarriers: subcarriers, devices: selected.count, receiveAntennas: receiveAntennas, transmitAntennas: transmitAntennas)
        for n in 0..<subcarriers {
            for (j, k) in selected.enumerated() {
                let src = offset(subcarrier: n, device: k), dst = out.offset(subcarrier: n, device: j)
                for i in 0..<matrixSize { out.elements[dst + i] = elements[src + i] }
            }
        }
        return out
    }
}
