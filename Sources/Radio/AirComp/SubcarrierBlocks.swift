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
