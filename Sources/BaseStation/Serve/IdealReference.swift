import CommandLineSupport
import Foundation
import Wire

/// The ideal-FL run a fleet run is compared with: the same scenario file, seed and rounds, with
/// `aggregation = ideal`. A run's summary.json carries its `scenario_fingerprint` (the file's bytes
/// with the seed and rounds it ran with, everything but the aggregation mode), so a later run
/// finds its reference among the results without a registry.
enum IdealReference {
    /// FNV-1a (64-bit) of the scenario file and the run's seed and rounds, as hex. An identifier
    /// for matching runs, not a security checksum.
    ///
    /// `overrides` are the run's `--set` values; those that set the aggregation mode are left out,
    /// so an ideal run made with `--set federation.aggregation="ideal"` matches too.
    static func fingerprint(scenarioFile: String, seed: UInt64, rounds: Int, overrides: [String] = []) -> String {
        var bytes = [UInt8](FileManager.default.contents(atPath: scenarioFile) ?? Data())
        let kept = runDefining(overrides)
        bytes += Array("|seed=\(seed)|rounds=\(rounds)|\(kept.joined(separator: "|"))".utf8)
        return fnv1a(bytes)
    }

    /// FNV-1a (64-bit) of `bytes`, as 16 hex digits.
    static func fnv1a<C: Sequence>(_ bytes: C) -> String where C.Element == UInt8 {
        String(format: "%016llx", FNV1a.hash(bytes))
    }

    /// The `--set` overrides that define a run for comparison: all but the aggregation mode.
    static func runDefining(_ overrides: [String]) -> [String] {
        overrides.filter { !$0.replacingOccurrences(of: " ", with: "").hasPrefix("federation.aggregation=") }
    }

    /// The newest ideal run under `root` (each subdirectory's summary.json) with `fingerprint`:
    /// its directory and final held-out perplexity.
    static func find(under root: String, fingerprint: String, excluding own: String) -> (
        directory: String, perplexity: Double
    )? {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: root) else { return nil }
        var best: (directory: String, perplexity: Double, date: Date)?
        for entry in entries {
            let dir = (root as NSString).appendingPathComponent(entry)
            let path = dir + "/summary.json"
            guard URL(fileURLWithPath: dir).standardized != URL(fileURLWithPath: own).standardized,
                fm.fileExists(atPath: path), let summary = try? RunSummary.read(directory: dir),
                summary.aggregation == AggregationMode.ideal.name, summary.scenarioFingerprint == fingerprint,
                summary.finalPerplexity.isFinite
            else { continue }
            let perplexity = summary.finalPerplexity
            let date = (try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            if best == nil || date > best!.date { best = (dir, perplexity, date) }
        }
        return best.map { ($0.directory, $0.perplexity) }
    }

    /// The summary's comparison line: the reference's perplexity, or how to produce it.
    static func line(
        scenarioFile: String, seed: UInt64, rounds: Int, overrides: [String] = [], results: String, aggregation: String
    ) -> String {
        guard aggregation != AggregationMode.ideal.name else {
            return "this run is the ideal-FL reference for its scenario and seed"
        }
        let key = fingerprint(scenarioFile: scenarioFile, seed: seed, rounds: rounds, overrides: overrides)
        let sets = runDefining(overrides).map { " --set '\($0)'" }.joined()
        // Not NSString.deletingLastPathComponent: Foundation traps on a one-component relative
        // path such as `--results r`.
        let root = resultsParent(results)
        if let r = find(under: root, fingerprint: key, excluding: results) {
            return String(format: "%.3f (ideal FL, same scenario and seed: %@)", r.perplexity, r.directory)
        }
        return
            "no ideal-FL run of this scenario and seed in \(root)/; make one with: launch/fleet.sh \(scenarioFile) "
            + "--aggregation ideal --seed \(seed) --rounds \(rounds)\(sets)"
    }
}

extension IdealReference {
    /// The directory holding `results` ("." for a bare name, "/" for a top-level one).
    static func resultsParent(_ results: String) -> String {
        var path = Substring(results)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
