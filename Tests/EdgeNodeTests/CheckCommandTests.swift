import Foundation
import XCTest

/// `edgenode check` against the hardware profiles: the microcontroller class refuses SmolLM2 and
/// accepts a tiny model; a malformed profile names file, key and problem.
final class CheckCommandTests: XCTestCase {
    func profile(_ name: String) -> String {
        EdgeNodeProcess.repository.appendingPathComponent("hwprofiles/\(name).toml").path
    }

    func testMicrocontrollerRefusesSmolLM2AndAcceptsATinyModel() throws {
        let refused = try EdgeNodeProcess.run([
            "check", "--profile", profile("esp32-s3"), "--model", EdgeNodeProcess.smolLM2, "--json",
        ])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(
            refused.stderr.contains("needs") && refused.stderr.contains("the profile has 8000000"), refused.stderr)
        let plan = try XCTUnwrap(try JSONSerialization.jsonObject(with: refused.stdout) as? [String: Any])
        XCTAssertEqual(plan["fits"] as? Bool, false)
        XCTAssertGreaterThan(plan["needed_bytes"] as? Int ?? 0, 8_000_000)

        let tiny = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-check-\(UUID().uuidString).gguf")
            .path
        defer { try? FileManager.default.removeItem(atPath: tiny) }
        XCTAssertEqual(try EdgeNodeProcess.run(["tiny-model", "--out", tiny]).status, 0)
        let accepted = try EdgeNodeProcess.run([
            "check", "--profile", profile("esp32-s3"), "--model", tiny, "--ctx", "64", "--json",
        ])
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        let ok = try XCTUnwrap(try JSONSerialization.jsonObject(with: accepted.stdout) as? [String: Any])
        XCTAssertEqual(ok["fits"] as? Bool, true)
        XCTAssertEqual(ok["mode"] as? String, "cached")
        let maxRank = try XCTUnwrap(ok["max_rank_at_ctx"] as? Int)
        XCTAssertGreaterThanOrEqual(maxRank, 8)
        // One rank above the largest does not fit.
        let over = try EdgeNodeProcess.run([
            "check", "--profile", profile("esp32-s3"), "--model", tiny, "--ctx", "64", "--rank", "\(maxRank + 1)",
        ])
        XCTAssertEqual(over.status, 1, over.stderr)
    }

    func testLargerDevicesFitSmolLM2AndReportLimits() throws {
        let r = try EdgeNodeProcess.run([
            "check", "--profile", profile("raspberry-pi-4"), "--model", EdgeNodeProcess.smolLM2, "--json",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let plan = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(plan["fits"] as? Bool, true)
        XCTAssertGreaterThan(plan["max_ctx_at_rank"] as? Int ?? 0, 256)
        let parts = try XCTUnwrap(plan["plan"] as? [String: Int])
        XCTAssertEqual(
            parts["total"],
            [
                "weights", "mapped_model", "activations", "backward_scratch", "lora", "gradients", "optimizer_state",
                "runtime",
            ].reduce(0) { $0 + parts[$1]! })
    }

    func testMalformedProfileNamesFileKeyAndProblem() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = try String(contentsOfFile: profile("raspberry-pi-4"), encoding: .utf8).replacingOccurrences(
            of: "dac_bits = 12", with: "dac_bits = \"twelve\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try EdgeNodeProcess.run(["check", "--profile", path, "--model", EdgeNodeProcess.smolLM2])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(
            r.stderr.contains(path) && r.stderr.contains("dac_bits") && r.stderr.contains("integer"), r.stderr)
    }
}
