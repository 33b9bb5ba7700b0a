import LinearAlgebra
import Numerics
import Randomness
import XCTest

@testable import Radio

final class BeamformingTests: XCTestCase {
    func problem(devices: Int = 6, rx: Int = 8, tx: Int = 3, streams: Int = 2, seed: UInt64 = 1) -> (
        ChannelTensor, BeamformingObjective
    ) {
        let h = rayleighChannels(
            subcarriers: 1, devices: devices, rx: rx, tx: tx, seed: seed,
            gains: (0..<devices).map { pow(10, -Double($0 % 3)) })
        let power = (0..<devices).map { 0.1 * Double($0 + 1) }
        let weights = (0..<devices).map { _ in 1 / Double(devices) }
        return (
            h,
            BeamformingObjective(
                tensor: h, subcarrier: 0, streams: streams, powerPerSubcarrier: power, weights: weights)
        )
    }

    /// The analytic Euclidean gradient of Σ_k π_k f_k matches central finite differences along
    /// random directions (f_k evaluated without any orthonormality constraint).
    func testGradientMatchesFiniteDifferences() throws {
        let (_, p) = problem()
        var g = SeededGenerator(seed: 5)
        let a = try ComplexMatrix<Double>(rows: 8, cols: 2) { _, _ in Complex(g.normal(), g.normal()) }.qr().q
        let pi = (0..<p.devices).map { _ in g.uniform() }
        var w = BeamformingObjective.Workspace(p)
        p.evaluate(a, weights: pi, workspace: &w)
        let gradient = ComplexMatrix(rows: 8, cols: 2, elements: w.gradient)
        func weighted(_ x: ComplexMatrix<Double>) -> Double { zip(p.terms(x), pi).reduce(0) { $0 + $1.0 * $1.1 } }
        for _ in 0..<5 {
            let d = ComplexMatrix<Double>(rows: 8, cols: 2) { _, _ in Complex(g.normal(), g.normal()) }
            let h = 1e-6
            let numeric = (weighted(a + h * d) - weighted(a - h * d)) / (2 * h)
            let analytic = zip(gradient.elements, d.elements).reduce(0.0) {
                $0 + $1.0.real * $1.1.real + $1.0.imaginary * $1.1.imaginary
            }
            XCTAssertEqual(analytic / numeric, 1, accuracy: 1e-5, "directional derivative \(analytic) vs \(numeric)")
        }
    }

    /// One device: min tr((Aᴴ G A)⁻¹) is attained by G's top-L eigenvectors, value c·Σ 1/λ_i.
    func testSingleDeviceReachesTheEigenOptimum() throws {
        let h = rayleighChannels(subcarriers: 3, devices: 1, rx: 6, tx: 4, seed: 9)
        let result = try ReceiveBeamforming(h, streams: 3, method: .manifold)
        for n in 0..<3 {
            let hn = h.matrix(subcarrier: n, device: 0, as: Double.self)
            let (values, _) = try hn.product(hn, .none, .adjoint).hermitianEigen()
            let optimum = 3.0 * values.suffix(3).reduce(0) { $0 + 1 / $1 } // c = w²/P_n = 1/(1 W / 3 subcarriers)
            XCTAssertEqual(result.objective[n] / optimum, 1, accuracy: 1e-6, "subcarrier \(n)")
        }
    }

    /// The manifold answer is orthonormal, never worse than any baseline, and far better than eigen
    /// on a many-device instance; the objective is invariant to A → AQ.
    func testManifoldBeatsBaselines() throws {
        let h = rayleighChannels(subcarriers: 6, devices: 10, rx: 8, tx: 2, seed: 4)
        let manifold = try ReceiveBeamforming(h, streams: 2, method: .manifold)
        for method in [ReceiveBeamformer.Method.eigen, .weakest, .random] {
            let baseline = try ReceiveBeamforming(h, streams: 2, method: method)
            for n in 0..<6 {
                XCTAssertLessThanOrEqual(
                    manifold.objective[n], baseline.objective[n] * (1 + 1e-12), "\(method) subcarrier \(n)")
            }
        }
        let eigen = try ReceiveBeamforming(h, streams: 2, method: .eigen)
        XCTAssertLessThan(manifold.objectiveMean, 0.8 * eigen.objectiveMean)
        var g = SeededGenerator(seed: 2)
        for (n, a) in manifold.beamformers.enumerated() {
            XCTAssertLessThan(a.product(a, .adjoint, .none).maxAbsDifference(.identity(2)), 1e-10)
            let q = try ComplexMatrix<Double>(rows: 2, cols: 2) { _, _ in Complex(g.normal(), g.normal()) }.qr().q
            let p = BeamformingObjective(
                tensor: h, subcarrier: n, streams: 2, powerPerSubcarrier: Array(repeating: 1.0 / 6, count: 10),
                weights: Array(repeating: 0.1, count: 10))
            XCTAssertEqual(p.value(a * q) / p.value(a), 1, accuracy: 1e-9)
            XCTAssertEqual(p.value(a) / manifold.objective[n], 1, accuracy: 1e-9)
        }
    }

    /// At the answer no device's term exceeds the max and several are (nearly) tied, as a minimax
    /// optimum should be; and the design built on it gives η = 1/objective.
    func testAnswerIsAMinimaxPointAndSetsEta() throws {
        let h = rayleighChannels(subcarriers: 2, devices: 8, rx: 6, tx: 2, seed: 6)
        let r = try ReceiveBeamforming(h, streams: 2, method: .manifold)
        let design = try AirCompDesign(channels: h, beamformers: r.beamformers, powerW: Array(repeating: 1, count: 8))
        for n in 0..<2 {
            XCTAssertEqual(design.eta[n] * r.objective[n], 1, accuracy: 1e-9)
            let p = BeamformingObjective(
                tensor: h, subcarrier: n, streams: 2, powerPerSubcarrier: Array(repeating: 0.5, count: 8),
                weights: Array(repeating: 0.125, count: 8))
            let terms = p.terms(r.beamformers[n]).sorted(by: >)
            XCTAssertGreaterThan(
                terms[1] / terms[0], 0.99, "the two largest terms should be tied at a minimax point: \(terms)")
        }
    }

    /// Warm starts from the last round's answer cost fewer iterations for a slowly varying channel,
    /// and the same seed gives the same answer.
    func testWarmStartAndDeterminism() throws {
        var config = ChannelConfiguration()
        config.subcarriers = 8
        config.devices = 6
        config.receiveAntennas = 6
        config.transmitAntennas = 2
        config.pathLoss = nil
        config.dopplerHz = 0.02 // ρ = J0(2π·0.02·1) ≈ 0.996
        var model = try ChannelModel(configuration: config, seed: 3)
        let power = Array(repeating: 1.0, count: 6)
        let first = try ReceiveBeamformer.solve(
            channels: model.frequencyResponse(), streams: 2, powerW: power, method: .manifold)
        let again = try ReceiveBeamformer.solve(
            channels: model.frequencyResponse(), streams: 2, powerW: power, method: .manifold)
        XCTAssertEqual(first.objective, again.objective)
        model.advance()
        let next = model.frequencyResponse()
        var options = ManifoldSolverOptions()
        options.randomStarts = 0
        let cold = try ReceiveBeamformer.solve(
            channels: next, streams: 2, powerW: power, method: .manifold, options: options, warmAcrossSubcarriers: false
        )
        let warm = try ReceiveBeamformer.solve(
            channels: next, streams: 2, powerW: power, method: .manifold, options: options,
            warmStart: first.beamformers, warmAcrossSubcarriers: false)
        XCTAssertLessThanOrEqual(warm.objectiveMean, cold.objectiveMean * 1.01)
        XCTAssertGreaterThan(warm.iterations, 0)
    }

    func testSmallHermitianInverse() {
        var g = SeededGenerator(seed: 8)
        for n in 1...6 {
            let x = ComplexMatrix<Double>(rows: n, cols: n + 2) { _, _ in Complex(g.normal(), g.normal()) }
            let m = x.product(x, .none, .adjoint)
            var buffer = m.elements
            XCTAssertTrue(
                buffer.withUnsafeMutableBufferPointer { SmallHermitian.invertInPlace($0.baseAddress!, order: n) })
            let inverse = ComplexMatrix(rows: n, cols: n, elements: buffer)
            XCTAssertLessThan((m * inverse).maxAbsDifference(.identity(n)), 1e-10)
        }
        var singular = [Complex<Double>](repeating: .one, count: 4) // [[1,1],[1,1]]
        XCTAssertFalse(
            singular.withUnsafeMutableBufferPointer { SmallHermitian.invertInPlace($0.baseAddress!, order: 2) })
    }

    private func ReceiveBeamforming(_ h: ChannelTensor, streams: Int, method: ReceiveBeamformer.Method) throws
        -> ReceiveBeamformer.Result
    {
        try ReceiveBeamformer.solve(
            channels: h, streams: streams, powerW: Array(repeating: 1, count: h.devices), method: method)
    }
}
