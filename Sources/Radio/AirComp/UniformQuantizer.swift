import Numerics

/// A mid-tread uniform quantiser of `bits` bits over the full scale ±FS, FS the largest |value| of
/// what it is given at once (a burst, an update): step = FS / (2^(bits−1) − 1), value → round(v / step)·step.
///
/// A transmitter's DAC quantises each I and Q sample of a burst with it (the automatic gain a real
/// front end applies sets FS). Rounding to nearest is biased for a payload (|Q(v)| ≥ |v| on
/// average near zero): the digital baseline's updates use `UnbiasedCompressor` instead.
public struct UniformQuantizer: Sendable, Equatable {
    public let bits: Int

    public init(bits: Int) throws {
        guard (2...16).contains(bits) else {
            throw AirCompError.shapeMismatch("quantiser resolution \(bits) bits is outside 2…16")
        }
        self.bits = bits
    }

    /// Largest code magnitude, 2^(bits−1) − 1 (fits Int16 for bits ≤ 16).
    public var maximumCode: Int { (1 << (bits - 1)) - 1 }

    /// Quantises `values` in place; returns the step (units per code), so value = code × step.
    /// All zeros (nothing to scale to) are left as they are with step 1.
    @discardableResult
    public func quantize(_ values: inout [Float]) -> Float {
        values.withUnsafeMutableBufferPointer { quantize($0) }
    }

    /// Quantises the real and imaginary parts of every symbol in place (one full scale for all).
    @discardableResult
    public func quantize(_ blocks: inout SubcarrierBlocks) -> Float {
        blocks.elements.withUnsafeMutableBufferPointer { p in
            p.withMemoryRebound(to: Float.self) { quantize($0) }
        }
    }

    private func quantize(_ values: UnsafeMutableBufferPointer<Float>) -> Float {
        var fullScale: Float = 0
        for v in values { fullScale = max(fullScale, abs(v)) }
        guard fullScale > 0 else { return 1 }
        let step = fullScale / Float(maximumCode)
        let inverse = 1 / step
        for i in values.indices { values[i] = (values[i] * inverse).rounded() * step }
        return step
    }
}

/// A transmitter's digital-to-analog converter is a `UniformQuantizer` over its I/Q samples.
public typealias DAC = UniformQuantizer
