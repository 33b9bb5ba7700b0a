import CommandLineSupport
import Foundation

/// summary.json's `rank_planning` (and the checkpoint's copy of it): what the planner measured
/// around the pilot round and what it chose (docs/optimality-gap.md). Singular values in the
/// adapter's units, the gap G(r) in nats/token, seconds of wall time per phase.
package struct RankPlanningRecord: Codable, Equatable, Sendable {
    /// The largest rank every device's budgets allow, and the budget that bound it.
    package var rMax: Int
    package var rMaxBinding: String
    /// The pilot round's `RoundStatus`.
    package var pilotStatus: String
    /// The calibration's measurements, or why there are none; nil when the pilot delivered nothing.
    @Nullable package var calibration: Calibration?
    /// How the spectrum was obtained, in words.
    package var spectrumSource: String
    /// The gradient sketch's rank; nil when the pilot delivered nothing.
    @Nullable package var sketchRank: Int?
    /// t*, the factor the spectrum was scaled by; nil when it was not.
    @Nullable package var displacementScale: Double?
    /// c², the largest reported update's power per complex symbol; nil without a delivered report.
    @Nullable package var symbolPower: Double?
    /// The planned rank, its gap, and G at each rank the search visited and at every rank up to r_max.
    package var rank: Int
    package var gap: Double
    package var gaps: [String: Double]
    package var gapsEveryRank: [String: Double]
    package var seconds: [String: Double]
    /// The spectrum's first 16 singular values, their count, and all of them (so `basestation plan`
    /// can replay the bound with `[plan] pilot_singular_values`).
    package var spectrumTop: [Double]
    package var spectrumCount: Int
    package var spectrum: [Double]
    /// Each learning constant's value (null when not finite) and where it came from.
    package var constants: [String: Constant]

    package struct Constant: Codable, Equatable, Sendable {
        @Measured package var value: Double
        package var source: String
    }

    /// The pilot's measurements (`PilotMeasurements`), or the error that stopped them.
    package enum Calibration: Codable, Equatable, Sendable {
        case measured(PilotMeasurementRecord)
        case failed(error: String)

        private enum Keys: String, CodingKey { case error }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            if let error = try c.decodeIfPresent(String.self, forKey: .error) {
                self = .failed(error: error)
            } else {
                self = .measured(try PilotMeasurementRecord(from: decoder))
            }
        }

        package func encode(to encoder: any Encoder) throws {
            switch self {
            case .measured(let record): try record.encode(to: encoder)
            case .failed(let error):
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(error, forKey: .error)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case rMax = "r_max"
        case rMaxBinding = "r_max_binding"
        case pilotStatus = "pilot_status"
        case calibration
        case spectrumSource = "spectrum_source"
        case sketchRank = "sketch_rank"
        case displacementScale = "displacement_scale"
        case symbolPower = "symbol_power"
        case rank, gap, gaps
        case gapsEveryRank = "gaps_every_rank"
        case seconds
        case spectrumTop = "spectrum_top"
        case spectrumCount = "spectrum_count"
        case spectrum, constants
    }

    /// The record as the checkpoint holds it (one JSON line; "null" for a fixed-rank run).
    package static func checkpointText(_ record: RankPlanningRecord?) throws -> String {
        guard let record else { return "null" }
        return String(decoding: try JSONRecord.line(record), as: UTF8.self)
    }

    /// A rank-keyed table as JSON keys it (`gaps`, `gaps_every_rank`, `plan --json`'s tables).
    package static func keyed(byRank table: [Int: Double]) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: table.map { ("\($0.key)", $0.value) })
    }

    /// G(r, A*(r)) at every rank up to r_max, keyed by the rank again.
    package var gapByRank: [Int: Double] {
        Dictionary(uniqueKeysWithValues: gapsEveryRank.compactMap { k, g in Int(k).map { ($0, g) } })
    }

    /// The checkpoint's text back; "null" is a fixed-rank run's.
    package static func fromCheckpoint(_ text: String) throws -> RankPlanningRecord? {
        try JSONDecoder().decode(Nullable<RankPlanningRecord>.self, from: Data(text.utf8)).wrappedValue
    }
}

/// The pilot's measurements (`PilotMeasurements`) as summary.json records them, with the estimates
/// they support (nil where the derivation rules one out). Losses in nats/token, norms and energies
/// in the adapter's (or the weights') units.
package struct PilotMeasurementRecord: Codable, Equatable, Sendable {
    @Measured package var lossBefore: Double
    @Measured package var lossAfter: Double
    @Measured package var gradientEnergyBefore: Double
    @Measured package var gradientEnergyAfter: Double
    @Measured package var alignment: Double
    @Measured package var gradientChange: Double
    @Measured package var updateNorm: Double
    @Measured package var weightUpdateNorm: Double
    @Measured package var weightAlignment: Double
    @Nullable package var stepSize: Double?
    @Nullable package var smoothness: Double?
    @Nullable package var plConstant: Double?
    @Nullable package var weightSmoothness: Double?
    @Measured package var randomDirectionCurvature: Double
    @Measured package var randomDirectionCurvatureSe: Double
    @Measured package var probeRadius: Double
    @Nullable package var distortionSmoothness: Double?
    @Nullable package var lineMinimum: Double?

    enum CodingKeys: String, CodingKey {
        case lossBefore = "loss_before"
        case lossAfter = "loss_after"
        case gradientEnergyBefore = "gradient_energy_before"
        case gradientEnergyAfter = "gradient_energy_after"
        case alignment
        case gradientChange = "gradient_change"
        case updateNorm = "update_norm"
        case weightUpdateNorm = "weight_update_norm"
        case weightAlignment = "weight_alignment"
        case stepSize = "step_size"
        case smoothness
        case plConstant = "pl_constant"
        case weightSmoothness = "weight_smoothness"
        case randomDirectionCurvature = "random_direction_curvature"
        case randomDirectionCurvatureSe = "random_direction_curvature_se"
        case probeRadius = "probe_radius"
        case distortionSmoothness = "distortion_smoothness"
        case lineMinimum = "line_minimum"
    }
}

extension PilotMeasurements {
    var record: PilotMeasurementRecord {
        PilotMeasurementRecord(
            lossBefore: lossBefore, lossAfter: lossAfter, gradientEnergyBefore: gradientEnergyBefore,
            gradientEnergyAfter: gradientEnergyAfter, alignment: alignment, gradientChange: gradientChange,
            updateNorm: updateNorm, weightUpdateNorm: weightUpdateNorm, weightAlignment: weightAlignment,
            stepSize: stepSize, smoothness: smoothness, plConstant: plConstant, weightSmoothness: weightSmoothness,
            randomDirectionCurvature: randomDirection.mean,
            randomDirectionCurvatureSe: randomDirection.standardError, probeRadius: probeRadius,
            distortionSmoothness: distortionSmoothness, lineMinimum: lineMinimum)
    }
}
