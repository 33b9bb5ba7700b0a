import Foundation
import LinearAlgebra
import Numerics
import NumpyIO
import Radio
import XCTest

final class SolveCommandTests: XCTestCase {
    /// `solve --json` reports the documented fields, and the saved beamformers reproduce the
    /// reported objective when recomputed here from the .npy files alone.
    func testSolveReportsAndSavesBeamformers() throws {
        let dir = try temporaryDirectory(self)
        let ch = dir.appendingPathComponent("ch.npy").path
        let a = dir.appendingPathComponent("A.npy").path
        XCTAssertEqual(
            try runProduct(
                "basestation",
                [
                    "channel", "--subcarriers", "4", "--devices", "5", "--rx-antennas", "6", "--tx-antennas", "2",
                    "--path-loss", "none", "--seed", "2", "--out", ch,
                ]
            ).status, 0)
        var objectives = [String: Double]()
        for method in ["eigen", "weakest", "random", "manifold"] {
            let r = try runProduct(
                "basestation",
                [
                    "solve", "--channels", ch, "--streams", "2", "--power-dbm", "20", "--method", method,
                    "--save-beamformers", a, "--json",
                ])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try r.json()
            for key in ["objective_mean", "objective", "mse_mean", "time_ms", "iterations", "grad_norm_max"] {
                XCTAssertNotNil(json[key], "\(method): \(key) missing")
            }
            let objective = try XCTUnwrap(json["objective"] as? [Double])
            XCTAssertEqual(objective.count, 4)
            objectives[method] = try XCTUnwrap(json["objective_mean"] as? Double)

            // Recompute max_k w_k² tr((Aᴴ H_k H_kᴴ A)⁻¹)/P_{k,n} from the files.
            let saved = try NumpyArray.read(path: a)
            XCTAssertEqual(saved.shape, [4, 6, 2])
            let h = try ChannelTensor.load(npy: ch)
            let pn: Double = Foundation.pow(10.0, (20.0 - 30) / 10) / 4
            let w = 0.2
            for n in 0..<4 {
                let beam = ComplexMatrix<Double>(rows: 6, cols: 2) { r, l in
                    let v = saved.complexValues[(n * 6 + r) * 2 + l]
                    return Complex(Double(v.real), Double(v.imaginary))
                }
                var worst = 0.0
                for k in 0..<5 {
                    let hk = h.matrix(subcarrier: n, device: k, as: Double.self)
                    let m = beam.product(hk, .adjoint, .none)
                    worst = max(
                        worst, w * w / pn * (try m.product(m, .none, .adjoint).inversePositiveDefinite()).trace.real)
                }
                XCTAssertEqual(worst / objective[n], 1, accuracy: 1e-5, "\(method) subcarrier \(n)") // complex64 file
            }
        }
        XCTAssertLessThanOrEqual(objectives["manifold"]!, objectives["eigen"]!)
    }

    func testSolveRejectsBadInput() throws {
        let dir = try temporaryDirectory(self)
        let ch = dir.appendingPathComponent("ch.npy").path
        XCTAssertEqual(
            try runProduct(
                "basestation",
                [
                    "channel", "--subcarriers", "2", "--devices", "2", "--rx-antennas", "4", "--tx-antennas", "2",
                    "--out", ch,
                ]
            ).status, 0)
        let tooMany = try runProduct("basestation", ["solve", "--channels", ch, "--streams", "3"])
        XCTAssertEqual(tooMany.status, 1)
        XCTAssertTrue(tooMany.stderr.contains("L = 3"), tooMany.stderr)
        let weights = dir.appendingPathComponent("w.txt").path
        try "0.5 0.6\n".write(toFile: weights, atomically: true, encoding: .utf8)
        let badWeights = try runProduct(
            "basestation", ["solve", "--channels", ch, "--streams", "1", "--weights", weights])
        XCTAssertEqual(badWeights.status, 1)
        XCTAssertTrue(badWeights.stderr.contains("sum"), badWeights.stderr)
        let missing = try runProduct(
            "basestation", ["solve", "--channels", dir.appendingPathComponent("none.npy").path, "--streams", "1"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("none.npy"), missing.stderr)
        let method = try runProduct("basestation", ["solve", "--channels", ch, "--streams", "1", "--method", "magic"])
        XCTAssertNotEqual(method.status, 0)
        XCTAssertTrue(method.stderr.contains("--method"), method.stderr)
    }
}
