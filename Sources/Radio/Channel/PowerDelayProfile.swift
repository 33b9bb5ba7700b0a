import Foundation

/// One tap of a tapped-delay-line (TDL) power-delay profile.
///
/// Delays are stored in the normalised form used by 3GPP TR 38.901
/// Section 7.7.2, so one table serves every delay spread: the physical delay
/// of a tap is `normalizedDelay * DS_desired` (Section 7.7.3, Eq. 7.7-1).
public struct DelayTap: Sendable, Equatable {
    /// Tap delay divided by the desired RMS delay spread (dimensionless).
    public var normalizedDelay: Double

    /// Mean tap power in dB, as printed in the table; the rows of a profile
    /// are not normalised to unit total power.
    public var powerDB: Double

    /// `true` for the specular line-of-sight component of the first tap of
    /// TDL-D and TDL-E, which has a deterministic (non-fading) amplitude.
    public var isLineOfSight: Bool

    /// Creates a tap.
    ///
    /// - Parameters:
    ///   - normalizedDelay: Delay divided by the RMS delay spread (dimensionless).
    ///   - powerDB: Mean power in dB.
    ///   - isLineOfSight: Whether the tap is the specular LOS component.
    public init(normalizedDelay: Double, powerDB: Double, isLineOfSight: Bool = false) {
        self.normalizedDelay = normalizedDelay
        self.powerDB = powerDB
        self.isLineOfSight = isLineOfSight
    }
}

/// Tapped-delay-line profiles of 3GPP TR 38.901 Section 7.7.2
/// (Tables 7.7.2-1 to 7.7.2-5).
///
/// TDL-A, TDL-B and TDL-C model NLOS channels, every tap being Rayleigh
/// faded. TDL-D and TDL-E model LOS channels: their first tap is split into a
/// specular LOS component and a Rayleigh component at the same zero delay,
/// and the ratio of the two powers is the Ricean K-factor.
///
/// Each table is normalised to an RMS delay spread of one, so taps must be
/// scaled by the desired delay spread (Section 7.7.3) before use. The rows are
/// kept in the order the specification prints them, which is not always
/// sorted by delay (e.g. TDL-A tap 5 precedes tap 4 in time); sort them if the
/// consumer needs a monotone delay line.
public enum TDLProfile: String, CaseIterable, Sendable, Codable {
    /// TDL-A, NLOS (Table 7.7.2-1), 23 taps.
    case a = "TDL-A"
    /// TDL-B, NLOS (Table 7.7.2-2), 23 taps.
    case b = "TDL-B"
    /// TDL-C, NLOS (Table 7.7.2-3), 24 taps.
    case c = "TDL-C"
    /// TDL-D, LOS (Table 7.7.2-4), 13 taps listed as 14 rows.
    case d = "TDL-D"
    /// TDL-E, LOS (Table 7.7.2-5), 14 taps listed as 15 rows.
    case e = "TDL-E"

    /// Table rows exactly as TR 38.901 lists them.
    ///
    /// For TDL-D and TDL-E the first tap appears twice: first the specular LOS
    /// component (``DelayTap/isLineOfSight`` is `true`), then the Rayleigh
    /// component, both at normalised delay 0. The row count is therefore one
    /// more than the spec's tap count for those two profiles.
    public var taps: [DelayTap] {
        let rows: [(Double, Double)]
        switch self {
        case .a: rows = Self.tableA
        case .b: rows = Self.tableB
        case .c: rows = Self.tableC
        case .d: rows = Self.tableD
        case .e: rows = Self.tableE
        }
        let losRows = isLineOfSight ? 1 : 0
        return rows.enumerated().map { index, row in
            DelayTap(normalizedDelay: row.0, powerDB: row.1, isLineOfSight: index < losRows)
        }
    }

    /// Ricean K-factor of the first tap in dB, or `nil` for the NLOS profiles.
    ///
    /// This is the value quoted under Tables 7.7.2-4 and 7.7.2-5; it equals the
    /// LOS row power minus the Rayleigh row power of the first tap, and is the
    /// reference point for the K-factor rescaling of Section 7.7.6.
    public var kFactorDB: Double? {
        switch self {
        case .a, .b, .c: return nil
        case .d: return 13.3
        case .e: return 22.0
        }
    }

    /// Whether the profile contains a specular LOS component (TDL-D, TDL-E).
    public var isLineOfSight: Bool {
        switch self {
        case .a, .b, .c: return false
        case .d, .e: return true
        }
    }

    // MARK: - Tables (normalised delay, power in dB), transcribed from TR 38.901

    /// Table 7.7.2-1, TDL-A.
    private static let tableA: [(Double, Double)] = [
        (0.0000, -13.4), (0.3819, 0.0), (0.4025, -2.2), (0.5868, -4.0),
        (0.4610, -6.0), (0.5375, -8.2), (0.6708, -9.9), (0.5750, -10.5),
        (0.7618, -7.5), (1.5375, -15.9), (1.8978, -6.6), (2.2242, -16.7),
        (2.1718, -12.4), (2.4942, -15.2), (2.5119, -10.8), (3.0582, -11.3),
        (4.0810, -12.7), (4.4579, -16.2), (4.5695, -18.3), (4.7966, -18.9),
        (5.0066, -16.6), (5.3043, -19.9), (9.6586, -29.7),
    ]

    /// Table 7.7.2-2, TDL-B.
    private static let tableB: [(Double, Double)] = [
        (0.0000, 0.0), (0.1072, -2.2), (0.2155, -4.0), (0.2095, -3.2),
        (0.2870, -9.8), (0.2986, -1.2), (0.3752, -3.4), (0.5055, -5.2),
        (0.3681, -7.6), (0.3697, -3.0), (0.5700, -8.9), (0.5283, -9.0),
        (1.1021, -4.8), (1.2756, -5.7), (1.5474, -7.5), (1.7842, -1.9),
        (2.0169, -7.6), (2.8294, -12.2), (3.0219, -9.8), (3.6187, -11.4),
        (4.1067, -14.9), (4.2790, -9.2), (4.7834, -11.3),
    ]

    /// Table 7.7.2-3, TDL-C.
    private static let tableC: [(Double, Double)] = [
        (0.0000, -4.4), (0.2099, -1.2), (0.2219, -3.5), (0.2329, -5.2),
        (0.2176, -2.5), (0.6366, 0.0), (0.6448, -2.2), (0.6560, -3.9),
        (0.6584, -7.4), (0.7935, -7.1), (0.8213, -10.7), (0.9336, -11.1),
        (1.2285, -5.1), (1.3083, -6.8), (2.1704, -8.7), (2.7105, -13.2),
        (4.2589, -13.9), (4.6003, -13.9), (5.4902, -15.8), (5.6077, -17.1),
        (6.3065, -16.0), (6.6374, -15.7), (7.0427, -21.6), (8.6523, -22.8),
    ]

    /// Table 7.7.2-4, TDL-D. Row 0 is the LOS path of tap 1, row 1 its
    /// Rayleigh part.
    private static let tableD: [(Double, Double)] = [
        (0.000, -0.2), (0.000, -13.5), (0.035, -18.8), (0.612, -21.0),
        (1.363, -22.8), (1.405, -17.9), (1.804, -20.1), (2.596, -21.9),
        (1.775, -22.9), (4.042, -27.8), (7.937, -23.6), (9.424, -24.8),
        (9.708, -30.0), (12.525, -27.7),
    ]

    /// Table 7.7.2-5, TDL-E. Row 0 is the LOS path of tap 1, row 1 its
    /// Rayleigh part.
    private static let tableE: [(Double, Double)] = [
        (0.0000, -0.03), (0.0000, -22.03), (0.5133, -15.8), (0.5440, -18.1),
        (0.5630, -19.8), (0.5440, -22.9), (0.7112, -22.4), (1.9092, -18.6),
        (1.9293, -20.8), (1.9589, -22.6), (2.6426, -22.3), (3.7136, -25.6),
        (5.4524, -20.2), (12.0034, -29.8), (20.6519, -29.2),
    ]
}
