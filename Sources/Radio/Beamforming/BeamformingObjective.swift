import LinearAlgebra
import Numerics

/// The receive-beamforming problem of one subcarrier (docs/architecture.md#receive-beamforming):
///
///   minimise over A ∈ C^{N_r×L}, Aᴴ A = I:   f(A) = max_k f_k(A),
///   f_k(A) = c_k · tr((Aᴴ G_k A)⁻¹),  G_k = H_k H_kᴴ,  c_k = w_k² / P_{k,n},
///
/// so that η = 1/f and MSE = σ² L f. f_k is invariant to A → AQ (Q unitary): the problem lives on
/// the complex Grassmann manifold Gr(N_r, L).
///
/// Evaluation works on the stacked channels Hs = [H_1 … H_K] (N_r × K·N_t, column-major):
/// B = Aᴴ Hs (L × K·N_t, one zgemm); M_k = B_k B_kᴴ (L×L, B_k the k-th N_t-column block);
/// the Euclidean gradient of a weighted sum Σ_k π_k f_k is Hs·Z with
/// Z_k = −2 π_k c_k B_kᴴ M_k⁻² (one more zgemm), because d tr(M⁻¹) = −2 Re tr(M⁻² Aᴴ G dA).
public struct BeamformingObjective: Sendable {
    public let receiveAntennas: Int
    public let transmitAntennas: Int
    public let devices: Int
    public let streams: Int
    /// Hs, N_r × K·N_t column-major.
    let stacked: [Complex<Double>]
    /// c_k = w_k² / P_{k,n}.
    public let coefficients: [Double]
    /// 1 / P_{k,n}.
    let inversePowers: [Double]

    /// - Parameters:
    ///   - channels: H_k[n] of this subcarrier, taken from `tensor`.
    ///   - powerPerSubcarrier: P_{k,n} in watts.
    ///   - weights: w_k.
    public init(tensor: ChannelTensor, subcarrier n: Int, streams: Int, powerPerSubcarrier: [Double], weights: [Double])
    {
        receiveAntennas = tensor.receiveAntennas
        transmitAntennas = tensor.transmitAntennas
        devices = tensor.devices
        self.streams = streams
        let o = tensor.offset(subcarrier: n, device: 0)
        stacked = tensor.elements[o..<(o + tensor.subcarrierStride)].map {
            Complex(Double($0.real), Double($0.imaginary))
        }
        coefficients = (0..<tensor.devices).map { weights[$0] * weights[$0] / powerPerSubcarrier[$0] }
        inversePowers = powerPerSubcarrier.map { 1 / $0 }
    }

    func inversePower(_ k: Int) -> Double { inversePowers[k] }

    /// H_k, N_r × N_t.
    public func channel(_ k: Int) -> ComplexMatrix<Double> {
        let size = receiveAntennas * transmitAntennas
        return ComplexMatrix(
            rows: receiveAntennas, cols: transmitAntennas, elements: Array(stacked[(k * size)..<((k + 1) * size)]))
    }

    /// Per-device terms f_k(A); +∞ where Aᴴ H_k is rank-deficient.
    public func terms(_ a: ComplexMatrix<Double>) -> [Double] {
        var workspace = Workspace(self)
        return evaluate(a, weights: nil, workspace: &workspace).terms
    }

    /// max_k f_k(A).
    public func value(_ a: ComplexMatrix<Double>) -> Double { terms(a).max() ?? 0 }

    /// Scratch buffers reused across evaluations (no allocation in the solver loop).
    struct Workspace {
        var b: [Complex<Double>] // L × K·N_t
        var z: [Complex<Double>] // K·N_t × L
        var gradient: [Complex<Double>] // N_r × L
        var inverses: [Complex<Double>] // K blocks of L×L, M_k⁻¹
        var terms: [Double]
        init(_ p: BeamformingObjective) {
            let kn = p.devices * p.transmitAntennas
            let l = p.streams
            b = Array(repeating: .zero, count: l * kn)
            z = Array(repeating: .zero, count: kn * l)
            gradient = Array(repeating: .zero, count: p.receiveAntennas * l)
            inverses = Array(repeating: .zero, count: p.devices * l * l)
            terms = Array(repeating: 0, count: p.devices)
        }
    }

    /// Terms f_k(A) and, when `weights` (π_k) are given, the Euclidean gradient of Σ_k π_k f_k
    /// into `workspace.gradient` (N_r × L).
    @discardableResult
    func evaluate(_ a: ComplexMatrix<Double>, weights: [Double]?, workspace w: inout Workspace) -> (
        terms: [Double], finite: Bool
    ) {
        let result = evaluateTerms(a, workspace: &w)
        if let pi = weights, result.finite { accumulateGradient(weights: pi, workspace: &w) }
        return result
    }

    /// f_k(A) for every k; leaves B = Aᴴ Hs and the M_k⁻¹ in the workspace for the gradient.
    func evaluateTerms(_ a: ComplexMatrix<Double>, workspace w: inout Workspace) -> (terms: [Double], finite: Bool) {
        let nr = receiveAntennas
        let nt = transmitAntennas
        let l = streams
        let kn = devices * nt
        a.elements.withUnsafeBufferPointer { pa in
            stacked.withUnsafeBufferPointer { ph in
                w.b.withUnsafeMutableBufferPointer { pb in
                    Double.gemm(
                        .adjoint, .none, m: l, n: kn, k: nr, alpha: .one, a: pa.baseAddress!, lda: nr,
                        b: ph.baseAddress!, ldb: nr, beta: .zero, c: pb.baseAddress!, ldc: l)
                }
            }
        }
        var finite = true
        w.b.withUnsafeBufferPointer { pb in
            w.inverses.withUnsafeMutableBufferPointer { pinv in
                for k in 0..<devices {
                    let inv = pinv.baseAddress! + k * l * l
                    SmallHermitian.gram(pb.baseAddress! + k * nt * l, rows: l, cols: nt, into: inv)
                    if SmallHermitian.invertInPlace(inv, order: l) {
                        var t = 0.0
                        for i in 0..<l { t += inv[i * l + i].real }
                        w.terms[k] = coefficients[k] * t
                    } else {
                        w.terms[k] = .infinity
                        finite = false
                    }
                }
            }
        }
        return (w.terms, finite)
    }

    /// ∇(Σ_k π_k f_k) at the A of the last `evaluateTerms`, into `workspace.gradient`.
    func accumulateGradient(weights pi: [Double], workspace w: inout Workspace) {
        let nr = receiveAntennas
        let nt = transmitAntennas
        let l = streams
        let kn = devices * nt
        // Z_k = −2 π_k c_k B_kᴴ M_k⁻², N_t × L, stacked into Z (K·N_t × L).
        var square = [Complex<Double>](repeating: .zero, count: l * l)
        for k in 0..<devices {
            let scale = -2 * pi[k] * coefficients[k]
            guard scale != 0 else {
                for j in 0..<l { for i in 0..<nt { w.z[j * kn + k * nt + i] = .zero } }
                continue
            }
            let inv = k * l * l
            // M⁻² (Hermitian), then B_kᴴ M⁻².
            for j in 0..<l {
                for i in 0..<l {
                    var s = Complex<Double>.zero
                    for m in 0..<l { s += w.inverses[inv + m * l + i] * w.inverses[inv + j * l + m] }
                    square[j * l + i] = s
                }
            }
            for j in 0..<l {
                for i in 0..<nt {
                    var s = Complex<Double>.zero
                    // (B_kᴴ)[i, m] = conj(B_k[m, i]); B_k[m, i] lives at (k·N_t + i)·L + m.
                    for m in 0..<l { s += w.b[(k * nt + i) * l + m].conjugate * square[j * l + m] }
                    w.z[j * kn + k * nt + i] = s.multiplied(by: scale)
                }
            }
        }
        stacked.withUnsafeBufferPointer { ph in
            w.z.withUnsafeBufferPointer { pz in
                w.gradient.withUnsafeMutableBufferPointer { pg in
                    Double.gemm(
                        .none, .none, m: nr, n: l, k: kn, alpha: .one, a: ph.baseAddress!, lda: nr,
                        b: pz.baseAddress!, ldb: kn, beta: .zero, c: pg.baseAddress!, ldc: nr)
                }
            }
        }
    }
}

/// L×L Hermitian kernels for L ≤ min(N_t, N_r) (typically ≤ 8). At these sizes a LAPACK call's
/// fixed overhead is several times the arithmetic, and the solver makes thousands of them per
/// subcarrier, so they are written out; every product with N_r or K·N_t in it goes to BLAS.
enum SmallHermitian {
    /// out = X Xᴴ (rows × rows, column-major) for X rows × cols column-major.
    @inline(__always)
    static func gram(
        _ x: UnsafePointer<Complex<Double>>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Complex<Double>>
    ) {
        for j in 0..<rows {
            for i in j..<rows {
                var s = Complex<Double>.zero
                for c in 0..<cols { s += x[c * rows + i] * x[c * rows + j].conjugate }
                out[j * rows + i] = s
                out[i * rows + j] = s.conjugate
            }
        }
    }

    /// Replaces the lower triangle of a Hermitian positive-definite matrix with L⁻¹, where A = L Lᴴ
    /// (the strict upper triangle is left as it was). False when a pivot is not safely positive.
    @inline(__always)
    static func lowerInverseCholesky(_ a: UnsafeMutablePointer<Complex<Double>>, order n: Int) -> Bool {
        var maxDiagonal = 0.0
        for i in 0..<n { maxDiagonal = max(maxDiagonal, a[i * n + i].real) }
        guard maxDiagonal > 0, maxDiagonal.isFinite else { return false }
        // Cholesky, lower triangle: a[i + j n] = L[i, j].
        for j in 0..<n {
            var d = a[j * n + j].real
            for m in 0..<j { d -= a[m * n + j].lengthSquared }
            guard d > 1e-13 * maxDiagonal else { return false }
            let ljj = d.squareRoot()
            a[j * n + j] = Complex(ljj)
            for i in (j + 1)..<max(j + 1, n) {
                var s = a[j * n + i]
                for m in 0..<j { s -= a[m * n + i] * a[m * n + j].conjugate }
                a[j * n + i] = s.divided(by: ljj)
            }
        }
        // L⁻¹ in place (lower triangular).
        for j in 0..<n {
            a[j * n + j] = Complex(1 / a[j * n + j].real)
            for i in (j + 1)..<max(j + 1, n) {
                var s = Complex<Double>.zero
                for m in j..<i { s += a[m * n + i] * a[j * n + m] }
                a[j * n + i] = s.divided(by: -a[i * n + i].real)
            }
        }
        return true
    }

    /// Inverts a Hermitian positive-definite matrix in place by Cholesky (A = L Lᴴ, A⁻¹ = L⁻ᴴ L⁻¹).
    /// Returns false (leaving garbage) when a pivot is not safely positive: the matrix is singular
    /// to working precision relative to its diagonal.
    @inline(__always)
    static func invertInPlace(_ a: UnsafeMutablePointer<Complex<Double>>, order n: Int) -> Bool {
        guard lowerInverseCholesky(a, order: n) else { return false }
        // A⁻¹ = L⁻ᴴ L⁻¹: entry (i, j), i ≥ j, is Σ_{m ≥ i} conj(L⁻¹[m, i]) L⁻¹[m, j].
        for j in 0..<n {
            for i in j..<n {
                var s = Complex<Double>.zero
                for m in i..<n { s += a[i * n + m].conjugate * a[j * n + m] }
                a[i * n + j] = s // parked in the upper triangle (row j, column i), never read again
            }
        }
        for j in 0..<n {
            for i in j..<n {
                let v = a[i * n + j] // A⁻¹[i, j]
                a[j * n + i] = v // (i, j), lower
                a[i * n + j] = v.conjugate // (j, i), upper
            }
        }
        return true
    }
}
