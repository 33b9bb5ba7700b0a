import ArgumentParser
import CommandLineSupport
import Foundation
import Radio
import Randomness

/// `basestation demo`: the radio demonstration. Draws the scenario's channels, sends random
/// updates over the air round by round, and compares the measured aggregation MSE with σ²·L/η.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Send random updates over the emulated MIMO-OFDM air; print measured vs predicted MSE.")

    @OptionGroup var channel: ChannelOptions
    @OptionGroup var logging: LogOptions
    @Option(help: "Rounds to run (the channel evolves between rounds).")
    var rounds: Int = 3
    @Option(help: "L, streams per subcarrier (overrides the scenario).")
    var streams: Int?
    @Option(help: "D, reals per device update (overrides the scenario).")
    var updateReals: Int?
    @Option(help: "Device transmit power budget in dBm (overrides the scenario).")
    var powerDbm: Double?
    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        try failing {
            let log = logging.logger("basestation.demo")
            var scenario = try channel.resolve()
            if let v = streams { scenario.aircomp.streams = v }
            if let v = updateReals { scenario.aircomp.updateReals = v }
            if let v = powerDbm { scenario.aircomp.powerDBm = [v] }
            guard rounds >= 1 else { throw ValidationError("--rounds must be ≥ 1") }
            let c = scenario.channel
            let a = scenario.aircomp
            let power = try a.powerW(devices: c.devices)
            let noise = scenario.noisePowerW
            var model = try ChannelModel(configuration: c, seed: scenario.seed)
            if !json {
                print(
                    "AirComp demo: K=\(c.devices) devices × N_t=\(c.transmitAntennas) → BS N_r=\(c.receiveAntennas), "
                        + "N_sc=\(c.subcarriers), L=\(a.streams), D=\(a.updateReals) reals, \(c.profile.rawValue) "
                        + "\(Int(c.delaySpreadS * 1e9)) ns, \(c.pathLoss?.rawValue ?? "no path loss"), seed "
                        + "\(scenario.seed)"
                )
                print(
                    String(
                        format: "noise σ² = %.3g W per subcarrier, power %@ dBm per device, CSI NMSE %.3g", noise,
                        a.powerDBm.map { String(format: "%.1f", $0) }.joined(separator: "/"), c.csiNMSE))
                print("round  OFDM-symbols  measured-MSE  predicted-MSE  ratio   update-NMSE   time")
            }
            var results = [DemoReport.Round]()
            for r in 0..<rounds {
                if r > 0 { model.advance() }
                let start = DispatchTime.now()
                let h = model.frequencyResponse()
                let hHat = h.estimated(nmse: c.csiNMSE, seed: scenario.seed, round: r)
                let beamformers = try ReceiveBeamformer.eigen(channels: hHat, streams: a.streams, powerW: power)
                var g = SeededGenerator(seed: scenario.seed, stream: [RandomStream.update.rawValue, UInt64(r)])
                let updates = (0..<c.devices).map { _ in (0..<a.updateReals).map { _ in Float(0.01 * g.normal()) } }
                let result = try AirCompRound(
                    updates: updates, channels: h, estimate: hHat, beamformers: beamformers, powerW: power,
                    noisePowerW: noise, seed: scenario.seed, round: r)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
                let measured = result.measuredMSE.reduce(0, +) / Double(c.subcarriers)
                let predicted = result.predictedMSE.reduce(0, +) / Double(c.subcarriers)
                log.debug("round done", metadata: ["round": "\(r)", "seconds": "\(seconds)"])
                results.append(
                    .init(
                        round: r, ofdmSymbols: result.ofdmSymbols, scale: Double(result.scale), mseMeasured: measured,
                        msePredicted: predicted, mseRatio: result.mseRatio, updateNmse: result.normalisedError,
                        seconds: seconds))
                if !json {
                    print(
                        String(
                            format: "%5d  %12d  %12.4g  %13.4g  %5.3f  %11.4g  %5.2fs", r, result.ofdmSymbols, measured,
                            predicted, result.mseRatio, result.normalisedError, seconds))
                }
            }
            if json {
                try printJSON(
                    DemoReport(
                        seed: scenario.seed, devices: c.devices, streams: a.streams, subcarriers: c.subcarriers,
                        noisePowerW: noise, rounds: results))
            } else {
                print(
                    "measured MSE: mean over subcarriers of ‖ŝ − Σ w_k s_k‖² per OFDM symbol; predicted: σ²·L/η[n] "
                        + "(exact for perfect CSI)."
                )
            }
        }
    }
}

/// `demo --json`: each AirComp round's measured MSE (mean over subcarriers of ‖ŝ − Σ w_k s_k‖² per
/// OFDM symbol) beside the closed form σ²L/η, the update's normalised error, and seconds per round.
struct DemoReport: Encodable {
    var seed: UInt64
    var devices: Int
    var streams: Int
    var subcarriers: Int
    var noisePowerW: Double
    var rounds: [Round]

    struct Round: Encodable {
        var round: Int
        var ofdmSymbols: Int
        var scale: Double
        var mseMeasured: Double
        var msePredicted: Double
        var mseRatio: Double
        var updateNmse: Double
        var seconds: Double

        enum CodingKeys: String, CodingKey {
            case round
            case ofdmSymbols = "ofdm_symbols"
            case scale
            case mseMeasured = "mse_measured"
            case msePredicted = "mse_predicted"
            case mseRatio = "mse_ratio"
            case updateNmse = "update_nmse"
            case seconds
        }
    }

    enum CodingKeys: String, CodingKey {
        case seed, devices, streams, subcarriers
        case noisePowerW = "noise_power_w"
        case rounds
    }
}
