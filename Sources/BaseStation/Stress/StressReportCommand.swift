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
            // Repetitions of a point (`launch/stress.sh --reps N`) end in -r1, -r2, …: one row each point.
            let groups = Dictionary(grouping: files.map { String($0.dropLast(5)) }) { Self.pointName($0) }
            var rows = try groups.keys.sorted().map { name in
                Self.combine(try groups[name]!.sorted().map { try Self.run((points as NSString).appendingPathComponent($0), name: name) })
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
            for row in rows { FileHandle.standardError.write(Data((Self.line(row) + "\n").utf8)) }
        }
    }

    /// A point's name without its repetition suffix (-rN).
    static func pointName(_ run: String) -> String {
        guard let dash = run.lastIndex(of: "-") else { return run }
        let suffix = run[run.index(after: dash)...]
        guard suffix.count > 1, suffix.first == "r", suffix.dropFirst().allSatisfy(\.isNumber) else { return run }
        return String(run[..<dash])
    }

    /// The frame size in a point's name (k<K>-f<KiB>k-<format>…), or an error naming the file.
    static func frameKiB(_ name: String) throws -> Int {
        let parts = name.split(separator: "-")
        guard parts.count >= 3, parts[1].first == "f", parts[1].last == "k", let kib = Int(parts[1].dropFirst().dropLast()) else {
            throw CommandError("\(name).json is not a stress point (its name is not k<K>-f<KiB>k-<format>…)")
        }
        return kib
    }

    /// One run of a point: ours (<base>.json) beside its raw-libzmq peer (<base>.raw.json), the
    /// senders' CPU of both, the ratio and its split.
    static func run(_ base: String, name: String) throws -> [String: Any] {
        var point = try object(base + ".json")
        var raw = try object(base + ".raw.json")
        // The senders' own CPU, where the flood wrote it (points of older runs lack it).
        point["flood_cores_busy"] = (try? object(base + ".flood.json"))?["cpu_cores_busy"]
        raw["flood_cores_busy"] = (try? object(base + ".raw-flood.json"))?["cpu_cores_busy"]
        let frames = point["frames_in"] as? Double ?? 0
        point["mean_frame_bytes"] = frames > 0 ? (point["bytes_in"] as? Double ?? 0) / frames : 0
        point["raw_zmq"] = raw
        point["frame_kib"] = try frameKiB(name)
        if let ours = point["mb_per_s"] as? Double, let theirs = raw["mb_per_s"] as? Double, theirs > 0 { point["ratio_to_raw_zmq"] = ours / theirs }
        point.merge(ratioSplit(ours: point, raw: raw)) { $1 }
        return point
    }

    /// A point's runs as one row: the run whose ratio to raw is the median (the lower one of an
    /// even count), whole, so every figure in the row comes from one real run, and `reps`, how many
    /// runs; with several, also `runs` (each run's MB/s, raw MB/s, ratio and peak RSS),
    /// `ratio_min`, `ratio_max` and `peak_rss_bytes_max`.
    static func combine(_ runs: [[String: Any]]) -> [String: Any] {
        func ratio(_ r: [String: Any]) -> Double { r["ratio_to_raw_zmq"] as? Double ?? 0 }
        let sorted = runs.sorted { ratio($0) < ratio($1) }
        var row = sorted[(sorted.count - 1) / 2]
        row["reps"] = runs.count
        guard runs.count > 1 else { return row }
        row["runs"] = runs.map { r -> [String: Any] in
            ["mb_per_s": r["mb_per_s"] ?? 0, "raw_mb_per_s": (r["raw_zmq"] as? [String: Any])?["mb_per_s"] ?? 0,
             "ratio_to_raw_zmq": ratio(r), "peak_rss_bytes": r["peak_rss_bytes"] ?? 0]
        }
        row["ratio_min"] = ratio(sorted.first!)
        row["ratio_max"] = ratio(sorted.last!)
        row["peak_rss_bytes_max"] = runs.compactMap { $0["peak_rss_bytes"] as? Int }.max()
        return row
    }

    /// The ratio to raw libzmq as the product of two factors, from the whole machine's busy time:
    /// `cost_ratio` (raw's busy core-ns per byte ÷ ours: what the base station's work adds to each
    /// byte) and `busy_ratio` (cores busy in our run ÷ in raw's: time the cores sat idle, waiting
    /// on turnarounds or round ends). ours/raw = cost_ratio × busy_ratio exactly, both runs' rates
    /// being cores busy ÷ cost per byte.
    static func ratioSplit(ours: [String: Any], raw: [String: Any]) -> [String: Any] {
        guard let oursCost = ours["machine_cpu_ns_per_byte"] as? Double, let rawCost = raw["machine_cpu_ns_per_byte"] as? Double,
              let oursBusy = ours["machine_cores_busy"] as? Double, let rawBusy = raw["machine_cores_busy"] as? Double,
              oursCost > 0, rawBusy > 0 else { return [:] }
        return ["cost_ratio": rawCost / oursCost, "busy_ratio": oursBusy / rawBusy]
    }

    /// One point, for the terminal.
    static func line(_ r: [String: Any]) -> String {
        func f(_ key: String, _ digits: Int, in o: [String: Any] = r) -> String {
            (o[key] as? Double).map { String(format: "%.\(digits)f", $0) } ?? "?"
        }
        let raw = r["raw_zmq"] as? [String: Any] ?? [:], latency = r["latency_ms"] as? [String: Any] ?? [:]
        let rss = (r["peak_rss_bytes"] as? Int).map { String(format: "%.1f", Double($0) / 1e6) } ?? "?"
        return "stress: K = \(r["nodes"] ?? "?"), \(r["frame_kib"] ?? "?") KiB, \(r["security"] ?? "?"): \(f("mb_per_s", 0)) MB/s, "
            + "\(f("ratio_to_raw_zmq", 2)) of raw libzmq's \(f("mb_per_s", 0, in: raw)) (cost \(f("cost_ratio", 2)) × busy \(f("busy_ratio", 2)); "
            + "machine \(f("machine_cpu_ns_per_byte", 2)) core-ns/B vs \(f("machine_cpu_ns_per_byte", 2, in: raw)); "
            + "cores busy: base station \(f("cpu_cores_busy", 2)) vs \(f("cpu_cores_busy", 2, in: raw)), flood \(f("flood_cores_busy", 2)) vs \(f("flood_cores_busy", 2, in: raw))), "
            + "round p50 \(f("p50", 1, in: latency)) ms, peak RSS \(rss) MB"
            + ((r["reps"] as? Int ?? 1) > 1 ? "; the median of \(r["reps"]!) runs, ratio \(f("ratio_min", 2))–\(f("ratio_max", 2))" : "")
    }

    static func object(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw CommandError("\(path) is not a JSON object") }
        return o
    }

    func csv(_ rows: [[String: Any]]) -> String {
        let columns = ["security", "round_end", "frame_kib", "nodes", "format", "rounds", "mb_per_s", "frames_per_s", "samples_ingested_per_s", "symbols_combined_per_s",
                       "ratio_to_raw_zmq", "reps", "ratio_min", "ratio_max", "cost_ratio", "busy_ratio", "cpu_cores_busy", "flood_cores_busy", "machine_cores_busy", "machine_cpu_ns_per_byte", "peak_rss_bytes"]
        let rawColumns = ["mb_per_s", "cpu_cores_busy", "flood_cores_busy", "machine_cores_busy", "machine_cpu_ns_per_byte"]
        var out = (columns + rawColumns.map { "raw_" + $0 } + ["latency_p50_ms", "latency_p99_ms", "latency_max_ms"]).joined(separator: ",") + "\n"
        for r in rows {
            let latency = r["latency_ms"] as? [String: Double] ?? [:]
            let raw = r["raw_zmq"] as? [String: Any] ?? [:]
            let cells = columns.map { "\(r[$0] ?? "")" } + rawColumns.map { "\(raw[$0] ?? "")" }
                + ["\(latency["p50"] ?? .nan)", "\(latency["p99"] ?? .nan)", "\(latency["max"] ?? .nan)"]
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
