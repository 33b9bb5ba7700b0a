import Dispatch
import LinearAlgebra
import Numerics
import Randomness

/// Receive beamformers A[n] (N_r × L, orthonormal columns) for every subcarrier.
///
/// `manifold` solves min_A max_k w_k² tr((Aᴴ G_k A)⁻¹)/P_{k,n} (see `BeamformingObjective`) by
/// Riemannian optimisation; `eigen`, `weakest` and `random` are the baselines beside it.
public enum ReceiveBeamformer {
    public enum Method: String, CaseIterable, Sendable {
        /// Riemannian conjugate gradient with log-sum-exp continuation, several starts, warm starts.
        case manifold
        /// The L dominant eigenvectors of Σ_k G_k / P_k.
        case eigen
        /// The L dominant eigenvectors of the weakest device's G_k (largest c_k / tr G_k).
        case weakest
        /// A random orthonormal A (QR of a Gaussian matrix).
        case random
    }

    /// Beamformers for every subcarrier and what it cost.
    public struct Result: Sendable {
        public var beamformers: [ComplexMatrix<Double>]
        /// max_k c_k tr((Aᴴ G_k A)⁻¹) per subcarrier (η[n] = 1 / objective[n]).
        public var objective: [Double]
        public var iterations: Int
        /// Largest relative Riemannian gradient norm of the final smoothed objective (manifold only).
        public var gradientNormMax: Double
        public var objectiveMean: Double { objective.reduce(0, +) / Double(max(objective.count, 1)) }
    }

    /// Solves every subcarrier.
    ///
    /// - Parameters:
    ///   - channels: the channels the BS knows, N_sc × K × N_r × N_t.
    ///   - streams: L.
    ///   - powerW: P_k, each device's total power in watts (spread evenly over subcarriers).
    ///   - weights: w_k (nil: 1/K).
    ///   - warmStart: last round's beamformers, used as an extra start per subcarrier (manifold).
    ///   - seed: for the random starts and the `random` method.
    ///   - warmAcrossSubcarriers: start subcarrier n also from subcarrier n−1's answer (manifold);
    ///     subcarriers are then solved in two contiguous halves on two threads.
    public static func solve(
        channels: ChannelTensor, streams: Int, powerW: [Double], weights: [Double]? = nil, method: Method,
        options: ManifoldSolverOptions = ManifoldSolverOptions(), warmStart: [ComplexMatrix<Double>]? = nil,
        seed: UInt64 = 1, warmAcrossSubcarriers: Bool = true, threads: Int = 2
    ) throws -> Result {
        try validate(channels: channels, streams: streams, powerW: powerW)
        let w = try AirCompDesign.validatedWeights(weights, devices: channels.devices)
        if let warm = warmStart,
            warm.count != channels.subcarriers
                || warm.contains(where: { $0.rows != channels.receiveAntennas || $0.cols != streams })
        {
            throw AirCompError.shapeMismatch(
                "warm-start beamformers do not match \(channels.subcarriers) subcarriers of "
                    + "\(channels.receiveAntennas)×\(streams)"
            )
        }
        let perSubcarrier = powerW.map { $0 / Double(channels.subcarriers) }
        let N = channels.subcarriers
        var answers = [BeamformerSolution?](repeating: nil, count: N)
        var failure: Error?
        let workers = method == .manifold ? max(1, min(threads, N)) : 1
        // The solver's products are tiny: OpenBLAS's own threads would only spin.
        let previousBLAS = BLASRuntime.threads
        BLASRuntime.threads = 1
        defer { BLASRuntime.threads = previousBLAS }
        let lock = DispatchQueue(label: "beamformer.results")
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let lo = N * worker / workers
            let hi = N * (worker + 1) / workers
            var previous: ComplexMatrix<Double>? = nil
            for n in lo..<hi {
                let problem = BeamformingObjective(
                    tensor: channels, subcarrier: n, streams: streams, powerPerSubcarrier: perSubcarrier, weights: w)
                do {
                    var warm = [ComplexMatrix<Double>]()
                    if let p = previous, warmAcrossSubcarriers { warm.append(p) }
                    if let r = warmStart?[n] { warm.append(r) }
                    let answer = try solveOne(
                        problem, method: method, options: options, warm: warm, seed: seed, subcarrier: n)
                    previous = answer.beamformer
                    lock.sync { answers[n] = answer }
                } catch {
                    lock.sync { if failure == nil { failure = error } }
                    return
                }
            }
        }
        if let failure { throw failure }
        let solved = answers.map { $0! }
        return Result(
            beamformers: solved.map(\.beamformer), objective: solved.map(\.objective),
            iterations: solved.reduce(0) { $0 + $1.iterations }, gradientNormMax: solved.map(\.gradientNorm).max() ?? 0)
    }

    /// `eigen` beamformers only (kept for callers that need nothing else).
    public static func eigen(channels: ChannelTensor, streams: Int, powerW: [Double]) throws -> [ComplexMatrix<Double>]
    {
        try solve(channels: channels, streams: streams, powerW: powerW, method: .eigen).beamformers
    }

    static func validate(channels: ChannelTensor, streams: Int, powerW: [Double]) throws {
        try AirCompDesign.validate(channels: channels, streams: streams, powerW: powerW)
        for n in 0..<channels.subcarriers {
            for k in 0..<channels.devices where !channels.matrix(subcarrier: n, device: k, as: Float.self).isFinite {
                throw AirCompError.nonFiniteChannel(device: k, subcarrier: n)
            }
        }
    }

    static func solveOne(
        _ p: BeamformingObjective, method: Method, options: ManifoldSolverOptions, warm: [ComplexMatrix<Double>],
        seed: UInt64, subcarrier n: Int
    ) throws -> BeamformerSolution {
        func finish(_ a: ComplexMatrix<Double>, iterations: Int = 0, gradientNorm: Double = 0) -> BeamformerSolution {
            BeamformerSolution(beamformer: a, objective: p.value(a), iterations: iterations, gradientNorm: gradientNorm)
        }
        var g = SeededGenerator(seed: seed, stream: [RandomStream.beamformerStart.rawValue, UInt64(n)])
        switch method {
        case .eigen: return finish(try eigenStart(p))
        case .weakest: return finish(try weakestStart(p))
        case .random: return finish(try randomStart(p, &g))
        case .manifold:
            let solver = GrassmannSolver(problem: p, options: options)
            if !warm.isEmpty, options.warmStages > 0 {
                var best: BeamformerSolution? = nil
                var iterations = 0
                for s in warm {
                    guard
                        let r = solver.run(
                            from: s, temperatures: Array(options.temperatures.suffix(options.warmStages)))
                    else { continue }
                    iterations += r.iterations
                    let candidate = finish(r.a, gradientNorm: r.gradientNorm)
                    if best == nil || candidate.objective < best!.objective { best = candidate }
                }
                if var answer = best {
                    answer.iterations = iterations
                    return answer
                }
            }
            var starts = warm + [try eigenStart(p), try weakestStart(p)]
            for _ in 0..<options.randomStarts { starts.append(try randomStart(p, &g)) }
            // First stage from every start; the best survivors go through the remaining stages.
            var iterations = 0
            var firstStage = [(a: ComplexMatrix<Double>, value: Double)]()
            for s in starts {
                guard
                    let r = solver.run(
                        from: s, temperatures: Array(options.temperatures.prefix(1)),
                        maxIterations: options.screeningIterations)
                else { continue }
                iterations += r.iterations
                firstStage.append((r.a, p.value(r.a)))
            }
            guard !firstStage.isEmpty else { throw AirCompError.singularEffectiveChannel(device: -1, subcarrier: n) }
            firstStage.sort { $0.value < $1.value }
            var best: BeamformerSolution? = nil
            for candidate in firstStage.prefix(max(1, options.survivors)) {
                guard let r = solver.run(from: candidate.a, temperatures: Array(options.temperatures.dropFirst()))
                else { continue }
                iterations += r.iterations
                let solution = finish(r.a, iterations: 0, gradientNorm: r.gradientNorm)
                if best == nil || solution.objective < best!.objective { best = solution }
            }
            // Never return worse than a start (continuation can only be trusted so far).
            var answer = best ?? finish(firstStage[0].a)
            for s in starts where p.value(s) < answer.objective {
                answer = finish(s, gradientNorm: answer.gradientNorm)
            }
            answer.iterations = iterations
            return answer
        }
    }

    /// Top-L eigenvectors of Σ_k G_k / P_k (all devices' power-normalised channels).
    static func eigenStart(_ p: BeamformingObjective) throws -> ComplexMatrix<Double> {
        var sum = ComplexMatrix<Double>(rows: p.receiveAntennas, cols: p.receiveAntennas)
        for k in 0..<p.devices {
            let h = p.channel(k)
            sum = sum + p.inversePower(k) * h.product(h, .none, .adjoint)
        }
        return try dominantSubspace(sum, streams: p.streams)
    }

    /// Top-L eigenvectors of G_k for the device with the largest c_k / tr G_k.
    static func weakestStart(_ p: BeamformingObjective) throws -> ComplexMatrix<Double> {
        var worst = 0
        var worstScore = -Double.infinity
        for k in 0..<p.devices {
            let h = p.channel(k)
            let score = p.coefficients[k] / max(h.frobeniusNormSquared, 1e-300)
            if score > worstScore {
                worst = k
                worstScore = score
            }
        }
        let h = p.channel(worst)
        return try dominantSubspace(h.product(h, .none, .adjoint), streams: p.streams)
    }

    static func randomStart(_ p: BeamformingObjective, _ g: inout SeededGenerator) throws -> ComplexMatrix<Double> {
        let s = 0.5.squareRoot()
        return try ComplexMatrix<Double>(rows: p.receiveAntennas, cols: p.streams) { _, _ in
            Complex(s * g.normal(), s * g.normal())
        }.qr().q
    }

    static func dominantSubspace(_ m: ComplexMatrix<Double>, streams: Int) throws -> ComplexMatrix<Double> {
        let scale = m.trace.real
        let (_, vectors) = try (scale > 0 ? (1 / scale) * m : m).hermitianEigen()
        let n = m.rows
        return ComplexMatrix(rows: n, cols: streams) { i, j in vectors[i, n - 1 - j] }
    }
}
