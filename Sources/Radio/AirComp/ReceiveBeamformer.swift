import LinearAlgebra
import Numerics

/// Receive beamformers A[n] (N_r × L, orthonormal columns) that need no optimisation.
public enum ReceiveBeamformer {
    /// `eigen`: the L dominant eigenvectors of Σ_k G_k[n] / P_k (G_k = H_k H_kᴴ), the subspace where
    /// the devices' power-normalised channels are strongest.
    public static func eigen(channels: ChannelTensor, streams: Int, powerW: [Double]) throws -> [ComplexMatrix<Double>] {
        guard channels.devices >= 1 else { throw AirCompError.noDevices }
        guard streams >= 1 else { throw AirCompError.invalidStreams(streams) }
        guard streams <= channels.receiveAntennas, streams <= channels.transmitAntennas else {
            throw AirCompError.streamsExceedAntennas(streams: streams, transmitAntennas: channels.transmitAntennas, receiveAntennas: channels.receiveAntennas)
        }
        guard powerW.count == channels.devices else { throw AirCompError.shapeMismatch("\(powerW.count) power budgets for \(channels.devices) devices") }
        for (k, p) in powerW.enumerated() where !(p > 0 && p.isFinite) { throw AirCompError.invalidPower(device: k, watts: p) }
        let nr = channels.receiveAntennas
        return try (0..<channels.subcarriers).map { n in
            var sum = ComplexMatrix<Double>(rows: nr, cols: nr)
            for k in 0..<channels.devices {
                let h = channels.matrix(subcarrier: n, device: k, as: Double.self)
                guard h.isFinite else { throw AirCompError.nonFiniteChannel(device: k, subcarrier: n) }
                sum = sum + (1 / powerW[k]) * h.product(h, .none, .adjoint)
            }
            // Normalise so tiny path-loss gains do not meet LAPACK's tolerances.
            let scale = sum.trace.real
            let (_, vectors) = try (scale > 0 ? (1 / scale) * sum : sum).hermitianEigen()
            // Eigenvalues ascend: the dominant L are the last columns, strongest first.
            return ComplexMatrix(rows: nr, cols: streams) { i, j in vectors[i, nr - 1 - j] }
        }
    }
}
