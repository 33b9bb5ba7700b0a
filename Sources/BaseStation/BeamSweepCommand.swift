import ArgumentParser
import CommandLineSupport
import Foundation
import HardwareProfiles
import Radio

/// `basestation beam-sweep`: the radio alone. For each number of base-station antennas N_r and
/// each of many channel draws, every receive beamformer's aggregation MSE σ²·L·max_k w_k² tr((Aᴴ G_k A)⁻¹)/P_k
/// (the closed form the served MSE matches), averaged over subcarriers; writes a CSV, an SVG and a
/// REPORT.md (experiment `radio` of launch/experiments.sh).
struct BeamSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beam-sweep",
        abstract:
            "Aggregation MSE of every receive beamformer against N_r over many channel draws (no model, no nodes).")

    @Option(help: "Scenario TOML: its [channel] table, and its [[nodes]] profiles for K, N_t and the transmit powers.")
    var scenario: String
    @Option(help: "N_r values, comma-separated.") var antennas: String = "4,8,16,32"
    @Option(help: "Channel draws per N_r (seeds 1…N).") var draws: Int = 32
    @Option(help: "Beamformers, comma-separated.") var methods: String = "manifold,eigen,weakest,random"
    @Option(help: "Scenario overrides TABLE.KEY=VALUE (as serve's --set).") var set: [String] = []
    @Option(help: "Output directory (beam-sweep.csv, mse.svg, REPORT.md).") var out: String

    func run() throws {
        try failing {
            let s = try Scenario.load(scenario, overrides: set)
            let counts = antennas.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let chosen = try methods.split(separator: ",").map { name -> ReceiveBeamformer.Method in
                guard let m = ReceiveBeamformer.Method(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError(
                        "--methods: unknown beamformer '\(name)' (known: "
                            + "\(ReceiveBeamformer.Method.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                return m
            }
            guard !counts.isEmpty, counts.allSatisfy({ (1...256).contains($0) }) else {
                throw ValidationError("--antennas must list N_r values in 1…256")
            }
            guard (1...10_000).contains(draws) else { throw ValidationError("--draws must be in 1…10000") }
            let directory = URL(fileURLWithPath: scenario).deletingLastPathComponent().path
            let profiles = try s.nodeProfiles(relativeTo: directory)
            var channel = s.channel
            if !profiles.isEmpty {
                channel.devices = profiles.count
                channel.transmitAntennas = profiles.map(\.antennas).min()!
            }
            let power =
                profiles.isEmpty
                ? try s.aircomp.powerW(devices: channel.devices)
                : profiles.map(\.txPowerW)
            let streams = s.aircomp.streams
            let sigma2 = s.noisePowerW
            var csv = "rx_antennas,method,draw,mse\n"
            // mse[method][N_r index] over the draws
            var mse = [[[Double]]](repeating: [[Double]](repeating: [], count: counts.count), count: chosen.count)
            for (i, n) in counts.enumerated() {
                channel.receiveAntennas = n
                try channel.validate()
                for d in 1...draws {
                    let h = try ChannelModel(configuration: channel, seed: UInt64(d)).frequencyResponse()
                    for (m, method) in chosen.enumerated() {
                        let r = try ReceiveBeamformer.solve(
                            channels: h, streams: streams, powerW: power, method: method, seed: UInt64(d))
                        let value = sigma2 * Double(streams) * r.objectiveMean
                        mse[m][i].append(value)
                        csv += "\(n),\(method.rawValue),\(d),\(String(format: "%.6g", value))\n"
                    }
                }
                FileHandle.standardError.write(Data("beam-sweep: N_r = \(n) done (\(draws) draws)\n".utf8))
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try RunRecorder.write(csv, to: out + "/beam-sweep.csv")
            var plot = SVGPlot(
                title: "Aggregation MSE against BS antennas (mean over \(draws) draws, band: 10–90 %)",
                xLabel: "BS antennas N_r", yLabel: "MSE per unit-power symbol", series: [])
            (plot.xLog, plot.yLog) = (true, true)
            var md = "# Experiment `radio`: receive beamformers against N_r\n\n"
            md +=
                "Scenario `\(scenario)` (K = \(channel.devices), N_t = \(channel.transmitAntennas), L = \(streams), "
                + "N_sc = \(channel.subcarriers), \(channel.profile.rawValue)); "
            md +=
                "\(draws) channel draws (seeds 1…\(draws)) per N_r; MSE = σ²·L·max_k w_k² tr((Aᴴ G_k A)⁻¹)/P_k "
                + "averaged over subcarriers (the closed form the served MSE matches).\n"
            md +=
                "Machine: \(MachineDescription.cpuModel()). Command: `basestation beam-sweep --scenario \(scenario) "
                + "--antennas \(antennas) --draws \(draws) --methods \(methods) --out DIR`.\n\n"
            md +=
                "| N_r | " + chosen.map { "\($0.rawValue) (mean, [10 %, 90 %])" }.joined(separator: " | ")
                + " | manifold ÷ best other |\n"
            md += "| ---: |" + String(repeating: " ---: |", count: chosen.count + 1) + "\n"
            for (i, n) in counts.enumerated() {
                let means = chosen.indices.map { mse[$0][i].reduce(0, +) / Double(draws) }
                let cells = chosen.indices.map { m -> String in
                    let q = Self.quantiles(mse[m][i])
                    return String(format: "%.3g [%.3g, %.3g]", means[m], q.low, q.high)
                }
                let others = chosen.indices.filter { chosen[$0] != .manifold }.map { means[$0] }
                let ratio =
                    chosen.firstIndex(of: .manifold).flatMap { m in
                        others.min().map { String(format: "%.3f", means[m] / $0) }
                    } ?? "—"
                md += "| \(n) | " + cells.joined(separator: " | ") + " | \(ratio) |\n"
            }
            for (m, method) in chosen.enumerated() {
                plot.series.append(
                    (
                        method.rawValue,
                        counts.indices.map { (Double(counts[$0]), mse[m][$0].reduce(0, +) / Double(draws)) }
                    ))
                plot.bands.append(
                    counts.indices.map { i in
                        let q = Self.quantiles(mse[m][i])
                        return (Double(counts[i]), q.low, q.high)
                    })
            }
            md += "\n![aggregation MSE against N_r](mse.svg)\n\nRaw numbers: `beam-sweep.csv`.\n"
            try RunRecorder.write(plot.render(), to: out + "/mse.svg")
            try RunRecorder.write(md, to: out + "/REPORT.md")
        }
    }

    /// The 10th and 90th percentiles (nearest rank).
    static func quantiles(_ values: [Double]) -> (low: Double, high: Double) {
        let v = values.sorted()
        guard !v.isEmpty else { return (.nan, .nan) }
        func at(_ p: Double) -> Double { v[min(v.count - 1, max(0, Int((p * Double(v.count)).rounded(.up)) - 1))] }
        return (at(0.1), at(0.9))
    }
}
