import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation
import LinearAlgebra
import Numerics
import Radio
import Randomness

/// `basestation bench-air`: throughput of the base station's receive chain as `serve` runs it
/// (`StreamingReceiver`, frame by frame, in the combiner's space), of the same chain per antenna
/// (Σ_k H_k x_k + z, then combining: the path before) and of the batch cgemm form, beside this
/// machine's own cgemm rate measured in the same run.
struct BenchAirCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-air",
        abstract: "Benchmark the air emulation + combining against the machine's cgemm GFLOP/s.")

    @Option(help: "K, devices.") var devices = 16
    @Option(help: "N_r, BS antennas.") var rxAntennas = 16
    @Option(help: "N_t, antennas per device.") var txAntennas = 4
    @Option(help: "L, streams.") var streams = 4
    @Option(help: "N_sc, subcarriers.") var subcarriers = 256
    @Option(help: "S, OFDM symbols per pass.") var ofdmSymbols = 1024
    @Option(help: "OFDM symbols per frame a device sends to the streaming receiver.") var frameSymbols = 16
    @Option(help: "Timed passes (the median is reported).") var passes = 9
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Size n of the square cgemm that measures the machine's rate.") var cgemmSize = 1536
    @Option(help: "σ² of the emulated noise, W (0 skips noise generation, to isolate the gemms).") var noisePowerW =
        1e-3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try failing {
            guard devices >= 1, rxAntennas >= 1, txAntennas >= 1, subcarriers >= 1, ofdmSymbols >= 1, passes >= 1 else {
                throw ValidationError("every size must be ≥ 1")
            }
            guard streams >= 1, streams <= min(rxAntennas, txAntennas) else {
                throw AirCompError.streamsExceedAntennas(
                    streams: streams, transmitAntennas: txAntennas, receiveAntennas: rxAntennas)
            }
            let cgemm = measureCGEMM(n: cgemmSize)

            // Inputs: i.i.d. CN(0, 1) channels and transmitted samples, orthonormal combiners.
            var g = SeededGenerator(seed: 7)
            let kn = devices * txAntennas
            var channels = ChannelTensor(
                subcarriers: subcarriers, devices: devices, receiveAntennas: rxAntennas, transmitAntennas: txAntennas)
            for i in channels.elements.indices { channels.elements[i] = gaussian(&g) }
            var stacked = SubcarrierBlocks(subcarriers: subcarriers, rows: kn, columns: ofdmSymbols)
            for i in stacked.elements.indices { stacked.elements[i] = gaussian(&g) }
            var combiners = SubcarrierBlocks(subcarriers: subcarriers, rows: streams, columns: rxAntennas)
            for n in 0..<subcarriers {
                let q = try ComplexMatrix<Double>(rows: rxAntennas, cols: streams) { _, _ in
                    Complex(g.normal(), g.normal())
                }.qr().q
                for r in 0..<rxAntennas {
                    for l in 0..<streams {
                        let v = q[r, l].conjugate
                        combiners[n, l, r] = Complex(Float(v.real), Float(v.imaginary))
                    }
                }
            }
            var y = SubcarrierBlocks(subcarriers: subcarriers, rows: rxAntennas, columns: ofdmSymbols)
            var out = SubcarrierBlocks(subcarriers: subcarriers, rows: streams, columns: ofdmSymbols)
            let eta = [Double](repeating: 1, count: subcarriers)

            /// Median seconds of `passes` timed runs after one warm-up.
            func timed(_ body: (Int) throws -> Void) rethrows -> Double {
                var times = [Double]()
                for pass in 0...passes {
                    let start = DispatchTime.now().uptimeNanoseconds
                    try body(pass)
                    if pass > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                }
                return times.sorted()[times.count / 2]
            }
            // The batch form: one cgemm per subcarrier over all devices, noise in the combined domain.
            let medianBatch = try timed { pass in
                try OverTheAir.receive(
                    channels: channels, stacked: stacked, combiners: combiners, eta: eta, noisePowerW: noisePowerW,
                    seed: 1, round: pass,
                    threads: threads, signal: &y, into: &out)
            }
            // The streaming receiver `serve` runs: each device's frames summed exactly as they come.
            let design = try AirCompDesign(
                channels: channels,
                beamformers: (0..<subcarriers).map { n in
                    ComplexMatrix<Double>(rows: rxAntennas, cols: streams) { r, l in
                        let v = combiners[n, l, r]
                        return Complex(Double(v.real), -Double(v.imaginary))
                    }
                }, powerW: [Double](repeating: 1, count: devices))
            let medians = try streamedMedians(channels: channels, design: design, stacked: stacked)
            try report(medians, batch: medianBatch, cgemm: cgemm)
        }
    }

    /// Best GFLOP/s of six n×n complex64 gemms (8n³ flops) on OpenBLAS's own threads, after one
    /// warm-up: the machine's peak, so the ratio against it is conservative on a shared host.
    func measureCGEMM(n: Int) -> Double {
        var g = SeededGenerator(seed: 3)
        let a = (0..<(n * n)).map { _ in gaussian(&g) }
        let b = (0..<(n * n)).map { _ in gaussian(&g) }
        var c = [Complex<Float>](repeating: .zero, count: n * n)
        var rates = [Double]()
        for i in 0..<7 {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        Float.gemm(
                            .none, .none, m: n, n: n, k: n, alpha: .one, a: pa.baseAddress!, lda: n, b: pb.baseAddress!,
                            ldb: n, beta: .zero, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i > 0 { rates.append(8 * pow(Double(n), 3) / t / 1e9) }
        }
        return rates.max()!
    }
}

private func gaussian(_ g: inout SeededGenerator) -> Complex<Float> {
    Complex(Float(g.normal() * 0.5.squareRoot()), Float(g.normal() * 0.5.squareRoot()))
}
