import CommandLineSupport
import Foundation

/// summary.json: what a finished run records, written by `serve` and read back by the reports
/// (`lab report`, `publish`, the ideal-FL reference) through this one type. Figures a run
/// did not measure are `null` (NaN here); every key is always written. Units: losses in nats/token,
/// MSE per unit-power complex symbol, airtime and times in seconds, energy in joules.
package struct RunSummary: Codable, Equatable {
    /// The scenario file's name and the fingerprint of everything that defines the run but its
    /// aggregation (`IdealReference.fingerprint`); nil for runs not started from a scenario file.
    @Nullable package var scenario: String?
    @Nullable package var scenarioFingerprint: String?
    package var rounds: Int
    /// The rank the run trained at, and whether the base station planned it.
    package var rank: Int
    package var rankPlanned: Bool
    /// `AggregationMode`'s name: aircomp, ideal or digital.
    package var aggregation: String
    package var seed: UInt64
    /// The mean train loss over the nodes of the last round that had one.
    @Measured package var finalLoss: Double
    /// The last round's held-out loss, its standard error over the evaluation's windows, and exp of it.
    @Measured package var finalHeldoutLoss: Double
    @Measured package var finalHeldoutLossSe: Double
    @Measured package var finalPerplexity: Double
    package var heldoutTokens: Int
    @Measured package var initialPerplexity: Double
    /// Means over the rounds where each is finite: the aggregation MSE and its parts, the closed form,
    /// per real and normalised.
    @Measured package var mseMean: Double
    @Measured package var mseThermalMean: Double
    @Measured package var mseCsiMean: Double
    @Measured package var mseQuantizationMean: Double
    @Measured package var msePredictedMean: Double
    @Measured package var msePerRealMean: Double
    @Measured package var nmseMean: Double
    /// Σ measured thermal MSE / Σ closed form: 1 when the served air matches the closed form.
    @Measured package var mseThermalOverPredicted: Double
    package var airtimeTotalS: Double
    @Measured package var airtimeMeanS: Double
    package var energyTotalJ: Double
    package var framesDropped: Int
    /// By `DropReason` label.
    package var framesDroppedByReason: [String: Int]
    /// The last round in which a node delivered (0: none).
    package var lastRoundDelivered: Int
    /// The rounds whose aggregate carried more than 1.5× the energy the nodes' reports and the closed
    /// form allow (`AggregateEnergyCheck`); nil where it is not evaluated (digital; older files).
    @Nullable package var roundsEnergyFlagged: [Int]?
    /// What the rank planner measured and chose; nil when the rank was fixed.
    @Nullable package var rankPlanning: RankPlanningRecord?
    package var nodes: [Node]
    /// The round a resumed run continued after; nil for a run served in one sitting.
    @Nullable package var resumedFromRound: Int?
    package var wallTimeS: Double
    /// `EdgeKernel`'s name.
    package var kernel: String
    /// Where the air was summed (`aircomp.receiver`); nil for ideal and digital, which sum no air.
    @Nullable package var receiver: String?
    /// The memo's answers; nil without `--memo`.
    @Nullable package var memo: MemoAnswers?
    package var timeS: TimeSplit

    /// A node of the run as it ended.
    package struct Node: Codable, Equatable, Sendable {
        package var name: String
        package var profile: String
        package var activeAtEnd: Bool

        enum CodingKeys: String, CodingKey {
            case name, profile
            case activeAtEnd = "active_at_end"
        }
    }

    /// Whether each memoised figure came from the memo (true) or was computed and stored (false).
    package struct MemoAnswers: Codable, Equatable, Sendable {
        @Nullable package var heldoutBase: Bool?

        enum CodingKeys: String, CodingKey { case heldoutBase = "heldout_base" }
    }

    /// Where this sitting's time went: loading the model and data (before serving), waiting for the
    /// nodes to register, round 0 (the base model's evaluation and the pilot round; reading the
    /// checkpoint when resumed), held-out evaluation after it, and the rounds' rest (the nodes'
    /// training, the air, aggregation).
    package struct TimeSplit: Codable, Equatable, Sendable {
        package var setUp: Double
        package var registration: Double
        package var pilot: Double
        package var heldoutEvaluation: Double
        package var roundsWithoutEvaluation: Double

        enum CodingKeys: String, CodingKey {
            case setUp = "set_up"
            case registration, pilot
            case heldoutEvaluation = "heldout_evaluation"
            case roundsWithoutEvaluation = "rounds_without_evaluation"
        }
    }

    enum CodingKeys: String, CodingKey {
        case scenario
        case scenarioFingerprint = "scenario_fingerprint"
        case rounds, rank
        case rankPlanned = "rank_planned"
        case aggregation, seed
        case finalLoss = "final_loss"
        case finalHeldoutLoss = "final_heldout_loss"
        case finalHeldoutLossSe = "final_heldout_loss_se"
        case finalPerplexity = "final_perplexity"
        case heldoutTokens = "heldout_tokens"
        case initialPerplexity = "initial_perplexity"
        case mseMean = "mse_mean"
        case mseThermalMean = "mse_thermal_mean"
        case mseCsiMean = "mse_csi_mean"
        case mseQuantizationMean = "mse_quantization_mean"
        case msePredictedMean = "mse_predicted_mean"
        case msePerRealMean = "mse_per_real_mean"
        case nmseMean = "nmse_mean"
        case mseThermalOverPredicted = "mse_thermal_over_predicted"
        case airtimeTotalS = "airtime_total_s"
        case airtimeMeanS = "airtime_mean_s"
        case energyTotalJ = "energy_total_j"
        case framesDropped = "frames_dropped"
        case framesDroppedByReason = "frames_dropped_by_reason"
        case lastRoundDelivered = "last_round_delivered"
        case roundsEnergyFlagged = "rounds_energy_flagged"
        case rankPlanning = "rank_planning"
        case nodes
        case resumedFromRound = "resumed_from_round"
        case wallTimeS = "wall_time_s"
        case kernel, receiver, memo
        case timeS = "time_s"
    }

    /// The summary of the run in `directory`.
    package static func read(directory: String) throws -> RunSummary {
        try JSONRecord.read(RunSummary.self, from: directory + "/summary.json")
    }
}

/// The scenario a run was started from, as summary.json names it (`ServeCommand` sets it).
package struct ScenarioLabel: Equatable, Sendable {
    package var name: String
    package var fingerprint: String
}
