import Numerics

/// One complex matrix per subcarrier, all of the same shape `rows × columns`, in one buffer.
///
/// Layout (complex64): subcarrier n's matrix is column-major at offset n·rows·columns, so element
/// (n, r, t) lives at `(n·columns + t)·rows + r`. The columns are OFDM symbols t = 0..<S; the rows
/// are whatever the stage carries: L streams (symbols s, combined ŝ), N_t antennas (a device's x_k),
/// K·N_t stacked device antennas (the air's input), or N_r BS antennas (received y).
public struct SubcarrierBlocks: Equatable, Sendable {
    public let subcarriers: Int
    public let rows: Int
    public let columns: Int
    public var elements: [Complex<Float>]

    public init(subcarriers: Int, rows: Int, columns: Int) {
        self.subcarriers = subcarriers
        self.rows = rows
        self.columns = columns
        elements = Array(repeating: .zero, count: subcarriers * rows * columns)
    }

    /// Elements in one subcarrier's matrix.
    @inline(__always) public var blockSize: Int { rows * columns }

    public subscript(n: Int, r: Int, t: Int) -> Complex<Float> {
        get { elements[(n * columns + t) * rows + r] }
        set { elements[(n * columns + t) * rows + r] = newValue }
    }

    /// Mean over OFDM symbols of the squared norm of the column vectors on subcarrier n.
    public func meanColumnEnergy(subcarrier n: Int) -> Double {
        guard columns > 0 else { return 0 }
        let o = n * blockSize
        var sum = 0.0
        for i in o..<(o + blockSize) { sum += Double(elements[i].lengthSquared) }
        return sum / Double(columns)
    }
}

extension SubcarrierBlocks {
    /// Columns (OFDM symbols) `symbols` as interleaved (re, im) Floats in OFDM symbol-major
    /// order: sample (t, n, r) at ((t − first)·N_sc + n)·rows + r — the wire's sample order.
    public func symbolMajorSamples(_ symbols: Range<Int>) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(2 * symbols.count * subcarriers * rows)
        for t in symbols {
            for n in 0..<subcarriers {
                let o = (n * columns + t) * rows
                for r in 0..<rows {
                    out.append(elements[o + r].real)
                    out.append(elements[o + r].imaginary)
                }
            }
        }
        return out
    }

    /// Writes OFDM symbols first..<first+count from `symbolMajorSamples`' order.
    public mutating func setSymbols(first: Int, count: Int, from samples: [Float]) throws {
        guard first >= 0, first + count <= columns, samples.count == 2 * count * subcarriers * rows else {
            throw AirCompError.shapeMismatch(
                "symbols \(first)..<\(first + count) with \(samples.count / 2) samples do not fit "
                    + "\(subcarriers)×\(rows)×\(columns)"
            )
        }
        var i = 0
        for t in first..<(first + count) {
            for n in 0..<subcarriers {
                let o = (n * columns + t) * rows
                for r in 0..<rows {
                    elements[o + r] = Complex(samples[i], samples[i + 1])
                    i += 2
                }
            }
        }
    }

    /// From interleaved (re, im) Floats in `elements` order (how precoders travel).
    public init(subcarriers: Int, rows: Int, columns: Int, interleaved: [Float]) throws {
        guard interleaved.count == 2 * subcarriers * rows * columns else {
            throw AirCompError.shapeMismatch(
                "\(interleaved.count / 2) complex values for \(subcarriers)×\(rows)×\(columns)")
        }
        self.init(subcarriers: subcarriers, rows: rows, columns: columns)
        for i in 0..<elements.count { elements[i] = Complex(interleaved[2 * i], interleaved[2 * i + 1]) }
    }

    /// `elements` as interleaved (re, im) Floats.
    public var interleaved: [Float] { elements.flatMap { [$0.real, $0.imaginary] } }
}
