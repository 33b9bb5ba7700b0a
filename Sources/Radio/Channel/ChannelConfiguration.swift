import Configuration

/// Everything that defines a drawn MIMO-OFDM uplink channel (the `[channel]` table of a scenario).
///
/// Decoding accepts the snake_case keys named in `CodingKeys`; a missing key keeps its default, an
/// unknown key or an out-of-range value is an error that names the key.
public struct ChannelConfiguration: Equatable, Sendable {
    /// N_sc, subcarriers used by the uplink.
    public var subcarriers = 64
    /// Δf in Hz.
    public var subcarrierSpacingHz = 30e3
    /// Carrier frequency f_c in Hz (path loss and nothing else).
    public var carrierHz = 3.5e9
    /// N_r, base-station antennas.
    public var receiveAntennas = 16
    /// N_t, antennas of each device.
    public var transmitAntennas = 4
    /// K, devices.
    public var devices = 4
    /// Power-delay profile of the small-scale fading.
    public var profile: TDLProfile = .a
    /// Desired RMS delay spread in seconds; the profile's normalised delays are multiplied by it.
    public var delaySpreadS = 100e-9
    /// Exponential correlation coefficient ρ between neighbouring BS antennas, in [0, 1).
    public var receiveCorrelation = 0.0
    /// Exponential correlation coefficient between neighbouring device antennas, in [0, 1).
    public var transmitCorrelation = 0.0
    /// Large-scale model; nil means unit mean gain (no path loss, no shadowing).
    public var pathLoss: PathLossScenario? = .umi
    /// Device distances from the BS in metres; nil draws them uniformly over the annulus below.
    public var distancesM: [Double]? = nil
    /// Annulus the device positions are drawn from when `distancesM` is nil, metres.
    public var minDistanceM = 20.0
    public var maxDistanceM = 150.0
    /// Whether to draw log-normal shadowing.
    public var shadowing = true
    /// Line-of-sight state of each device, drawn from 38.901's LOS probability or forced; it sets the
    /// path loss and shadowing and, under TDL-D/E, whether the device has a specular path.
    public var lineOfSight: LineOfSightMode = .auto
    /// Receiver noise figure in dB.
    public var noiseFigureDB = 7.0
    /// Receiver noise temperature in kelvin.
    public var temperatureK = 290.0
    /// Maximum Doppler shift in Hz; 0 means block fading (a fresh draw each round).
    public var dopplerHz = 0.0
    /// Time between rounds in seconds (AR(1) correlation ρ = J0(2π f_D T)).
    public var roundIntervalS = 1.0
    /// NMSE of the channel estimate at the BS: Ĥ = H + E, E‖E‖² = nmse · E‖H‖². 0 is perfect CSI.
    public var csiNMSE = 0.0

    public init() {}

    /// How the LOS state of each device's path loss is chosen.
    public enum LineOfSightMode: String, Codable, Sendable, CaseIterable {
        case auto, always, never
    }

    /// Thermal noise power per subcarrier and receive antenna, σ² = k·T·Δf·NF, in watts.
    public var noisePowerW: Double {
        ThermalNoise.power(bandwidthHz: subcarrierSpacingHz, noiseFigureDB: noiseFigureDB, temperatureK: temperatureK)
    }

    /// Checks every value; the error names the key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ problem: String) throws {
            if !ok { throw ConfigurationError(key: key.rawValue, problem: problem) }
        }
        // Upper bounds: NR's widest carrier (275 resource blocks × 12), a massive-MIMO array, a
        // large device; what fits this machine's memory is checked where the run is planned.
        try check(
            (1...3300).contains(subcarriers), .subcarriers,
            "must be in 1…3300 (NR's 275 resource blocks × 12), got \(subcarriers)")
        try check(
            subcarrierSpacingHz > 0 && subcarrierSpacingHz.isFinite, .subcarrierSpacingHz,
            "must be a positive frequency in Hz, got \(subcarrierSpacingHz)")
        try check(
            carrierHz >= 0.5e9 && carrierHz <= 100e9, .carrierHz, "38.901 covers 0.5–100 GHz, got \(carrierHz) Hz")
        try check((1...1024).contains(receiveAntennas), .receiveAntennas, "must be in 1…1024, got \(receiveAntennas)")
        try check((1...64).contains(transmitAntennas), .transmitAntennas, "must be in 1…64, got \(transmitAntennas)")
        try check((1...4096).contains(devices), .devices, "must be in 1…4096, got \(devices)")
        try check(
            delaySpreadS >= 0 && delaySpreadS < 1e-3, .delaySpreadS, "must be in [0, 1 ms), got \(delaySpreadS) s")
        try check(
            receiveCorrelation >= 0 && receiveCorrelation < 1, .receiveCorrelation,
            "must be in [0, 1), got \(receiveCorrelation)")
        try check(
            transmitCorrelation >= 0 && transmitCorrelation < 1, .transmitCorrelation,
            "must be in [0, 1), got \(transmitCorrelation)")
        if let d = distancesM {
            try check(d.count == devices, .distancesM, "has \(d.count) entries for \(devices) devices")
            try check(d.allSatisfy { $0 >= 10 && $0 <= 5000 }, .distancesM, "every distance must be in [10, 5000] m")
        }
        try check(minDistanceM >= 10, .minDistanceM, "must be at least 10 m (38.901's range), got \(minDistanceM)")
        try check(
            maxDistanceM >= minDistanceM && maxDistanceM <= 5000, .maxDistanceM,
            "must be in [min_distance_m, 5000] m, got \(maxDistanceM)")
        try check(
            noiseFigureDB >= 0 && noiseFigureDB < 40, .noiseFigureDB, "must be in [0, 40) dB, got \(noiseFigureDB)")
        try check(
            temperatureK > 0 && temperatureK < 1e4, .temperatureK,
            "must be a positive temperature in K, got \(temperatureK)")
        try check(dopplerHz >= 0 && dopplerHz.isFinite, .dopplerHz, "must be ≥ 0 Hz, got \(dopplerHz)")
        try check(
            roundIntervalS > 0 && roundIntervalS.isFinite, .roundIntervalS, "must be > 0 s, got \(roundIntervalS)")
        try check(csiNMSE >= 0 && csiNMSE.isFinite, .csiNMSE, "must be ≥ 0, got \(csiNMSE)")
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case subcarriers
        case subcarrierSpacingHz = "subcarrier_spacing_hz"
        case carrierHz = "carrier_hz"
        case receiveAntennas = "rx_antennas"
        case transmitAntennas = "tx_antennas"
        case devices
        case profile
        case delaySpreadS = "delay_spread_s"
        case receiveCorrelation = "rx_correlation"
        case transmitCorrelation = "tx_correlation"
        case pathLoss = "path_loss"
        case distancesM = "distances_m"
        case minDistanceM = "min_distance_m"
        case maxDistanceM = "max_distance_m"
        case shadowing
        case lineOfSight = "line_of_sight"
        case noiseFigureDB = "noise_figure_db"
        case temperatureK = "temperature_k"
        case dopplerHz = "doppler_hz"
        case roundIntervalS = "round_interval_s"
        case csiNMSE = "csi_nmse"
    }
}

extension ChannelConfiguration: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        var s = ChannelConfiguration()
        try c.update(&s.subcarriers, forKey: .subcarriers)
        s.subcarrierSpacingHz = try c.decodeNumberIfPresent(forKey: .subcarrierSpacingHz) ?? s.subcarrierSpacingHz
        s.carrierHz = try c.decodeNumberIfPresent(forKey: .carrierHz) ?? s.carrierHz
        try c.update(&s.receiveAntennas, forKey: .receiveAntennas)
        try c.update(&s.transmitAntennas, forKey: .transmitAntennas)
        try c.update(&s.devices, forKey: .devices)
        s.profile = try c.decodeIfPresent(TDLProfile.self, forKey: .profile) ?? s.profile
        s.delaySpreadS = try c.decodeNumberIfPresent(forKey: .delaySpreadS) ?? s.delaySpreadS
        s.receiveCorrelation = try c.decodeNumberIfPresent(forKey: .receiveCorrelation) ?? s.receiveCorrelation
        s.transmitCorrelation = try c.decodeNumberIfPresent(forKey: .transmitCorrelation) ?? s.transmitCorrelation
        if let pl = try c.decodeIfPresent(String.self, forKey: .pathLoss) {
            if pl == "none" {
                s.pathLoss = nil
            } else if let m = PathLossScenario(rawValue: pl) {
                s.pathLoss = m
            } else {
                throw ConfigurationError(
                    key: CodingKeys.pathLoss.rawValue, problem: "must be one of UMi, UMa, none; got \"\(pl)\"")
            }
        }
        s.distancesM = try c.decodeNumbersIfPresent(forKey: .distancesM) ?? s.distancesM
        s.minDistanceM = try c.decodeNumberIfPresent(forKey: .minDistanceM) ?? s.minDistanceM
        s.maxDistanceM = try c.decodeNumberIfPresent(forKey: .maxDistanceM) ?? s.maxDistanceM
        s.shadowing = try c.decodeIfPresent(Bool.self, forKey: .shadowing) ?? s.shadowing
        s.lineOfSight = try c.decodeIfPresent(LineOfSightMode.self, forKey: .lineOfSight) ?? s.lineOfSight
        s.noiseFigureDB = try c.decodeNumberIfPresent(forKey: .noiseFigureDB) ?? s.noiseFigureDB
        s.temperatureK = try c.decodeNumberIfPresent(forKey: .temperatureK) ?? s.temperatureK
        s.dopplerHz = try c.decodeNumberIfPresent(forKey: .dopplerHz) ?? s.dopplerHz
        s.roundIntervalS = try c.decodeNumberIfPresent(forKey: .roundIntervalS) ?? s.roundIntervalS
        s.csiNMSE = try c.decodeNumberIfPresent(forKey: .csiNMSE) ?? s.csiNMSE
        try s.validate()
        self = s
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(subcarriers, forKey: .subcarriers)
        try c.encode(subcarrierSpacingHz, forKey: .subcarrierSpacingHz)
        try c.encode(carrierHz, forKey: .carrierHz)
        try c.encode(receiveAntennas, forKey: .receiveAntennas)
        try c.encode(transmitAntennas, forKey: .transmitAntennas)
        try c.encode(devices, forKey: .devices)
        try c.encode(profile, forKey: .profile)
        try c.encode(delaySpreadS, forKey: .delaySpreadS)
        try c.encode(receiveCorrelation, forKey: .receiveCorrelation)
        try c.encode(transmitCorrelation, forKey: .transmitCorrelation)
        try c.encode(pathLoss?.rawValue ?? "none", forKey: .pathLoss)
        try c.encodeIfPresent(distancesM, forKey: .distancesM)
        try c.encode(minDistanceM, forKey: .minDistanceM)
        try c.encode(maxDistanceM, forKey: .maxDistanceM)
        try c.encode(shadowing, forKey: .shadowing)
        try c.encode(lineOfSight, forKey: .lineOfSight)
        try c.encode(noiseFigureDB, forKey: .noiseFigureDB)
        try c.encode(temperatureK, forKey: .temperatureK)
        try c.encode(dopplerHz, forKey: .dopplerHz)
        try c.encode(roundIntervalS, forKey: .roundIntervalS)
        try c.encode(csiNMSE, forKey: .csiNMSE)
    }
}
