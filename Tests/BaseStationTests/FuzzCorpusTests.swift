import Foundation
import XCTest

/// The fuzz targets over their committed seed corpus in the normal build (`lab fuzz
/// TARGET DIR`), so a parser change that breaks on a seed fails here; `launch/test.sh` then runs
/// each target under libFuzzer for a fixed number of iterations (`launch/fuzz.sh all --runs N`).
final class FuzzCorpusTests: XCTestCase {
    func testEveryTargetRunsItsSeedCorpus() throws {
        for target in ["frame", "gguf", "npy", "scenario", "profile", "checkpoint"] {
            let corpus = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/\(target)").path
            let files = try FileManager.default.contentsOfDirectory(atPath: corpus)
            XCTAssertFalse(files.isEmpty, "no seeds for \(target)")
            let run = try runProduct("lab", ["fuzz", target, corpus], timeoutSeconds: 120)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("\(files.count) inputs, no crash"), run.stdout)
        }
        // The seeds are what `lab fuzz-seeds` writes (the committed corpus is its output).
        let fresh = try temporaryDirectory(self).path
        XCTAssertEqual(
            try runProduct("lab", ["fuzz-seeds", "--out", fresh, "--repository", repositoryRoot.path]).status, 0
        )
        for target in ["frame", "gguf", "npy", "scenario", "profile", "checkpoint"] {
            let committed = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/\(target)").path
            for file in try FileManager.default.contentsOfDirectory(atPath: fresh + "/" + target) {
                XCTAssertEqual(
                    FileManager.default.contents(atPath: fresh + "/\(target)/" + file),
                    FileManager.default.contents(atPath: committed + "/" + file),
                    "\(target)/\(file) differs from what fuzz-seeds writes")
            }
        }
    }
}
