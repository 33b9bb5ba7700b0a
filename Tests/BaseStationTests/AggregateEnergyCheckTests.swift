import Foundation
import Wire
import XCTest

@testable import BaseStation

/// What gets through the update bound is seen: a node whose symbols are louder than its report
/// makes the round's aggregate exceed what the reports and the closed form allow, and the round is
/// flagged in metrics.csv, summary.json and the live metrics; honest rounds are not.
final class AggregateEnergyCheckTests: XCTestCase {
    let pi4 = InMemoryFleet.profile("raspberry-pi-4")

    func testTheBoundIsTheReportsTriangleSumPlusTheNoise() {
        let check = AggregateEnergyCheck(
            aggregate: [3, 4], reported: [(weight: 1, energy: 4), (weight: 3, energy: 16)], noiseEnergy: 0.5)
        XCTAssertEqual(check.measured, 25)
        // (1·2 + 3·4)/4 = 3.5; 3.5² + 0.5.
        XCTAssertEqual(check.bound!, 12.75, accuracy: 1e-12)
        XCTAssertTrue(check.flagged, "25 > 1.5 × 12.75")
        XCTAssertFalse(
            AggregateEnergyCheck(aggregate: [3, 4], reported: [(1, 25)], noiseEnergy: 0).flagged, "25 ≤ 1.5 × 25")
        XCTAssertNil(AggregateEnergyCheck(aggregate: [1], reported: [(1, 1)], noiseEnergy: nil).bound, "digital")
    }

    /// Two scripted nodes over AirComp's air; `loudness` times louder symbols than its scale from
    /// the second (its report honest).
    func run(loudness: Float) throws -> (rows: [[String: String]], summary: RunSummary, live: LiveMetrics.Values) {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("loud", pi4)], rounds: 2, roundTimeoutS: 10)
        let honest = ScriptedNode("a", on: fleet.network)
        fleet.start {
            try honest.register()
            try honest.serveHonestly()
        }
        let loud = ScriptedNode("loud", on: fleet.network)
        fleet.start {
            try loud.register()
            while let start = try loud.next(.roundStart) {
                let update = try RoundStart(frame: start).adapter.map { _ in Float(1e-3) }
                try loud.report(start.round, update: update)
                guard let frame = try loud.next(.transmit) else { return }
                let o = try Transmit(frame: frame)
                try loud.transmit(
                    start.round, update: update,
                    order: Transmit(
                        mode: o.mode, scale: o.scale / loudness, subcarriers: o.subcarriers, streams: o.streams,
                        antennas: o.antennas, precoders: o.precoders, digitalBudgetBits: o.digitalBudgetBits,
                        digitalSeed: o.digitalSeed, sampleFormat: o.sampleFormat))
            }
        }
        let summary = try fleet.run()
        return (try fleet.metrics(), summary, fleet.server.metrics.snapshot)
    }

    func testLouderSymbolsThanReportedAreFlaggedAndHonestRoundsAreNot() throws {
        let honest = try run(loudness: 1)
        XCTAssertEqual(honest.summary.roundsEnergyFlagged, [])
        for row in honest.rows where row["node"] == "global" && row["round"] != "0" {
            let (measured, bound) = (Double(row["aggregate_energy"]!)!, Double(row["aggregate_energy_bound"]!)!)
            XCTAssertGreaterThan(measured, 0)
            XCTAssertLessThanOrEqual(measured, bound, "an honest aggregate sits below its bound")
        }
        XCTAssertEqual(honest.live.roundsEnergyFlagged, 0)

        let loud = try run(loudness: 8)
        XCTAssertEqual(loud.summary.roundsEnergyFlagged, [1, 2])
        XCTAssertEqual(loud.live.roundsEnergyFlagged, 2)
        XCTAssertGreaterThan(loud.live.aggregateEnergyRatio, AggregateEnergyCheck.flagFactor)
    }
}
