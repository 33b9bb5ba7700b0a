import ArgumentParser
import BaseStation
import CommandLineSupport
import Foundation

/// `lab publish`: the experiment suite's reports as one document a reader of the repository
/// sees without running anything (`launch/experiments.sh --publish DIR` calls it): every
/// experiment's REPORT.md in the suite's order, its figures and raw CSV copied beside it under the
/// experiment's name, and the compute the suite took.
package struct PublishCommand: ParsableCommand {
    package init() {}
    package static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Gather the experiments' REPORT.md, SVGs and CSVs of a suite directory into DIR/REPORT.md.")

    @Option(help: "The suite's directory (results/experiments).") var experiments: String
    @Option(help: "Experiments in order, comma-separated.") var order: String
    @Option(help: "Where the document goes (docs/experiments).") var out: String
    @Option(help: "The command that produced the runs (named in the document).") var command: String
    @Option(help: "Markdown placed after the header: what the numbers say, written by whoever read them.") var preface:
        String?

    package func run() throws {
        try failing {
            let fm = FileManager.default
            try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
            var body = ""
            var serve = 0.0
            var runs = 0
            var parts = [String]()
            for name in order.split(separator: ",").map(String.init) {
                let dir = "\(experiments)/\(name)"
                guard let text = try? String(contentsOfFile: dir + "/REPORT.md", encoding: .utf8) else {
                    parts.append("`\(name)`: not run yet")
                    continue
                }
                var section = text
                for file in (try fm.contentsOfDirectory(atPath: dir)).sorted()
                where file.hasSuffix(".svg") || file.hasSuffix(".csv") {
                    let target = "\(name)-\(file)"
                    if fm.fileExists(atPath: out + "/" + target) { try fm.removeItem(atPath: out + "/" + target) }
                    try fm.copyItem(atPath: dir + "/" + file, toPath: out + "/" + target)
                    section = section.replacingOccurrences(of: "](\(file))", with: "](\(target))").replacingOccurrences(
                        of: "`\(file)`", with: "`\(target)`")
                }
                // One level down: the experiment's title becomes a section of this document.
                section = section.split(separator: "\n", omittingEmptySubsequences: false).map {
                    $0.hasPrefix("#") ? "#" + $0 : String($0)
                }.joined(separator: "\n")
                body += section + "\n"
                // Compute: each run once (a variant that names another experiment's runs is a link).
                var own = 0.0
                var count = 0
                for entry in try fm.contentsOfDirectory(atPath: dir) {
                    let path = dir + "/" + entry
                    guard (try? fm.destinationOfSymbolicLink(atPath: path)) == nil,
                        fm.fileExists(atPath: path + "/summary.json"),
                        let wall = (try? RunSummary.read(directory: path))?.wallTimeS
                    else { continue }
                    own += wall
                    count += 1
                }
                serve += own
                runs += count
                parts.append(String(format: "`%@`: %d runs, %.0f min", name, count, own / 60))
            }
            let model =
                command.contains("--quick") ? "on the tiny generated model (--quick)" : "on SmolLM2-135M-Instruct"
            var md = "# The experiment suite \(model)\n\n"
            md +=
                "Produced by `\(command)` on \(MachineDescription.cpuModel()), "
                + "\(ProcessInfo.processInfo.activeProcessorCount) cores, "
            md +=
                "the base station and every edge node sharing them. Every number below is read from the runs by "
                + "`lab report`.\n\n"
            md +=
                String(
                    format: "Compute: %d fleet runs, %.2f h (%.0f min) of base-station serve time in total (", runs,
                    serve / 3600, serve / 60) + parts.joined(separator: "; ") + ").\n\n"
            if let preface {
                guard let text = try? String(contentsOfFile: preface, encoding: .utf8) else {
                    throw CommandError("\(preface): cannot read the preface")
                }
                md += text + "\n"
            }
            try DurableFile.write(text: md + body, to: out + "/REPORT.md")
        }
    }
}
