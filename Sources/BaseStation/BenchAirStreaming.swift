import CommandLineSupport
import Dispatch
import Foundation
import LinearAlgebra
import Radio

/// `bench-air`'s streaming receiver: the paths `serve` can take, timed pass by pass in turns,
/// and the report.
extension BenchAirCommand {
    /// Median seconds per pass of each path that matters.
    struct StreamedMedians {
        /// The combiner's space, noise Aᴴz/√η drawn there: as served now.
        var combiner: Double
        /// The antennas' path, noise at every antenna: as served before.
        var antennas: Double
        /// The antennas' path, noise i.i.d. in the combined streams.
        var antennasStreamNoise: Double
    }

    /// The three paths take turns pass by pass, so a drift of the machine's speed (or OpenBLAS's
    /// threads still spinning after the cgemm peer) meets them alike; one warm-up pass each.
    func streamedMedians(channels: ChannelTensor, design: AirCompDesign, stacked: SubcarrierBlocks) throws
        -> StreamedMedians
    {
        let frames = (0..<devices).map { k -> [(first: Int, samples: [Float])] in
            var x = SubcarrierBlocks(subcarriers: subcarriers, rows: txAntennas, columns: ofdmSymbols)
            for n in 0..<subcarriers {
                for t in 0..<ofdmSymbols {
                    for a in 0..<txAntennas {
                        x[n, a, t] = stacked[n, k * txAntennas + a, t]
                    }
                }
            }
            return stride(from: 0, to: ofdmSymbols, by: frameSymbols).map { first in
                (first, x.symbolMajorSamples(first..<min(ofdmSymbols, first + frameSymbols)))
            }
        }
        let paths: [(ReceiverSpace, NoiseDomain)] = [
            (.combiner, .receiveAntennas), (.antennas, .receiveAntennas), (.antennas, .combinedStreams),
        ]
        var times = [[Double]](repeating: [], count: paths.count)
        for pass in 0...passes {
            for (i, path) in paths.enumerated() {
                let seconds = try streamedPass(
                    path.0, path.1, round: pass, channels: channels, design: design, frames: frames)
                if pass > 0 { times[i].append(seconds) }
            }
        }
        let m = times.map { $0.sorted()[$0.count / 2] }
        return StreamedMedians(combiner: m[0], antennas: m[1], antennasStreamNoise: m[2])
    }

    /// One pass of the streaming receiver `serve` runs: every device's frames summed exactly as
    /// they come, then the round's end (seconds, the receiver's construction included, as a
    /// served round builds it).
    func streamedPass(
        _ space: ReceiverSpace, _ domain: NoiseDomain, round pass: Int, channels: ChannelTensor, design: AirCompDesign,
        frames: [[(first: Int, samples: [Float])]]
    ) throws -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let perFrameSymbol = 2 * subcarriers * txAntennas
        let receiver = try StreamingReceiver(
            air: .overTheAir(channels: channels, design: design, noisePowerW: noisePowerW, noiseDomain: domain),
            symbols: ofdmSymbols, reals: 2 * streams * subcarriers * ofdmSymbols, scale: 1, seed: 1, round: pass,
            threads: threads,
            measuring: false, space: space)
        for i in frames[0].indices {
            for d in 0..<devices {
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
            print(
                space.rawValue, "adds", Double(mid - t0) / 1e6, "drain", Double(drained - mid) / 1e6, "finish",
                Double(end - drained) / 1e6, "ms")
        }
        return Double(end - t0) / 1e9
    }

    /// The figures, as JSON or text. GFLOP/s count the air's own work (Σ_k H_k x_k and the
    /// combining, 8·N_sc·S·N_r·(K·N_t + L)) whichever path computes it.
    func report(_ m: StreamedMedians, batch: Double, cgemm: Double) throws {
        let s = Double(ofdmSymbols)
        let nsc = Double(subcarriers)
        let kn = Double(devices * txAntennas)
        let flops = nsc * 8 * s * (Double(rxAntennas) * kn + Double(streams) * Double(rxAntennas))
        let gflops = flops / m.combiner / 1e9
        if json {
            try printJSON(
                BenchAirReport(
                    devices: devices, rxAntennas: rxAntennas, txAntennas: txAntennas, streams: streams,
                    subcarriers: subcarriers, ofdmSymbols: ofdmSymbols, threads: threads, passes: passes,
                    receiver: ReceiverSpace.combiner.rawValue, secondsPerPass: m.combiner,
                    symbolsPerS: nsc * s * Double(streams) / m.combiner,
                    transmittedSamplesPerS: nsc * s * kn / m.combiner, gflops: gflops,
                    secondsPerPassAntennas: m.antennas, gflopsAntennas: flops / m.antennas / 1e9,
                    speedupOverAntennas: m.antennas / m.combiner,
                    secondsPerPassAntennasCombinedNoise: m.antennasStreamNoise, frameSymbols: frameSymbols,
                    secondsPerPassBatchCgemm: batch, gflopsBatchCgemm: flops / batch / 1e9, cgemmGflops: cgemm,
                    cgemmSize: cgemmSize, fractionOfCgemm: gflops / cgemm, blasCore: BLASRuntime.coreName))
            return
        }
        print(String(format: "streaming receiver (as served), frames of %d OFDM symbols:", frameSymbols))
        print(
            String(
                format: "air + combining: K=%d N_r=%d N_t=%d L=%d N_sc=%d S=%d, %d threads", devices, rxAntennas,
                txAntennas, streams, subcarriers, ofdmSymbols, threads))
        print(
            String(
                format: "  combiner's space: %.1f ms per pass, %.3g aggregated symbols/s, %.3g transmitted samples/s",
                m.combiner * 1e3, nsc * s * Double(streams) / m.combiner, nsc * s * kn / m.combiner))
        print(
            String(
                format: "  %.1f GFLOP/s of the air's work vs cgemm %.1f GFLOP/s (n=%d, OpenBLAS %@): %.0f%%", gflops,
                cgemm, cgemmSize, BLASRuntime.coreName, 100 * gflops / cgemm))
        print(
            String(
                format:
                    "  antennas' path, noise at all %d antennas: %.1f ms per pass, %.1f GFLOP/s (%.0f%%); the "
                    + "combiner's space %.2f× faster",
                rxAntennas, m.antennas * 1e3, flops / m.antennas / 1e9, 100 * flops / m.antennas / 1e9 / cgemm,
                m.antennas / m.combiner))
        print(
            String(
                format: "  antennas' path, noise in the combined streams: %.1f ms per pass", m.antennasStreamNoise * 1e3
            ))
        print(
            String(
                format: "  batch cgemm form (all devices at once): %.1f ms per pass, %.1f GFLOP/s (%.0f%%)",
                batch * 1e3, flops / batch / 1e9, 100 * flops / batch / 1e9 / cgemm))
    }
}

/// `bench-air --json`: one pass of the air and combining over `ofdm_symbols` OFDM symbols, as
/// served (the combiner's space) and on the antennas' path, seconds per pass (median), the rates
/// it sustains, GFLOP/s of the air's work, and the cgemm peer measured in the same run.
struct BenchAirReport: Encodable {
    var devices: Int
    var rxAntennas: Int
    var txAntennas: Int
    var streams: Int
    var subcarriers: Int
    var ofdmSymbols: Int
    var threads: Int
    var passes: Int
    var receiver: String
    var secondsPerPass: Double
    var symbolsPerS: Double
    var transmittedSamplesPerS: Double
    var gflops: Double
    var secondsPerPassAntennas: Double
    var gflopsAntennas: Double
    var speedupOverAntennas: Double
    var secondsPerPassAntennasCombinedNoise: Double
    var frameSymbols: Int
    var secondsPerPassBatchCgemm: Double
    var gflopsBatchCgemm: Double
    var cgemmGflops: Double
    var cgemmSize: Int
    var fractionOfCgemm: Double
    var blasCore: String

    enum CodingKeys: String, CodingKey {
        case devices
        case rxAntennas = "rx_antennas"
        case txAntennas = "tx_antennas"
        case streams, subcarriers
        case ofdmSymbols = "ofdm_symbols"
        case threads, passes, receiver
        case secondsPerPass = "seconds_per_pass"
        case symbolsPerS = "symbols_per_s"
        case transmittedSamplesPerS = "transmitted_samples_per_s"
        case gflops
        case secondsPerPassAntennas = "seconds_per_pass_antennas"
        case gflopsAntennas = "gflops_antennas"
        case speedupOverAntennas = "speedup_over_antennas"
        case secondsPerPassAntennasCombinedNoise = "seconds_per_pass_antennas_combined_noise"
        case frameSymbols = "frame_symbols"
        case secondsPerPassBatchCgemm = "seconds_per_pass_batch_cgemm"
        case gflopsBatchCgemm = "gflops_batch_cgemm"
        case cgemmGflops = "cgemm_gflops"
        case cgemmSize = "cgemm_size"
        case fractionOfCgemm = "fraction_of_cgemm"
        case blasCore = "blas_core"
    }
}
