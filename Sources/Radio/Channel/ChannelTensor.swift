import LinearAlgebra
import Numerics

/// The channel matrices H_k[n] ∈ C^{N_r×N_t} of every device k on every subcarrier n.
///
/// Storage (complex64): H_k[n] is kept column-major, and the K devices of one subcarrier follow
/// each other, so element (n, k, r, t) lives at `((n·K + k)·N_t + t)·N_r + r`. One subcarrier's
/// block is then the column-major N_r × (K·N_t) matrix [H_1[n] … H_K[n]], the operand of the
/// over-the-air sum's single gemm. (NumPy files use C order (N_sc, K, N_r, N_t); the `.npy`
/// reader and writer transpose.)
public struct ChannelTensor: Equatable, Sendable {
    /// N_sc.
    public let subcarriers: Int
    /// K.
    public let devices: Int
    /// N_r.
    public let receiveAntennas: Int
    /// N_t.
    public let transmitAntennas: Int
    /// Column-major H_k[n] blocks, see the type's documentation; linear amplitude gains (√W/W).
    public var elements: [Complex<Float>]

    public init(subcarriers: Int, devices: Int, receiveAntennas: Int, transmitAntennas: Int) {
        self.subcarriers = subcarriers
        self.devices = devices
        self.receiveAntennas = receiveAntennas
        self.transmitAntennas = transmitAntennas
        self.elements = Array(repeating: .zero, count: subcarriers * devices * receiveAntennas * transmitAntennas)
    }

    public init(subcarriers: Int, devices: Int, receiveAntennas: Int, transmitAntennas: Int, elements: [Complex<Float>])
    {
        precondition(
            elements.count == subcarriers * devices * receiveAntennas * transmitAntennas, "channel tensor size mismatch"
        )
        self.subcarriers = subcarriers
        self.devices = devices
        self.receiveAntennas = receiveAntennas
        self.transmitAntennas = transmitAntennas
        self.elements = elements
    }

    /// Elements in one H_k[n].
    @inline(__always) public var matrixSize: Int { receiveAntennas * transmitAntennas }
    /// Elements in one subcarrier's block [H_1[n] … H_K[n]].
    @inline(__always) public var subcarrierStride: Int { devices * matrixSize }

    /// Offset of H_k[n]'s first element.
    @inline(__always) public func offset(subcarrier n: Int, device k: Int) -> Int {
        (n * devices + k) * matrixSize
    }

    /// Element (r, t) of H_k[n].
    public subscript(n: Int, k: Int, r: Int, t: Int) -> Complex<Float> {
        get { elements[offset(subcarrier: n, device: k) + t * receiveAntennas + r] }
        set { elements[offset(subcarrier: n, device: k) + t * receiveAntennas + r] = newValue }
    }

    /// H_k[n] as a matrix in the given precision.
    public func matrix<T: LinearAlgebraScalar>(subcarrier n: Int, device k: Int, as: T.Type = T.self) -> ComplexMatrix<
        T
    > {
        let o = offset(subcarrier: n, device: k)
        return ComplexMatrix(
            rows: receiveAntennas, cols: transmitAntennas,
            elements: elements[o..<(o + matrixSize)].map { Complex(T($0.real), T($0.imaginary)) })
    }

    /// Average power gain of device k: E|h|² over subcarriers and antenna pairs.
    public func meanGain(device k: Int) -> Double {
        var sum = 0.0
        for n in 0..<subcarriers {
            let o = offset(subcarrier: n, device: k)
            for i in o..<(o + matrixSize) { sum += Double(elements[i].lengthSquared) }
        }
        return sum / Double(subcarriers * matrixSize)
    }

    /// Whether every element is finite.
    public var isFinite: Bool { elements.allSatisfy { $0.real.isFinite && $0.imaginary.isFinite } }
}

extension ChannelTensor {
    /// The channels of `devices` (in that order), N_sc × devices.count × N_r × N_t.
    public func selecting(devices selected: [Int]) -> ChannelTensor {
        var out = ChannelTensor(
            subcarriers: subcarriers, devices: selected.count, receiveAntennas: receiveAntennas,
            transmitAntennas: transmitAntennas)
        for n in 0..<subcarriers {
            for (j, k) in selected.enumerated() {
                let src = offset(subcarrier: n, device: k)
                let dst = out.offset(subcarrier: n, device: j)
                for i in 0..<matrixSize { out.elements[dst + i] = elements[src + i] }
            }
        }
        return out
    }
}
