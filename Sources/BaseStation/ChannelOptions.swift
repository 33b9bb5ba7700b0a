import ArgumentParser
import Configuration
import Radio

/// Where a command's channel comes from: a scenario file, overridden by flags.
struct ChannelOptions: ParsableArguments {
    @Option(help: "Scenario TOML file ([channel] and [aircomp] tables, seed).")
    var scenario: String?
    @Option(help: "Random seed (overrides the scenario's).")
    var seed: UInt64?
    @Option(help: "N_sc, number of subcarriers.")
    var subcarriers: Int?
    @Option(help: "Δf, subcarrier spacing in kHz.")
    var subcarrierSpacingKhz: Double?
    @Option(help: "Carrier frequency in GHz.")
    var carrierGhz: Double?
    @Option(help: "K, number of devices.")
    var devices: Int?
    @Option(help: "N_r, base-station antennas.")
    var rxAntennas: Int?
    @Option(help: "N_t, antennas per device.")
    var txAntennas: Int?
    @Option(help: "Power-delay profile: TDL-A, TDL-B, TDL-C, TDL-D, TDL-E.")
    var profile: String?
    @Option(help: "RMS delay spread in ns.")
    var delaySpreadNs: Double?
    @Option(help: "Path loss: UMi, UMa or none.")
    var pathLoss: String?
    @Option(help: "Exponential correlation between neighbouring BS antennas, [0, 1).")
    var rxCorrelation: Double?
    @Option(help: "Exponential correlation between neighbouring device antennas, [0, 1).")
    var txCorrelation: Double?
    @Option(help: "Maximum Doppler shift in Hz (0: block fading).")
    var dopplerHz: Double?
    @Option(help: "NMSE of the BS's channel estimate (0: perfect CSI).")
    var csiNmse: Double?

    /// The scenario with every given flag applied, validated.
    func resolve() throws -> Scenario {
        var s = try scenario.map { try Scenario.load($0) } ?? Scenario()
        if let v = seed { s.seed = v }
        var c = s.channel
        if let v = subcarriers { c.subcarriers = v }
        if let v = subcarrierSpacingKhz { c.subcarrierSpacingHz = v * 1e3 }
        if let v = carrierGhz { c.carrierHz = v * 1e9 }
        if let v = devices { c.devices = v }
        if let v = rxAntennas { c.receiveAntennas = v }
        if let v = txAntennas { c.transmitAntennas = v }
        if let v = profile {
            guard let p = TDLProfile(rawValue: v.uppercased()) ?? TDLProfile(rawValue: "TDL-" + v.uppercased()) else {
                throw ValidationError(
                    "--profile must be one of \(TDLProfile.allCases.map(\.rawValue).joined(separator: ", ")), got \(v)")
            }
            c.profile = p
        }
        if let v = delaySpreadNs { c.delaySpreadS = v * 1e-9 }
        if let v = pathLoss {
            if v.lowercased() == "none" {
                c.pathLoss = nil
            } else {
                guard let p = PathLossScenario.allCases.first(where: { $0.rawValue.lowercased() == v.lowercased() })
                else {
                    throw ValidationError("--path-loss must be UMi, UMa or none, got \(v)")
                }
                c.pathLoss = p
            }
        }
        if let v = rxCorrelation { c.receiveCorrelation = v }
        if let v = txCorrelation { c.transmitCorrelation = v }
        if let v = dopplerHz { c.dopplerHz = v }
        if let v = csiNmse { c.csiNMSE = v }
        do { try c.validate() } catch let e as ConfigurationError {
            throw ValidationError("channel \(e.key): \(e.problem)")
        }
        s.channel = c
        return s
    }
}
