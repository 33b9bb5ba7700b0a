import CommandLineSupport
import Foundation
import LanguageModel

/// Everything a run leaves in `results/<run>/`, each file replaced durably (`DurableFile`: a
/// crash at any moment leaves the previous complete version): metrics.csv and
/// checkpoint/checkpoint.gguf after every round, and at the end summary.json, loss.svg,
/// perplexity.svg, adapter.gguf and peft/.
struct RunRecorder {
    let directory: String
    private(set) var rows: [MetricsRow] = []

    /// Writes into `directory`, replacing any run there: the caller refuses one first unless told
    /// to overwrite (`refuseExistingRun`, which `FederationServer` checks before loading anything).
    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/checkpoint", withIntermediateDirectories: true)
        DurableFile.removeLeftovers(in: directory)
        DurableFile.removeLeftovers(in: directory + "/checkpoint")
    }

    /// Where a run's checkpoint is (`RunCheckpoint`, replaced after every round).
    static func checkpointPath(in directory: String) -> String { directory + "/checkpoint/checkpoint.gguf" }

    /// A resumed run's rows so far (metrics.csv is rewritten from them: rows of a round the
    /// checkpoint does not hold are dropped with it).
    mutating func restore(_ rows: [MetricsRow]) throws {
        self.rows = []
        try append(rows)
    }

    /// Throws `RunDirectoryError` when `directory` holds a run's results (metrics.csv,
    /// summary.json, a checkpoint), so a rerun cannot silently destroy an earlier one. (Anything
    /// else there, such as the launch scripts' logs/, is no run.)
    static func refuseExistingRun(in directory: String) throws {
        if let found = runFiles.first(where: { FileManager.default.fileExists(atPath: directory + "/" + $0) }) {
            throw RunDirectoryError(directory: directory, found: found)
        }
    }

    /// What marks a directory as holding a run.
    static let runFiles = [
        "metrics.csv", "summary.json", "checkpoint/checkpoint.gguf", "checkpoint/state.json", "checkpoint/adapter.gguf",
        "adapter.gguf",
    ]

    package static func write(_ text: String, to path: String) throws { try DurableFile.write(text: text, to: path) }

    mutating func append(_ new: [MetricsRow]) throws {
        rows += new
        try Self.write(
            ([MetricsRow.header] + rows.map(\.csv)).joined(separator: "\n") + "\n", to: directory + "/metrics.csv")
    }

    func finish(_ adapter: LoRAAdapter, config: LlamaConfig, summary: RunSummary) throws {
        try DurableFile.write(try adapter.ggufWriter().encoded(), to: directory + "/adapter.gguf")
        try PEFTExport.write(adapter, config: config, to: directory + "/peft")
        try DurableFile.write(
            try JSONRecord.encoded(summary),
            to: directory + "/summary.json")
        // Round 0 is the base model; a pilot round's row (whatever its status) is no training round.
        let global = rows.filter { $0.node == "global" && ($0.round > 0 || $0.status == .initial) }
        var trainLoss = [(x: Double, y: Double)]()
        for r in Set(rows.map(\.round)).sorted() where r > 0 {
            let losses = rows.filter { $0.round == r && $0.node != "global" && $0.trainLoss.isFinite }.map(\.trainLoss)
            if !losses.isEmpty { trainLoss.append((Double(r), losses.reduce(0, +) / Double(losses.count))) }
        }
        try Self.write(
            SVGPlot(
                title: "Loss", xLabel: "round", yLabel: "loss (nats/token)",
                series: [
                    ("held-out", global.map { (Double($0.round), $0.heldOutLoss) }),
                    ("train (mean over nodes)", trainLoss),
                ]
            ).render(), to: directory + "/loss.svg")
        try Self.write(
            SVGPlot(
                title: "Held-out perplexity", xLabel: "round", yLabel: "perplexity",
                series: [
                    ("held-out", global.map { (Double($0.round), $0.heldOutPerplexity) })
                ]
            ).render(), to: directory + "/perplexity.svg")
    }
}

/// `serve --results DIR` where DIR already holds a run.
struct RunDirectoryError: Error, CustomStringConvertible {
    let directory: String, found: String
    var description: String {
        "\(directory) already holds a run (\(found)); give another --results, or --overwrite to replace it"
    }
}
