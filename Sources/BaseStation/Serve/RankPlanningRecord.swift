import CommandLineSupport
import Foundation

/// summary.json's `rank_planning` (and the checkpoint's copy of it): what the planner measured
/// around the pilot round and what it chose (docs/optimality-gap.md). Singular values in the
/// adapter's units, the gap G(r) in nats/token, seconds of wall time per phase.
struct RankPlanningRecord: Codable, Equatable, Sendable {
    /// The largest rank every device's budgets allow, and the budget that bound it.
    var rMax: Int
    var rMaxBinding: String
    /// The pilot round's `RoundStatus`.
    var pilotStatus: String
    /// The calibration's measurements, or why there are none; nil when the pilot delivered nothing.
    @Nullable var calibration: Calibration?
    /// How the spectrum was obtained, in words.
    var spectrumSource: String
    /// The gradient sketch's rank; nil when the pilot delivered nothing.
    @Nullable var sketchRank: Int?
    /// t*, the factor the spectrum was scaled by; nil when it was not.
    @Nullable var displacementScale: Double?
    /// c², the largest reported update's power per complex symbol; nil without a delivered report.
    @Nullable var symbolPower: Double?
    /// The planned rank, its gap, and G at each rank the search visited and at every rank up to r_max.
    var rank: Int
    var gap: Double
    var gaps: [String: Double]
    var gapsEveryRank: [String: Double]
    var seconds: [String: Double]
    /// The spectrum's first 16 singular values, their count, and all of them (so `basestation plan`
    /// can replay the bound with `[plan] pilot_singular_values`).
    var spectrumTop: [Double]
    var spectrumCount: Int
    var spectrum: [Double]
    /// Each learning constant's value (null when not finite) and where it came from.
    var constants: [String: Constant]

    struct Constant: Codable, Equatable, Sendable {
        @Measured var value: Double
        var source: String
    }

    /// The pilot's measurements (`PilotMeasurements`), or the error that stopped them.
    enum Calibration: Codable, Equatable, Sendable {
        case measured(PilotMeasurements.Record)
        case failed(error: String)

        private enum Keys: String, CodingKey { case error }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            if let error = try c.decodeIfPresent(String.self, forKey: .error) {
                self = .failed(error: error)
            } else {
                self = .measured(try PilotMeasurements.Record(from: decoder))
            }
        }

        func encode(to encoder: any Encoder) throws {
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

    /// The record as the checkpoint holds it (compact JSON; "null" for a fixed-rank run).
    static func checkpointText(_ record: RankPlanningRecord?) throws -> String {
        guard let record else { return "null" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(record), as: UTF8.self)
    }

    /// The checkpoint's text back; "null" is a fixed-rank run's.
    static func fromCheckpoint(_ text: String) throws -> RankPlanningRecord? {
        try JSONDecoder().decode(Nullable<RankPlanningRecord>.self, from: Data(text.utf8)).wrappedValue
    }
}

extension PilotMeasurements {
    /// The measurements as summary.json records them, with the estimates they support (nil where
    /// the derivation rules one out).
    struct Record: Codable, Equatable, Sendable {
        @Measured var lossBefore: Double
        @Measured var lossAfter: Double
        @Measured var gradientEnergyBefore: Double
        @Measured var gradientEnergyAfter: Double
        @Measured var alignment: Double
        @Measured var gradientChange: Double
        @Measured var updateNorm: Double
        @Measured var weightUpdateNorm: Double
        @Measured var weightAlignment: Double
        @Nullable var stepSize: Double?
        @Nullable var smoothness: Double?
        @Nullable var plConstant: Double?
        @Nullable var weightSmoothness: Double?
        @Measured var randomDirectionCurvature: Double
        @Measured var randomDirectionCurvatureSe: Double
        @Measured var probeRadius: Double
        @Nullable var distortionSmoothness: Double?
        @Nullable var lineMinimum: Double?

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

    var record: Record {
        Record(
            lossBefore: lossBefore, lossAfter: lossAfter, gradientEnergyBefore: gradientEnergyBefore,
            gradientEnergyAfter: gradientEnergyAfter, alignment: alignment, gradientChange: gradientChange,
            updateNorm: updateNorm, weightUpdateNorm: weightUpdateNorm, weightAlignment: weightAlignment,
            stepSize: stepSize, smoothness: smoothness, plConstant: plConstant, weightSmoothness: weightSmoothness,
            randomDirectionCurvature: randomDirection.mean,
            randomDirectionCurvatureSe: randomDirection.standardError, probeRadius: probeRadius,
            distortionSmoothness: distortionSmoothness, lineMinimum: lineMinimum)
    }
}
