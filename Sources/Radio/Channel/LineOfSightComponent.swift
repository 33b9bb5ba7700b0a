import Foundation
import LinearAlgebra
import Numerics
import Randomness

/// The specular (LOS) path of one device's first tap under TDL-D/E: e^{jφ_k(r)} · a_r a_tᴴ,
/// N_r×N_t with unit-modulus entries (the caller applies √p_0 and √β_k).
///
/// - Steering a_r a_tᴴ: half-wavelength ULAs at the device's AoA and AoD, entry (0, 0) = 1.
/// - Initial phase φ_k(0) ~ U[0, 2π), one per device from `RandomStream.lineOfSightPhase`: the
///   LOS paths of different devices travel different distances, so they must not add in phase at
///   the BS (Sionna's TDL likewise draws the specular phase φ_0 uniformly per link).
/// - Rotation φ_k(r) = φ_k(0) + 2π f_S · r · T_round with f_S = 0.7 f_D for every device, i.e.
///   cos θ = 0.7 rather than a drawn angle: TR 38.901 §7.7.2 places the Doppler peak of the
///   TDL-D/E first tap at f_S = 0.7 f_D, and Sionna's TDL uses the same fixed LOS angle
///   (`los_angle_of_arrival` = arccos 0.7 in current releases, π/4 ≈ arccos 0.707 before). A TDL
///   carries no geometry from which a per-device θ could follow. f_D = 0 keeps φ_k(0).
struct LineOfSightComponent: Sendable {
    /// f_S / f_D of TR 38.901 §7.7.2 (dimensionless).
    static let dopplerFraction = 0.7

    /// a_r a_tᴴ, N_r×N_t, unit-modulus entries.
    let steering: ComplexMatrix<Double>
    /// φ_k(0) in radians, in [0, 2π).
    let initialPhase: Double
    /// f_S · T_round: phase advance per round in cycles (dimensionless).
    let cyclesPerRound: Double

    /// - Parameters:
    ///   - arrivalRad, departureRad: AoA and AoD in radians, in (−π/2, π/2).
    init(configuration cfg: ChannelConfiguration, seed: UInt64, device k: Int, arrivalRad: Double, departureRad: Double)
    {
        steering = ComplexMatrix(rows: cfg.receiveAntennas, cols: cfg.transmitAntennas) { r, t in
            Complex(length: 1, phase: Double.pi * (Double(r) * sin(arrivalRad) - Double(t) * sin(departureRad)))
        }
        var g = SeededGenerator(seed: seed, stream: [RandomStream.lineOfSightPhase.rawValue, UInt64(k)])
        initialPhase = 2 * Double.pi * g.uniform()
        cyclesPerRound = LineOfSightComponent.dopplerFraction * cfg.dopplerHz * cfg.roundIntervalS
    }

    /// φ_k(r) in radians, in [0, 2π).
    func phase(round r: Int) -> Double {
        // Whole cycles are dropped before scaling by 2π, so late rounds keep full precision.
        let cycles = cyclesPerRound * Double(r)
        let turned = initialPhase + 2 * Double.pi * (cycles - cycles.rounded(.down))
        return turned < 2 * Double.pi ? turned : turned - 2 * Double.pi
    }

    /// e^{jφ_k(r)} a_r a_tᴴ, N_r×N_t.
    func matrix(round r: Int) -> ComplexMatrix<Double> {
        Complex(length: 1, phase: phase(round: r)) * steering
    }
}
