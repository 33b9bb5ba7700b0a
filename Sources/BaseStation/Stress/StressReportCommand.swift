import ArgumentParser
import CommandLineSupport
import Foundation

/// `basestation stress-report`: the points `launch/stress.sh` measured, gathered into
/// `stress.json` (each point beside libzmq's own throughput for the same frames, pattern and
/// senders, and the ratio), `stress.csv` and `stress.svg` (MB/s in against K).
struct StressReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stress-report", abstract: "Gather stress points into stress.json, .csv and .svg.")
    @Option(help: "Folder of the points (<name>.json and <name>.raw.json).") var points: String
    @Option(help: "Where stress.json, stress.csv and stress.svg go.") var out: String
    @Option(help: "How the base station and the flood shared the cores (recorded in stress.json).")
    var cores = "the base station and the flood share the machine's cores, unpinned"

    func run() throws {
        try failing {
            let files = try FileManager.default.contentsOfDirectory(atPath: points)
                .filter { $0.hasSuffix(".json") && !$0.contains(".raw") && !$0.contains("flood") && !$0.contains(".key") }.sorted()
            var rows = [[String: Any]]()
            for file in files {
                let base = (points as NSString).appendingPathComponent(String(file.dropLast(5)))
                var point = try Self.object(base + ".json")
                let raw = try Self.object(base + ".raw.json")
                let frameBytes = (point["frames_in"] as? Double ?? 0) > 0 ? (point["bytes_in"] as? Double ?? 0) / (point["frames_in"] as? Double ?? 1) : 0
                point["raw_zmq"] = raw
                point["frame_kib"] = Int((String(file.split(separator: "-")[1]).dropFirst().dropLast()).filter(\.isNumber)) ?? 0
                point["mean_frame_bytes"] = frameBytes
                if let ours = point["mb_per_s"] as? Double, let theirs = raw["mb_per_s"] as? Double, theirs > 0 { point["ratio_to_raw_zmq"] = ours / theirs }
                rows.append(point)
            }
            guard !rows.isEmpty else { throw CommandError("no stress points in \(points)") }
            rows.sort { ($0["security"] as? String ?? "", $0["frame_kib"] as? Int ?? 0, $0["nodes"] as? Int ?? 0) < ($1["security"] as? String ?? "", $1["frame_kib"] as? Int ?? 0, $1["nodes"] as? Int ?? 0) }
            let document: [String: Any] = [
                "machine": "\(ExperimentReport.cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores",
                "cores": cores, "points": rows,
            ]
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
            try data.write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("stress.json")), options: .atomic)
            try csv(rows).write(toFile: (out as NSString).appendingPathComponent("stress.csv"), atomically: true, encoding: .utf8)
            try plot(rows).render().write(toFile: (out as NSString).appendingPathComponent("stress.svg"), atomically: true, encoding: .utf8)
        }
    }

    static func object(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw CommandError("\(path) is not a JSON object") }
        return o
    }

    func csv(_ rows: [[String: Any]]) -> String {
        let columns = ["security", "round_end", "frame_kib", "nodes", "format", "rounds", "mb_per_s", "frames_per_s", "samples_ingested_per_s", "symbols_combined_per_s",
                       "ratio_to_raw_zmq", "cpu_cores_busy", "peak_rss_bytes"]
        var out = (columns + ["raw_mb_per_s", "latency_p50_ms", "latency_p99_ms", "latency_max_ms"]).joined(separator: ",") + "\n"
        for r in rows {
            let latency = r["latency_ms"] as? [String: Double] ?? [:]
            let raw = r["raw_zmq"] as? [String: Any] ?? [:]
            let cells = columns.map { "\(r[$0] ?? "")" } + ["\(raw["mb_per_s"] ?? "")", "\(latency["p50"] ?? .nan)", "\(latency["p99"] ?? .nan)", "\(latency["max"] ?? .nan)"]
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }

    /// MB/s in against K: the base station (solid) and raw libzmq (dashed), one colour per frame size.
    func plot(_ rows: [[String: Any]]) -> SVGPlot {
        let sizes = Set(rows.compactMap { $0["frame_kib"] as? Int }).sorted()
        let modes = Set(rows.map { $0["security"] as? String ?? "plaintext" }).sorted()
        var series = [(name: String, points: [(x: Double, y: Double)])](), dashed = Set<Int>()
        for mode in modes {
            for kib in sizes {
                let points = rows.filter { $0["frame_kib"] as? Int == kib && ($0["security"] as? String ?? "plaintext") == mode }
                guard !points.isEmpty else { continue }
                let label = modes.count > 1 ? "\(kib) KiB, \(mode)" : "\(kib) KiB"
                series.append(("base station, \(label)", points.map { (Double($0["nodes"] as? Int ?? 0), $0["mb_per_s"] as? Double ?? .nan) }))
                series.append(("raw libzmq, \(label)", points.map {
                    (Double($0["nodes"] as? Int ?? 0), ($0["raw_zmq"] as? [String: Any])?["mb_per_s"] as? Double ?? .nan)
                }))
                dashed.insert(series.count - 1)
            }
        }
        var p = SVGPlot(title: "Base-station ingest under a flood of K synthetic nodes", xLabel: "K, sending nodes", yLabel: "MB/s in",
                        series: series)
        p.xLog = true
        p.dashed = dashed
        return p
    }
}
