import Foundation

/// Deployment scenarios of 3GPP TR 38.901 for which path loss and LOS
/// probability are modelled.
public enum PathLossScenario: String, CaseIterable, Sendable, Codable {
    /// Urban micro-cell, street canyon (UMi-Street Canyon); BS below rooftops.
    case umi = "UMi"
    /// Urban macro-cell (UMa); BS above rooftops.
    case uma = "UMa"
}

/// Large-scale path loss, shadow fading and LOS probability of 3GPP TR 38.901
/// Section 7.4 for the UMi-Street Canyon and UMa scenarios.
///
/// Path loss follows Table 7.4.1-1 and the LOS probability Table 7.4.2-1. As
/// the table's notes prescribe, the carrier frequency enters the path-loss
/// formulas in GHz but the breakpoint distance in Hz, and all distances and
/// heights are in metres. The 3-D distance is derived from the 2-D distance
/// and the two antenna heights, so callers only supply ground distance.
///
/// The effective environment height is fixed to hE = 1 m. That is exact for
/// UMi and for UMa with hUT < 13 m; for taller UMa terminals the spec draws hE
/// at random per link (Note 1 of Table 7.4.1-1), which a deterministic model
/// cannot reproduce, so the hE = 1 m branch is used there as well.
///
/// The formulas are evaluated as written outside their validity range
/// (10 m <= d2D <= 5 km, 1.5 m <= hUT <= 22.5 m, 0.5 GHz <= fc <= 100 GHz):
/// the result is then an extrapolation, not a spec value.
public struct PathLossModel: Sendable {
    /// Deployment scenario.
    public var scenario: PathLossScenario

    /// Carrier frequency fc in Hz.
    public var carrierHz: Double

    /// Base-station antenna height hBS in metres.
    public var baseStationHeight: Double

    /// User-terminal antenna height hUT in metres.
    public var userHeight: Double

    /// Speed of light used by Note 1 of Table 7.4.1-1 (3.0e8 m/s, not the
    /// exact value, so that breakpoints match the spec's worked numbers).
    private static let speedOfLight = 3.0e8

    /// Effective environment height hE in metres (Table 7.4.1-1, Note 1).
    private static let environmentHeight = 1.0

    /// Creates a model.
    ///
    /// - Parameters:
    ///   - scenario: UMi-Street Canyon or UMa.
    ///   - carrierHz: Carrier frequency in Hz.
    ///   - baseStationHeight: hBS in metres; `nil` selects the height the
    ///     scenario's path loss and LOS probability were fitted for
    ///     (10 m for UMi, 25 m for UMa).
    ///   - userHeight: hUT in metres (default 1.5 m).
    public init(
        scenario: PathLossScenario, carrierHz: Double,
        baseStationHeight: Double? = nil, userHeight: Double = 1.5
    ) {
        precondition(carrierHz > 0, "carrier frequency must be positive")
        self.scenario = scenario
        self.carrierHz = carrierHz
        self.baseStationHeight = baseStationHeight ?? (scenario == .umi ? 10.0 : 25.0)
        self.userHeight = userHeight
    }

    /// Breakpoint distance d'BP in metres (Table 7.4.1-1, Note 1).
    ///
    /// d'BP = 4 h'BS h'UT fc / c with h' = h - hE and hE = 1 m. Beyond this
    /// distance the ground-reflected ray no longer adds in phase, so the LOS
    /// path loss switches from free-space-like to fourth-power decay.
    public var breakpointDistance: Double {
        let hBS = baseStationHeight - Self.environmentHeight
        let hUT = userHeight - Self.environmentHeight
        return 4.0 * hBS * hUT * carrierHz / Self.speedOfLight
    }

    /// Path loss in dB at 2-D (ground) distance `distance2D` in metres
    /// (Table 7.4.1-1).
    ///
    /// For NLOS the spec takes PL = max(PL_LOS, PL'_NLOS): the NLOS fit alone
    /// can fall below the LOS loss at short range, and a blocked link must
    /// never be better than an unobstructed one.
    ///
    /// - Parameters:
    ///   - distance2D: Horizontal BS-UT distance in metres (>= 0).
    ///   - lineOfSight: Whether the link is LOS.
    /// - Returns: Path loss in dB, without shadow fading.
    public func pathLossDB(distance2D: Double, lineOfSight: Bool) -> Double {
        precondition(distance2D >= 0, "distance must be non-negative")
        let los = lineOfSightPathLossDB(distance2D: distance2D)
        guard !lineOfSight else { return los }
        return max(los, nlosPrimePathLossDB(distance2D: distance2D))
    }

    /// Standard deviation of the log-normal shadow fading in dB
    /// (Table 7.4.1-1, column sigma_SF).
    ///
    /// - Parameter lineOfSight: Whether the link is LOS.
    /// - Returns: 4 dB for LOS; 7.82 dB for UMi NLOS and 6 dB for UMa NLOS.
    public func shadowingStdDB(lineOfSight: Bool) -> Double {
        switch (scenario, lineOfSight) {
        case (.umi, true), (.uma, true): return 4.0
        case (.umi, false): return 7.82
        case (.uma, false): return 6.0
        }
    }

    /// Probability that an outdoor link is LOS at 2-D distance `distance2D`
    /// in metres (Table 7.4.2-1).
    ///
    /// Within 18 m the link is always LOS. Beyond it, UMi decays with a 36 m
    /// scale and UMa with a 63 m scale; for UMa the factor C'(hUT) raises the
    /// probability for terminals above 13 m, which see over more obstacles.
    /// The table assumes hBS = 10 m (UMi) and 25 m (UMa); `baseStationHeight`
    /// is not an input.
    ///
    /// - Parameter distance2D: Horizontal BS-UT distance in metres (>= 0).
    /// - Returns: Probability in [0, 1].
    public func lineOfSightProbability(distance2D: Double) -> Double {
        precondition(distance2D >= 0, "distance must be non-negative")
        guard distance2D > 18.0 else { return 1.0 }
        let near = 18.0 / distance2D
        switch scenario {
        case .umi:
            return near + exp(-distance2D / 36.0) * (1.0 - near)
        case .uma:
            let base = near + exp(-distance2D / 63.0) * (1.0 - near)
            let tallTerminal =
                Self.heightFactor(userHeight: userHeight)
                * 5.0 / 4.0 * pow(distance2D / 100.0, 3.0) * exp(-distance2D / 150.0)
            // The spec's product overshoots 1 just beyond 18 m for tall
            // terminals (about 1.006 at hUT = 23 m), so clamp it.
            return min(1.0, base * (1.0 + tallTerminal))
        }
    }

    // MARK: - Private

    /// C'(hUT) of Table 7.4.2-1: 0 for hUT <= 13 m, ((hUT - 13)/10)^1.5 above.
    private static func heightFactor(userHeight: Double) -> Double {
        userHeight <= 13.0 ? 0.0 : pow((userHeight - 13.0) / 10.0, 1.5)
    }

    /// 3-D distance d3D = sqrt(d2D^2 + (hBS - hUT)^2) in metres.
    private func distance3D(_ distance2D: Double) -> Double {
        let dh = baseStationHeight - userHeight
        return (distance2D * distance2D + dh * dh).squareRoot()
    }

    /// PL_UMi-LOS or PL_UMa-LOS in dB: PL1 up to d'BP, PL2 beyond.
    private func lineOfSightPathLossDB(distance2D: Double) -> Double {
        let fGHz = carrierHz / 1e9
        let d3D = distance3D(distance2D)
        let dBP = breakpointDistance
        let dh = baseStationHeight - userHeight
        // (intercept, PL1 slope, PL2 breakpoint weight) per Table 7.4.1-1.
        let (a, n1, w): (Double, Double, Double) =
            scenario == .umi ? (32.4, 21.0, 9.5) : (28.0, 22.0, 9.0)
        if distance2D <= dBP {
            return a + n1 * log10(d3D) + 20.0 * log10(fGHz)
        }
        return a + 40.0 * log10(d3D) + 20.0 * log10(fGHz) - w * log10(dBP * dBP + dh * dh)
    }

    /// PL'_UMi-NLOS or PL'_UMa-NLOS in dB (before the max with the LOS loss).
    private func nlosPrimePathLossDB(distance2D: Double) -> Double {
        let fGHz = carrierHz / 1e9
        let d3D = distance3D(distance2D)
        switch scenario {
        case .umi:
            return 35.3 * log10(d3D) + 22.4 + 21.3 * log10(fGHz) - 0.3 * (userHeight - 1.5)
        case .uma:
            return 13.54 + 39.08 * log10(d3D) + 20.0 * log10(fGHz) - 0.6 * (userHeight - 1.5)
        }
    }
}
