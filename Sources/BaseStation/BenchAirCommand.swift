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
    @Option(help: "σ² of the emulated noise, W (0 skips noise generation, to isolate the gemms).") var noisePowerW = 1e-3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try failing {
            guard devices >= 1, rxAntennas >= 1, txAntennas >= 1, subcarriers >= 1, ofdmSymbols >= 1, passes >= 1 else {
                throw ValidationError("every size must be ≥ 1")
            }
            guard streams >= 1, streams <= min(rxAntennas, txAntennas) else {
                throw AirCompError.streamsExceedAntennas(streams: streams, transmitAntennas: txAntennas, receiveAntennas: rxAntennas)
            }
            let cgemm = measureCGEMM(n: cgemmSize)

            // Inputs: i.i.d. CN(0, 1) channels and transmitted samples, orthonormal combiners.
            var g = SeededGenerator(seed: 7)
            let kn = devices * txAntennas
            var channels = ChannelTensor(subcarriers: subcarriers, devices: devices, receiveAntennas: rxAntennas, transmitAntennas: txAntennas)
            for i in channels.elements.indices { channels.elements[i] = gaussian(&g) }
            var stacked = SubcarrierBlocks(subcarriers: subcarriers, rows: kn, columns: ofdmSymbols)
            for i in stacked.elements.indices { stacked.elements[i] = gaussian(&g) }
            var combiners = SubcarrierBlocks(subcarriers: subcarriers, rows: streams, columns: rxAntennas)
            for n in 0..<subcarriers {
                let q = try ComplexMatrix<Double>(rows: rxAntennas, cols: streams) { _, _ in
                    Complex(g.normal(), g.normal())
                }.qr().q
                for r in 0..<rxAntennas { for l in 0..<streams {
                    let v = q[r, l].conjugate
                    combiners[n, l, r] = Complex(Float(v.real), Float(v.imaginary))
                } }
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
                    channels: channels, stacked: stacked, combiners: combiners, eta: eta, noisePowerW: noisePowerW, seed: 1, round: pass,
                    threads: threads, signal: &y, into: &out)
            }
            // The streaming receiver `serve` runs: each device's frames summed exactly as they come.
            let design = try AirCompDesign(channels: channels, beamformers: (0..<subcarriers).map { n in
                ComplexMatrix<Double>(rows: rxAntennas, cols: streams) { r, l in
                    let v = combiners[n, l, r]
                    return Complex(Double(v.real), -Double(v.imaginary))
                }
            }, powerW: [Double](repeating: 1, count: devices))
            let reals = 2 * streams * subcarriers * ofdmSymbols
            let frames = (0..<devices).map { k -> [(first: Int, samples: [Float])] in
                var x = SubcarrierBlocks(subcarriers: subcarriers, rows: txAntennas, columns: ofdmSymbols)
                for n in 0..<subcarriers { for t in 0..<ofdmSymbols { for a in 0..<txAntennas {
                    x[n, a, t] = stacked[n, k * txAntennas + a, t]
                } } }
                return stride(from: 0, to: ofdmSymbols, by: frameSymbols).map { first in
                    (first, x.symbolMajorSamples(first..<min(ofdmSymbols, first + frameSymbols)))
                }
            }
            let (symbols, perFrameSymbol, k) = (ofdmSymbols, 2 * subcarriers * txAntennas, devices)
            /// One pass of the streaming receiver: every device's frames, then the round's end (seconds).
            func streamedPass(_ space: ReceiverSpace, _ domain: NoiseDomain, round pass: Int) throws -> Double {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let receiver = try StreamingReceiver(
                    air: .overTheAir(channels: channels, design: design, noisePowerW: noisePowerW, noiseDomain: domain),
                    symbols: symbols, reals: reals, scale: 1, seed: 1, round: pass, threads: threads, measuring: false, space: space)
                for i in frames[0].indices {
                    for d in 0..<k {
                        let f = frames[d][i]
                        try receiver.add(device: d, first: f.first, count: f.samples.count / perFrameSymbol, samples: f.samples)
                    }
                }
                let mid = DispatchTime.now().uptimeNanoseconds
                receiver.drain()
                let drained = DispatchTime.now().uptimeNanoseconds
                _ = receiver.finish()
                let end = DispatchTime.now().uptimeNanoseconds
                if ProcessInfo.processInfo.environment["AIRFL_BENCH_PHASES"] != nil {
                    print(space.rawValue, "adds", Double(mid - t0) / 1e6, "drain", Double(drained - mid) / 1e6, "finish", Double(end - drained) / 1e6, "ms")
                }
                return Double(end - t0) / 1e9
            }
            // As served: the combiner's space (noise Aᴴz/√η drawn there); the antennas' path as
            // served before it, and with the noise in the combined streams (the sum alone). The
            // three take turns pass by pass, so a drift of the machine's speed meets them alike.
            let paths: [(ReceiverSpace, NoiseDomain)] = [(.combiner, .receiveAntennas), (.antennas, .receiveAntennas), (.antennas, .combinedStreams)]
            var times = [[Double]](repeating: [], count: paths.count)
            for pass in 0...passes {
                for (i, path) in paths.enumerated() {
                    let seconds = try streamedPass(path.0, path.1, round: pass)
                    if pass > 0 { times[i].append(seconds) }
                }
            }
            let medians = times.map { $0.sorted()[$0.count / 2] }
            let (median, medianAntennas, medianAntennasQuiet) = (medians[0], medians[1], medians[2])
            let s = Double(ofdmSymbols), nsc = Double(subcarriers)
            // The emulated air's work, whichever path computes it: Σ_k H_k x_k (8·N_r·K·N_t per
            // subcarrier and OFDM symbol) and the combining (8·L·N_r).
            let flops = nsc * 8 * s * (Double(rxAntennas) * Double(kn) + Double(streams) * Double(rxAntennas))
            let gflops = flops / median / 1e9
            let result: [String: Any] = [
                "devices": devices, "rx_antennas": rxAntennas, "tx_antennas": txAntennas, "streams": streams,
                "subcarriers": subcarriers, "ofdm_symbols": ofdmSymbols, "threads": threads, "passes": passes,
                "receiver": ReceiverSpace.combiner.rawValue,
                "seconds_per_pass": median,
                "symbols_per_s": nsc * s * Double(streams) / median,
                "transmitted_samples_per_s": nsc * s * Double(kn) / median,
                "gflops": gflops,
                "seconds_per_pass_antennas": medianAntennas,
                "gflops_antennas": flops / medianAntennas / 1e9,
                "speedup_over_antennas": medianAntennas / median,
                "seconds_per_pass_antennas_combined_noise": medianAntennasQuiet,
                "frame_symbols": frameSymbols,
                "seconds_per_pass_batch_cgemm": medianBatch,
                "gflops_batch_cgemm": flops / medianBatch / 1e9,
                "cgemm_gflops": cgemm,
                "cgemm_size": cgemmSize,
                "fraction_of_cgemm": gflops / cgemm,
                "blas_core": BLASRuntime.coreName,
            ]
            if json { try printJSON(result); return }
            print(String(format: "streaming receiver (as served), frames of %d OFDM symbols:", frameSymbols))
            print(String(format: "air + combining: K=%d N_r=%d N_t=%d L=%d N_sc=%d S=%d, %d threads", devices, rxAntennas, txAntennas, streams, subcarriers, ofdmSymbols, threads))
            print(String(format: "  combiner's space: %.1f ms per pass, %.3g aggregated symbols/s, %.3g transmitted samples/s", median * 1e3, nsc * s * Double(streams) / median, nsc * s * Double(kn) / median))
            print(String(format: "  %.1f GFLOP/s of the air's work vs cgemm %.1f GFLOP/s (n=%d, OpenBLAS %@): %.0f%%", gflops, cgemm, cgemmSize, BLASRuntime.coreName, 100 * gflops / cgemm))
            print(String(format: "  antennas' path, noise at all %d antennas: %.1f ms per pass, %.1f GFLOP/s (%.0f%%); the combiner's space %.2f× faster", rxAntennas, medianAntennas * 1e3, flops / medianAntennas / 1e9, 100 * flops / medianAntennas / 1e9 / cgemm, medianAntennas / median))
            print(String(format: "  antennas' path, noise in the combined streams: %.1f ms per pass", medianAntennasQuiet * 1e3))
            print(String(format: "  batch cgemm form (all devices at once): %.1f ms per pass, %.1f GFLOP/s (%.0f%%)", medianBatch * 1e3, flops / medianBatch / 1e9, 100 * flops / medianBatch / 1e9 / cgemm))
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
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                Float.gemm(.none, .none, m: n, n: n, k: n, alpha: .one, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, beta: .zero, c: pc.baseAddress!, ldc: n)
            } } }
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if i > 0 { rates.append(8 * pow(Double(n), 3) / t / 1e9) }
        }
        return rates.max()!
    }
}

private func gaussian(_ g: inout SeededGenerator) -> Complex<Float> {
    Complex(Float(g.normal() * 0.5.squareRoot()), Float(g.normal() * 0.5.squareRoot()))
}
