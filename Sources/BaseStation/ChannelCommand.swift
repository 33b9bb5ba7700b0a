import ArgumentParser
import CommandLineSupport
import Foundation
import Radio

/// `basestation channel`: draws seeded channels, writes them as `.npy`, prints their statistics.
struct ChannelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel",
        abstract: "Draw MIMO-OFDM channels, save them as .npy (N_sc, K, N_r, N_t) complex64, print statistics.")

    @OptionGroup var channel: ChannelOptions
    @OptionGroup var logging: LogOptions
    @Option(help: "Round to draw (the channel evolves round by round from round 0).")
    var round: Int = 0
    @Option(help: "Output .npy file.")
    var out: String?
    @Flag(help: "Print statistics as JSON.")
    var json = false

    func run() throws {
        try failing {
            let log = logging.logger("basestation.channel")
            let scenario = try channel.resolve()
            guard round >= 0 else { throw ValidationError("--round must be ≥ 0") }
            var model = try ChannelModel(configuration: scenario.channel, seed: scenario.seed)
            model.advance(to: round)
            let tensor = model.frequencyResponse()
            if let out {
                try tensor.save(npy: out)
                log.info(
                    "wrote \(out)",
                    metadata: [
                        "shape":
                            "\([tensor.subcarriers, tensor.devices, tensor.receiveAntennas, tensor.transmitAntennas])"
                    ])
            }
            let stats = ChannelStatistics(model: model, tensor: tensor)
            let c = scenario.channel
            if json {
                try printJSON(
                    ChannelReport(
                        seed: scenario.seed, round: round,
                        shape: [tensor.subcarriers, tensor.devices, tensor.receiveAntennas, tensor.transmitAntennas],
                        profile: c.profile.rawValue, meanGain: stats.meanGain,
                        meanGainDb: stats.meanGain.map { 10 * log10($0) }, delaySpreadS: stats.delaySpreadS,
                        coherenceBandwidthHz: stats.coherenceBandwidthHz, noisePowerW: c.noisePowerW,
                        distanceM: model.distancesM, lineOfSight: model.lineOfSight, pathLossDb: model.lossDB,
                        timeCorrelation: model.timeCorrelation, out: out))
                return
            }
            print(
                "channels: N_sc=\(tensor.subcarriers) K=\(tensor.devices) N_r=\(tensor.receiveAntennas) "
                    + "N_t=\(tensor.transmitAntennas), \(c.profile.rawValue), seed \(scenario.seed), round \(round)"
            )
            for k in 0..<tensor.devices {
                print(
                    String(
                        format: "  device %2d: %6.1f m  %@  loss %6.1f dB  mean gain %7.1f dB", k, model.distancesM[k],
                        model.lineOfSight[k] ? "LOS " : "NLOS", model.lossDB[k], 10 * log10(stats.meanGain[k])))
            }
            print(
                String(
                    format: "  RMS delay spread %.1f ns, coherence bandwidth %@, noise %.3g W per subcarrier",
                    stats.delaySpreadS * 1e9,
                    stats.coherenceBandwidthHz.map { String(format: "%.1f kHz", $0 / 1e3) } ?? "> band", c.noisePowerW))
        }
    }
}

/// `channel --json`: the drawn channels' statistics (mean gain per device, linear and in dB; the
/// delay spread in seconds and coherence bandwidth in Hz; noise power in W per subcarrier) and
/// each device's large-scale geometry.
struct ChannelReport: Encodable {
    var seed: UInt64
    var round: Int
    /// [N_sc, K, N_r, N_t].
    var shape: [Int]
    var profile: String
    var meanGain: [Double]
    var meanGainDb: [Double]
    var delaySpreadS: Double
    @Nullable var coherenceBandwidthHz: Double?
    var noisePowerW: Double
    var distanceM: [Double]
    var lineOfSight: [Bool]
    var pathLossDb: [Double]
    var timeCorrelation: Double
    /// The .npy file the channels were written to, if any.
    @Nullable var out: String?

    enum CodingKeys: String, CodingKey {
        case seed, round, shape, profile
        case meanGain = "mean_gain"
        case meanGainDb = "mean_gain_db"
        case delaySpreadS = "delay_spread_s"
        case coherenceBandwidthHz = "coherence_bandwidth_hz"
        case noisePowerW = "noise_power_w"
        case distanceM = "distance_m"
        case lineOfSight = "line_of_sight"
        case pathLossDb = "path_loss_db"
        case timeCorrelation = "time_correlation"
        case out
    }
}
