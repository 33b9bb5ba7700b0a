import Foundation
import XCTest

@testable import LanguageModel

final class DataTests: XCTestCase {
    func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Fortune files: quotes between `%` lines, category = file name; only files with a .dat index.
    func testFortunesParsing() throws {
        let dir = try tempDir()
        try "First quote\n  -- someone\n%\nSecond\n%\n\n%\nThird\n".write(
            to: dir.appendingPathComponent("alpha"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("alpha.dat"), atomically: true, encoding: .utf8)
        try "Beta one\n%\n".write(to: dir.appendingPathComponent("beta"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("beta.dat"), atomically: true, encoding: .utf8)
        try "not indexed".write(to: dir.appendingPathComponent("gamma"), atomically: true, encoding: .utf8)
        // A language's subdirectory (fortunes-de installs de/…) gives LANG/NAME categories.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("de"), withIntermediateDirectories: true)
        try "Erstes Zitat\n%\nZweites\n".write(
            to: dir.appendingPathComponent("de/zitate"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("de/zitate.dat"), atomically: true, encoding: .utf8)
        XCTAssertEqual(TextCorpus.fortuneCategories(directory: dir.path), ["alpha", "beta", "de/zitate"])
        XCTAssertEqual(
            try TextCorpus.load("fortunes:de/zitate", fortunesDirectory: dir.path).map(\.text),
            ["Erstes Zitat", "Zweites"])
        XCTAssertEqual(
            Set(try TextCorpus.load("fortunes:all", fortunesDirectory: dir.path).map(\.category)), ["alpha", "beta"])
        let docs = try TextCorpus.load("fortunes:alpha,beta", fortunesDirectory: dir.path)
        XCTAssertEqual(docs.map(\.text), ["First quote\n  -- someone", "Second", "Third", "Beta one"])
        XCTAssertEqual(docs.map(\.category), ["alpha", "alpha", "alpha", "beta"])
        XCTAssertThrowsError(try TextCorpus.load("fortunes:gamma", fortunesDirectory: dir.path)) {
            XCTAssertTrue("\($0)".contains("no such fortune category"), "\($0)")
        }
        // The real corpus (Debian's fortunes, installed by launch/setup.sh): thousands of quotes.
        let all = try TextCorpus.load("fortunes:all")
        XCTAssertGreaterThan(all.count, 5000)
        XCTAssertGreaterThan(Set(all.map(\.category)).count, 20)
    }

    func testJSONLinesAndPlainText() throws {
        let dir = try tempDir()
        let jsonl = dir.appendingPathComponent("set.jsonl")
        try "{\"text\": \"plain\"}\n\n{\"instruction\": \"Hi?\", \"response\": \"Hello.\", \"category\": \"chat\"}\n"
            .write(to: jsonl, atomically: true, encoding: .utf8)
        let docs = try TextCorpus.load(jsonl.path)
        XCTAssertEqual(docs[0], Document(text: "plain", category: "set"))
        XCTAssertEqual(docs[1].text, "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n")
        XCTAssertEqual(docs[1].category, "chat")
        try "{\"text\": \"ok\"}\n{\"prompt\": 1}\n".write(to: jsonl, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextCorpus.load(jsonl.path)) { XCTAssertEqual(($0 as? DataSourceError)?.line, 2) }
        try "{\"text\": \"ok\"}\nnot json\n".write(to: jsonl, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextCorpus.load(jsonl.path)) { XCTAssertEqual(($0 as? DataSourceError)?.line, 2) }
        let txt = dir.appendingPathComponent("notes.txt")
        try "Para one.\nstill one.\n\nPara two.\n\n\n".write(to: txt, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TextCorpus.load(txt.path).map(\.text), ["Para one.\nstill one.", "Para two."])
        XCTAssertThrowsError(try TextCorpus.load(dir.appendingPathComponent("absent.txt").path))
    }

    func corpus() -> [Document] {
        (0..<10).flatMap { c in (0..<50).map { Document(text: "doc \(c)-\($0)", category: "cat\(c)") } }
    }

    /// The held-out split is disjoint from training, covers every category, and is seeded.
    func testHeldOutSplit() {
        let docs = corpus()
        let (train, held) = DataPartition.split(docs, heldOutFraction: 0.2, seed: 4)
        XCTAssertEqual(train.count + held.count, docs.count)
        XCTAssertTrue(Set(train.map(\.text)).isDisjoint(with: Set(held.map(\.text))))
        XCTAssertEqual(held.count, 100)
        XCTAssertEqual(Set(held.map(\.category)).count, 10)
        XCTAssertEqual(DataPartition.split(docs, heldOutFraction: 0.2, seed: 4).heldOut, held)
        XCTAssertNotEqual(DataPartition.split(docs, heldOutFraction: 0.2, seed: 5).heldOut, held)
    }

    /// With a held-out seed of its own, runs of different seeds evaluate the same held-out
    /// documents and still train on different partitions.
    func testHeldOutSetIsTheSameForEverySeed() throws {
        let dir = try tempDir()
        let path = dir.appendingPathComponent("docs.jsonl").path
        let lines = (0..<200).map { "{\"text\": \"document \($0)\", \"category\": \"c\($0 % 4)\"}" }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        func data(_ seed: UInt64, heldOutSeed: UInt64?) throws -> FederatedData {
            try FederatedData(
                spec: path, partition: .dirichlet, devices: 3, dirichletAlpha: 0.5, heldOutFraction: 0.1, seed: seed,
                heldOutSeed: heldOutSeed)
        }
        let a = try data(1, heldOutSeed: 0)
        let b = try data(2, heldOutSeed: 0)
        XCTAssertEqual(a.heldOut, b.heldOut)
        XCTAssertNotEqual(a.shards, b.shards)
        XCTAssertNotEqual(
            try data(1, heldOutSeed: nil).heldOut, try data(2, heldOutSeed: nil).heldOut,
            "the run's seed splits otherwise")
    }

    /// The evaluation budget is shared alike by the categories, not spent on the first one, and
    /// stops at the budget (documents whole, in their order within each category).
    func testBalancedSample() {
        let (_, held) = DataPartition.split(corpus(), heldOutFraction: 0.2, seed: 4)
        // 3 tokens with the separator
        let sample = DataPartition.balancedSample(held, tokens: 60, countTokens: { _ in 2 })
        XCTAssertEqual(sample.count, 20)
        XCTAssertEqual(
            Dictionary(grouping: sample, by: \.category).mapValues(\.count),
            Dictionary(uniqueKeysWithValues: (0..<10).map { ("cat\($0)", 2) }))
        XCTAssertEqual(sample.filter { $0.category == "cat3" }, Array(held.filter { $0.category == "cat3" }.prefix(2)))
        // A budget beyond the documents takes them all; an uneven one ends mid-cycle.
        XCTAssertEqual(DataPartition.balancedSample(held, tokens: 10_000, countTokens: { _ in 2 }).count, held.count)
        XCTAssertEqual(
            DataPartition.balancedSample(held, tokens: 7, countTokens: { _ in 2 }).map(\.category),
            ["cat0", "cat1", "cat2"])
    }

    func testPartitions() {
        let docs = corpus()
        let byCategory = DataPartition.byCategory(docs, devices: 3)
        XCTAssertEqual(byCategory.map { Set($0.map(\.category)).count }, [4, 3, 3])
        for i in 0..<3 {
            for j in (i + 1)..<3 {
                XCTAssertTrue(Set(byCategory[i].map(\.category)).isDisjoint(with: Set(byCategory[j].map(\.category))))
            }
        }
        // Dirichlet: every document exactly once; small α concentrates each category on few devices,
        // large α spreads it evenly.
        func largestShare(_ parts: [[Document]]) -> Double {
            let shares = (0..<10).map { c in
                parts.map { p in Double(p.filter { $0.category == "cat\(c)" }.count) / 50 }.max()!
            }
            return shares.reduce(0, +) / 10
        }
        let concentrated = DataPartition.dirichlet(docs, devices: 5, alpha: 0.05, seed: 1)
        let spread = DataPartition.dirichlet(docs, devices: 5, alpha: 1000, seed: 1)
        for parts in [concentrated, spread] {
            XCTAssertEqual(parts.flatMap { $0 }.map(\.text).sorted(), docs.map(\.text).sorted())
        }
        XCTAssertGreaterThan(largestShare(concentrated), 0.8)
        XCTAssertLessThan(largestShare(spread), 0.3)
        XCTAssertEqual(
            DataPartition.dirichlet(docs, devices: 5, alpha: 0.5, seed: 9).map { $0.map(\.text) },
            DataPartition.dirichlet(docs, devices: 5, alpha: 0.5, seed: 9).map { $0.map(\.text) })
    }

    /// Gamma(k) variates have mean k and variance k (Marsaglia–Tsang, incl. the k < 1 boost).
    func testGammaMoments() {
        for shape in [0.3, 1.0, 4.5] {
            var g = DataRandom(seed: 3, stream: 7)
            let n = 200_000
            let xs = (0..<n).map { _ in g.gamma(shape) }
            let mean = xs.reduce(0, +) / Double(n)
            let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            XCTAssertEqual(mean, shape, accuracy: 5 * (shape / Double(n)).squareRoot())
            XCTAssertEqual(variance / shape, 1, accuracy: 0.05)
        }
    }

    /// A sampler positioned at n draws continues exactly as one that drew n windows, across epochs
    /// (a restarted node, or a replayed round, draws what it would have).
    func testSamplerPositionedAtNDrawsContinuesLikeOneThatDrewThem() throws {
        let windows = (0..<7).map { [$0, $0 + 100] }
        let fresh = try WindowSampler(windows, seed: 11)
        for n in [0, 1, 6, 7, 8, 20, 21, 50] {
            var sequential = fresh
            for _ in 0..<n { _ = sequential.next() }
            var jumped = fresh
            for _ in 0..<3 { _ = jumped.next() } // whatever it drew before
            jumped = jumped.positioned(at: n)
            XCTAssertEqual(jumped.drawn, n)
            XCTAssertEqual(jumped.epoch, sequential.epoch, "after \(n) draws")
            XCTAssertEqual(
                (0..<16).map { _ in jumped.next() }, (0..<16).map { _ in sequential.next() }, "after \(n) draws")
        }
    }
}
