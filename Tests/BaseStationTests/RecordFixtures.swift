import XCTest

@testable import BaseStation

/// `value` when it is a finite figure; thrown otherwise, which fails the test (an unmeasured
/// figure is NaN in a `RunSummary`, null in summary.json).
func measured(_ value: Double, _ what: String = "a summary figure") throws -> Double {
    guard value.isFinite else { throw TestFailure(description: "\(what) is \(value), not a finite figure") }
    return value
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

extension RunSummary {
    /// A made-up run's summary: the figures given, every other one unmeasured.
    static func fixture(
        perplexity: Double = .nan, heldOutLoss: Double = .nan, rank: Int = 4, aggregation: String = "aircomp",
        gapsEveryRank: [String: Double]? = nil
    ) -> RunSummary {
        RunSummary(
            scenario: nil, scenarioFingerprint: nil, rounds: 1, rank: rank, rankPlanned: gapsEveryRank != nil,
            aggregation: aggregation, seed: 1, finalLoss: .nan, finalHeldoutLoss: heldOutLoss,
            finalHeldoutLossSe: .nan, finalPerplexity: perplexity, heldoutTokens: 0, initialPerplexity: .nan,
            mseMean: .nan, mseThermalMean: .nan, mseCsiMean: .nan, mseQuantizationMean: .nan, msePredictedMean: .nan,
            msePerRealMean: .nan, nmseMean: .nan, mseThermalOverPredicted: .nan, airtimeTotalS: 0,
            airtimeMeanS: .nan, energyTotalJ: 0, framesDropped: 0, framesDroppedByReason: [:], lastRoundDelivered: 1,
            roundsEnergyFlagged: [],
            rankPlanning: gapsEveryRank.map { RankPlanningRecord.fixture(rank: rank, gapsEveryRank: $0) }, nodes: [],
            resumedFromRound: nil, wallTimeS: 0, kernel: "quantized", receiver: nil, memo: nil,
            timeS: .init(setUp: 0, registration: 0, pilot: 0, heldoutEvaluation: 0, roundsWithoutEvaluation: 0))
    }
}

extension RankPlanningRecord {
    /// A made-up planner's record at `rank` with its G at every rank.
    static func fixture(rank: Int, gapsEveryRank: [String: Double]) -> RankPlanningRecord {
        RankPlanningRecord(
            rMax: gapsEveryRank.keys.compactMap { Int($0) }.max() ?? rank, rMaxBinding: "none", pilotStatus: "pilot",
            calibration: nil, spectrumSource: "made up", sketchRank: nil, displacementScale: nil, symbolPower: nil,
            rank: rank, gap: gapsEveryRank["\(rank)"] ?? 0, gaps: [:], gapsEveryRank: gapsEveryRank, seconds: [:],
            spectrumTop: [1], spectrumCount: 1, spectrum: [1], constants: [:])
    }
}
