import CommandLineSupport
import Foundation
import LanguageModel
import LinearAlgebra
import Numerics
import XCTest

@testable import BaseStation

/// The checkpoint file: exact round trip, and every way it can be unusable refused with the
/// file and the field named (torn, altered, foreign, not a checkpoint).
final class RunCheckpointTests: XCTestCase {
    let identity = RunIdentity(
        scenario: "00112233aabbccdd", seed: 7, aggregation: "aircomp", overrides: ["federation.rank=2"])

    func config(in dir: URL) throws -> LlamaConfig {
        let path = dir.appendingPathComponent("tiny.gguf").path
        try TinyModelSpec().write(to: path)
        return try LlamaConfig(gguf: try GGUFFile(path: path))
    }

    /// A checkpoint written before the aggregate's energy was recorded (16 reals a row) still
    /// resumes: its rows read with those two columns NaN.
    func testACheckpointFromBeforeTheEnergyColumnsResumes() throws {
        let path = repositoryRoot.appendingPathComponent("Tests/BaseStationTests/Fixtures/checkpoint-16-reals.gguf")
            .path
        let c = try RunCheckpoint.load(
            path: path, config: try config(in: try temporaryDirectory(self)), targets: [.q, .k, .v, .o],
            expected: RunIdentity(scenario: "0", seed: 1, aggregation: "aircomp", overrides: []))
        XCTAssertEqual(c.round, 1)
        XCTAssertEqual(c.rows.count, 1)
        XCTAssertEqual(c.rows[0].trainLoss, 2.5)
        XCTAssertTrue(c.rows[0].aggregateEnergy.isNaN && c.rows[0].aggregateEnergyBound.isNaN)
    }

    func sample(_ config: LlamaConfig) -> RunCheckpoint {
        var adapter = LoRAAdapter(config: config, rank: 2, alpha: 4, targets: [.v, .q], seed: 5)
        adapter.randomizeB(standardDeviation: 0.1, seed: 6)
        var row = MetricsRow(round: 2, node: "n0", profile: "raspberry-pi-4", status: .ok, rank: 2)
        row.trainLoss = 1 / 3
        row.mse = 1e-300
        row.steps = 3
        let global = MetricsRow(round: 2, node: "global", profile: "", status: .rejected, heldOutLoss: .pi, rank: 2)
        let beams = (0..<3).map { n in
            ComplexMatrix<Double>(
                rows: 4, cols: 2, elements: (0..<8).map { Complex(Double(n) + 0.1 * Double($0), -1 / Double($0 + 1)) })
        }
        return RunCheckpoint(
            round: 2, identity: identity, adapter: adapter, rows: [row, global],
            rankPlanning: .fixture(rank: 2, gapsEveryRank: ["1": 3, "2": 2]),
            warmParticipants: [0, 2], warmBeamformers: beams)
    }

    func assertSame(_ a: RunCheckpoint, _ b: RunCheckpoint, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.round, b.round, file: file, line: line)
        XCTAssertEqual(a.identity, b.identity, file: file, line: line)
        XCTAssertEqual(a.adapter, b.adapter, file: file, line: line)
        XCTAssertEqual(a.adapter.targets, b.adapter.targets, file: file, line: line)
        XCTAssertEqual(a.rows.map(\.csv), b.rows.map(\.csv), file: file, line: line)
        for (x, y) in zip(a.rows, b.rows) {
            XCTAssertEqual(
                MetricsRow.reals.map { x[keyPath: $0].bitPattern }, MetricsRow.reals.map { y[keyPath: $0].bitPattern },
                file: file, line: line)
        }
        XCTAssertEqual(a.rankPlanning, b.rankPlanning, file: file, line: line)
        XCTAssertEqual(a.warmParticipants, b.warmParticipants, file: file, line: line)
        XCTAssertEqual(a.warmBeamformers, b.warmBeamformers, file: file, line: line)
    }

    func testRoundTripIsExactAndTheFileIsALoRAAdapter() throws {
        let dir = try temporaryDirectory(self)
        let config = try config(in: dir)
        let path = dir.appendingPathComponent("checkpoint.gguf").path
        let original = sample(config)
        try DurableFile.write(try original.encoded(), to: path)
        let back = try RunCheckpoint.load(path: path, config: config, targets: [.v, .q], expected: identity)
        assertSame(back, original)
        // The same file read as a plain LoRA adapter (as llama.cpp's loader reads it).
        let plain = try LoRAAdapter(gguf: try GGUFFile(path: path), config: config)
        XCTAssertEqual(try plain.laidOut(targets: [.v, .q], config: config), original.adapter)
    }

    /// Any one byte changed: refused with a CheckpointError, or (a padding byte) read as the same
    /// checkpoint; cut short anywhere: refused.
    func testTornOrAlteredFilesAreRefused() throws {
        let dir = try temporaryDirectory(self)
        let config = try config(in: dir)
        let path = dir.appendingPathComponent("checkpoint.gguf").path
        let original = sample(config)
        let bytes = try original.encoded()
        var refused = 0
        var same = 0
        for offset in stride(from: 0, to: bytes.count, by: 5) {
            var altered = bytes
            altered[offset] ^= 0x20
            try altered.write(to: URL(fileURLWithPath: path))
            do {
                assertSame(
                    try RunCheckpoint.load(path: path, config: config, targets: [.v, .q], expected: identity), original)
                same += 1
            } catch let e as CheckpointError {
                XCTAssertEqual(e.path, path)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 10 * same, "\(refused) refused, \(same) padding bytes")
        for length in [0, 3, 24, bytes.count / 2, bytes.count - 1] {
            try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(
                try RunCheckpoint.load(path: path, config: config, targets: [.v, .q], expected: identity),
                "cut at \(length)"
            ) {
                XCTAssertEqual(($0 as? CheckpointError)?.field, "file", "\($0)")
            }
        }
        // A value changed with its CRC left as it was: "torn or altered".
        var altered = bytes
        let tail = altered.count - 1
        altered[tail] ^= 0x01
        try altered.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RunCheckpoint.load(path: path, config: config, targets: [.v, .q], expected: identity))
        {
            XCTAssertEqual(($0 as? CheckpointError)?.field, RunCheckpoint.crcKey)
            XCTAssertTrue("\($0)".contains("torn or altered"), "\($0)")
        }
    }

    /// Another run's checkpoint names the field that differs; a plain adapter is no checkpoint.
    func testForeignCheckpointsAndPlainAdaptersAreRefused() throws {
        let dir = try temporaryDirectory(self)
        let config = try config(in: dir)
        let path = dir.appendingPathComponent("checkpoint.gguf").path
        try DurableFile.write(try sample(config).encoded(), to: path)
        let others: [(RunIdentity, String)] = [
            (
                RunIdentity(scenario: "ffff", seed: 7, aggregation: "aircomp", overrides: identity.overrides),
                "run.scenario"
            ),
            (
                RunIdentity(
                    scenario: identity.scenario, seed: 8, aggregation: "aircomp", overrides: identity.overrides),
                "run.seed"
            ),
            (
                RunIdentity(scenario: identity.scenario, seed: 7, aggregation: "ideal", overrides: identity.overrides),
                "run.aggregation"
            ),
            (RunIdentity(scenario: identity.scenario, seed: 7, aggregation: "aircomp", overrides: []), "run.overrides"),
        ]
        for (other, field) in others {
            XCTAssertThrowsError(
                try RunCheckpoint.load(path: path, config: config, targets: [.v, .q], expected: other)
            ) {
                XCTAssertEqual(($0 as? CheckpointError)?.field, RunCheckpoint.prefix + field, "\($0)")
            }
        }
        XCTAssertThrowsError(try RunCheckpoint.load(path: path, config: config, targets: [.q, .k], expected: identity))
        {
            XCTAssertEqual(($0 as? CheckpointError)?.field, RunCheckpoint.prefix + "targets", "\($0)")
        }
        try sample(config).adapter.writeGGUF(to: path)
        XCTAssertThrowsError(try RunCheckpoint.load(path: path, config: config, targets: [.v, .q], expected: identity))
        {
            XCTAssertEqual(($0 as? CheckpointError)?.field, RunCheckpoint.prefix + "format", "\($0)")
            XCTAssertTrue("\($0)".contains(path), "\($0)")
        }
    }
}
