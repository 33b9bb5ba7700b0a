import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation
import LinearAlgebra
import Numerics
import NumpyIO
import Radio

extension ReceiveBeamformer.Method: ExpressibleByArgument {}

/// `basestation solve`: receive beamformers for given channels, with the objective, MSE and cost.
struct SolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Solve min_A max_k w_k² tr((Aᴴ G_k A)⁻¹)/P_k per subcarrier for channels from a .npy file.")

    @Option(help: "Channels, complex64 .npy of shape (N_sc, K, N_r, N_t).") var channels: String
    @Option(help: "L, streams per subcarrier.") var streams: Int
    @Option(help: "Every device's total transmit power in dBm (spread evenly over subcarriers).") var powerDbm: Double?
    @Option(help: "Text file with one power in dBm per device (instead of --power-dbm).") var powers: String?
    @Option(help: "Text file with one aggregation weight per device (they must sum to 1; default 1/K).") var weights:
        String?
    @Option(help: "Noise power per subcarrier and antenna in dBm (for mse_mean).") var noiseDbm: Double =
        -174 + 10 * log10(30e3) + 7
    @Option(help: "The receive beamformer.") var method: ReceiveBeamformer.Method = .manifold
    @Option(help: "Random starts of the manifold solver besides eigen and weakest.") var randomStarts: Int = 2
    @Option(help: "Log-sum-exp temperatures of the continuation, relative to the objective, comma-separated.")
    var temperatures: String?
    @Option(help: "Conjugate-gradient iterations per continuation stage at most.") var stageIterations: Int?
    @Option(help: "Iterations of the first stage, which screens the starts.") var screenIterations: Int?
    @Option(help: "Starts carried through every continuation stage (the best after screening).") var survivors: Int?
    @Option(help: "With warm starts, run only the last N continuation stages from them (fast mode; 0 = full pipeline).")
    var warmStages: Int?
    @Flag(inversion: .prefixedNo, help: "Warm-start each subcarrier from its neighbour's answer.") var warmStart = true
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: "Seed of the random starts.") var seed: UInt64 = 1
    @Option(help: "Write A as complex64 .npy of shape (N_sc, N_r, L).") var saveBeamformers: String?
    @Option(help: "Start from these beamformers too (last round's answer), complex64 .npy of shape (N_sc, N_r, L).")
    var initialBeamformers: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try failing {
            let m = method
            let h = try ChannelTensor.load(npy: channels)
            let powerDBm: [Double]
            switch (powerDbm, powers) {
            case (let p?, nil): powerDBm = Array(repeating: p, count: h.devices)
            case (nil, let file?): powerDBm = try readNumbers(file, count: h.devices, what: "powers")
            case (nil, nil): powerDBm = Array(repeating: 23, count: h.devices)
            default: throw ValidationError("give --power-dbm or --powers, not both")
            }
            let w = try weights.map { try readNumbers($0, count: h.devices, what: "weights") }
            var options = ManifoldSolverOptions()
            options.randomStarts = randomStarts
            if let t = temperatures {
                let values = t.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else {
                    throw ValidationError("--temperatures must be positive numbers, e.g. 0.1,0.01,0.001")
                }
                options.temperatures = values
            }
            if let v = stageIterations { options.maxIterationsPerStage = v }
            if let v = screenIterations { options.screeningIterations = v }
            if let v = survivors { options.survivors = v }
            if let v = warmStages { options.warmStages = v }
            let initial = try initialBeamformers.map { try loadBeamformers($0, like: h) }
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try ReceiveBeamformer.solve(
                channels: h, streams: streams, powerW: powerDBm.map { PowerUnits.watts(dBm: $0) }, weights: w,
                method: m,
                options: options, warmStart: initial, seed: seed, warmAcrossSubcarriers: warmStart, threads: threads)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let sigma2 = PowerUnits.watts(dBm: noiseDbm)
            let mse = result.objective.map { sigma2 * Double(streams) * $0 }
            if let path = saveBeamformers {
                var values = [Complex<Float>]()
                for a in result.beamformers {
                    for r in 0..<a.rows {
                        for l in 0..<a.cols { values.append(Complex(Float(a[r, l].real), Float(a[r, l].imaginary))) }
                    }
                }
                try NumpyArray(shape: [h.subcarriers, h.receiveAntennas, streams], complex: values).write(to: path)
            }
            if json {
                try printJSON(
                    SolveReport(
                        method: m.rawValue, subcarriers: h.subcarriers, devices: h.devices, streams: streams,
                        objectiveMean: result.objectiveMean, objective: result.objective,
                        mseMean: mse.reduce(0, +) / Double(mse.count), timeMs: ms,
                        timeMsPerSubcarrier: ms / Double(h.subcarriers), iterations: result.iterations,
                        gradNormMax: result.gradientNormMax))
                return
            }
            print(
                String(
                    format:
                        "%@: objective mean %.6g, MSE mean %.4g, %d iterations, %.1f ms (%.2f ms per subcarrier), "
                        + "max relative gradient %.2g",
                    m.rawValue, result.objectiveMean, mse.reduce(0, +) / Double(mse.count), result.iterations, ms,
                    ms / Double(h.subcarriers), result.gradientNormMax))
        }
    }

    /// Beamformers saved by `--save-beamformers`, checked against the channels' shape.
    func loadBeamformers(_ path: String, like h: ChannelTensor) throws -> [ComplexMatrix<Double>] {
        let array = try NumpyArray.read(path: path)
        guard array.dtype == .complex64, array.shape == [h.subcarriers, h.receiveAntennas, streams] else {
            throw NumpyError.wrongShape(
                path: path, found: array.shape,
                expected: "complex64 (\(h.subcarriers), \(h.receiveAntennas), \(streams))")
        }
        return try (0..<h.subcarriers).map { n in
            let a = ComplexMatrix<Double>(rows: h.receiveAntennas, cols: streams) { r, l in
                let v = array.complexValues[(n * h.receiveAntennas + r) * streams + l]
                return Complex(Double(v.real), Double(v.imaginary))
            }
            // Re-orthonormalise: the file holds complex64.
            return try a.qr().q
        }
    }

    /// Whitespace- or comma-separated numbers, exactly `count` of them.
    func readNumbers(_ path: String, count: Int, what: String) throws -> [Double] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("\(path): cannot read the \(what) file")
        }
        let tokens = text.split(whereSeparator: { $0 == "," || $0.isWhitespace })
        let values = try tokens.map { t -> Double in
            guard let v = Double(t), v.isFinite else { throw ValidationError("\(path): '\(t)' is not a number") }
            return v
        }
        guard values.count == count else {
            throw ValidationError("\(path): \(values.count) \(what) for \(count) devices")
        }
        return values
    }
}

/// `solve --json`: the beamformer's objective max_k w_k² tr((Aᴴ G_k A)⁻¹)/P_k per subcarrier and its
/// mean, the closed-form MSE per unit-power symbol, and the solver's work (milliseconds, iterations,
/// the largest relative gradient norm at the end).
struct SolveReport: Encodable {
    var method: String
    var subcarriers: Int
    var devices: Int
    var streams: Int
    var objectiveMean: Double
    var objective: [Double]
    var mseMean: Double
    var timeMs: Double
    var timeMsPerSubcarrier: Double
    var iterations: Int
    var gradNormMax: Double

    enum CodingKeys: String, CodingKey {
        case method, subcarriers, devices, streams
        case objectiveMean = "objective_mean"
        case objective
        case mseMean = "mse_mean"
        case timeMs = "time_ms"
        case timeMsPerSubcarrier = "time_ms_per_subcarrier"
        case iterations
        case gradNormMax = "grad_norm_max"
    }
}
