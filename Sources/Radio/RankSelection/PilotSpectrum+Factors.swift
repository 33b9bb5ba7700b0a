import LinearAlgebra
import Numerics

/// One adapted matrix's update given as a product, ΔW_j = L_j R_j: L_j is d_out × q, R_j is q × d_in
/// (both real, column-major). A LoRA update from (A, B) to (A', B') at scale α/r is
/// L = (α/r)[B' | −B], R = [A'; A], q = 2r, so its rank is at most 2r and never formed whole.
public struct FactoredUpdate: Sendable {
    public let left: ComplexMatrix<Double>
    public let right: ComplexMatrix<Double>

    public init(left: ComplexMatrix<Double>, right: ComplexMatrix<Double>) throws {
        guard left.cols == right.rows, left.rows >= 1, right.cols >= 1 else {
            throw AirCompError.shapeMismatch(
                "update factors \(left.rows)×\(left.cols) and \(right.rows)×\(right.cols) do not multiply")
        }
        guard left.isFinite, right.isFinite else { throw AirCompError.shapeMismatch("update factors are not finite") }
        self.left = left
        self.right = right
    }

    /// The singular values of L R: with the thin QRs L = Q_L R_L and Rᴴ = Q_R R_R, L R = Q_L (R_L R_Rᴴ) Q_Rᴴ,
    /// so they are those of the q × q core C = R_L R_Rᴴ, the square roots of the eigenvalues of C Cᴴ.
    /// (When q exceeds d_out or d_in the product is formed instead, which is then as small.)
    public func singularValues() throws -> [Double] {
        let q = left.cols
        let core: ComplexMatrix<Double>
        if q <= left.rows && q <= right.cols {
            let rl = try left.qr().r
            let rr = try right.adjoint.qr().r
            core = rl.product(rr, .none, .adjoint)
        } else {
            core = left.product(right, .none, .none)
        }
        let gram = core.rows <= core.cols ? core.product(core, .none, .adjoint) : core.product(core, .adjoint, .none)
        return try gram.hermitianEigen().values.map { max(0, $0).squareRoot() }.sorted(by: >)
    }
}

extension PilotSpectrum {
    /// The pilot spectrum of a real update, pooled over the adapted matrices by rank index:
    /// s_i² = Σ_j s_{j,i}², with s_{j,i} the i-th singular value of matrix j's update. Then
    /// Σ_{i≤r} s_i² is exactly the energy rank-r adapters capture in every matrix at once
    /// (Eckart–Young per matrix), and Σ_{i>r} s_i² what they miss (docs/optimality-gap.md, "The rank term").
    public init(updates: [FactoredUpdate]) throws {
        var pooled = [Double]()
        for u in updates {
            for (i, s) in try u.singularValues().enumerated() {
                if i == pooled.count { pooled.append(0) }
                pooled[i] += s * s
            }
        }
        try self.init(singularValues: pooled.map { $0.squareRoot() })
    }
}
