import ArgumentParser
import CommandLineSupport
import Foundation

/// `basestation stress-report`: the points `launch/stress.sh` measured, gathered into
/// `stress.json` (each point beside libzmq's own throughput for the same frames, pattern and
/// senders, and the ratio), `stress.csv` and `stress.svg` (MB/s in against K).
struct StressReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress-report", abstract: "Gather stress points into stress.json, .csv and .svg.")
    @Option(help: "Folder of the points (<name>.json and <name>.raw.json).") var points: String
    @Option(help: "Where stress.json, stress.csv and stress.svg go.") var out: String
    @Option(help: "How the base station and the flood shared the cores (recorded in stress.json).")
    var cores = "the base station and the flood share the machine's cores, unpinned"

    func run() throws {
        try failing {
            let files = try FileManager.default.contentsOfDirectory(atPath: points)
                .filter {
                    $0.hasSuffix(".json") && !$0.contains(".raw") && !$0.contains("flood") && !$0.contains(".key")
                }.sorted()
            // Repetitions of a point (`launch/stress.sh --reps N`) end in -r1, -r2, …: one row each point.
            let groups = Dictionary(grouping: files.map { String($0.dropLast(5)) }) { Self.pointName($0) }
            var rows = try groups.keys.sorted().map { name in
                Self.combine(
                    try groups[name]!.sorted().map {
                        try Self.run((points as NSString).appendingPathComponent($0), name: name)
                    })
            }
            guard !rows.isEmpty else { throw CommandError("no stress points in \(points)") }
            rows.sort {
                ($0.point.security, $0.frameKib, $0.point.nodes) < ($1.point.security, $1.frameKib, $1.point.nodes)
            }
            let document = StressReport(
                machine: "\(MachineDescription.cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores",
                cores: cores, points: rows)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let data = try JSONRecord.encoded(document)
            try data.write(
                to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("stress.json")), options: .atomic)
            try csv(rows).write(
                toFile: (out as NSString).appendingPathComponent("stress.csv"), atomically: true, encoding: .utf8)
            try plot(rows).render().write(
                toFile: (out as NSString).appendingPathComponent("stress.svg"), atomically: true, encoding: .utf8)
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
        guard parts.count >= 3, parts[1].first == "f", parts[1].last == "k",
            let kib = Int(parts[1].dropFirst().dropLast())
        else {
            throw CommandError("\(name).json is not a stress point (its name is not k<K>-f<KiB>k-<format>…)")
        }
        return kib
    }

    /// One run of a point: ours (<base>.json) beside its raw-libzmq peer (<base>.raw.json), the
    /// senders' CPU of both, the ratio and its split.
    static func run(_ base: String, name: String) throws -> StressReportRow {
        let point = try JSONRecord.read(StressPoint.self, from: base + ".json")
        var raw = try JSONRecord.read(WireProbeResult.self, from: base + ".raw.json")
        // The senders' own CPU, where the flood wrote it (points of older runs lack it).
        raw.floodCoresBusy = (try? JSONRecord.read(FloodUsage.self, from: base + ".raw-flood.json"))?.cpuCoresBusy
        var row = StressReportRow(point: point, rawZmq: raw, frameKib: try frameKiB(name))
        row.floodCoresBusy = (try? JSONRecord.read(FloodUsage.self, from: base + ".flood.json"))?.cpuCoresBusy
        return row
    }

    /// A point's runs as one row: the run whose ratio to raw is the median (the lower one of an
    /// even count), whole, so every figure in the row comes from one real run, and `reps`, how many
    /// runs; with several, also `runs` (each run's MB/s, raw MB/s, ratio and peak RSS),
    /// `ratio_min`, `ratio_max` and `peak_rss_bytes_max`.
    static func combine(_ runs: [StressReportRow]) -> StressReportRow {
        func ratio(_ r: StressReportRow) -> Double { r.ratioToRawZmq ?? 0 }
        let sorted = runs.sorted { ratio($0) < ratio($1) }
        var row = sorted[(sorted.count - 1) / 2]
        row.reps = runs.count
        guard runs.count > 1 else { return row }
        row.runs = runs.map {
            .init(
                mbPerS: $0.point.mbPerS, rawMbPerS: $0.rawZmq.mbPerS, ratioToRawZmq: ratio($0),
                peakRssBytes: $0.point.peakRssBytes)
        }
        row.ratioMin = ratio(sorted.first!)
        row.ratioMax = ratio(sorted.last!)
        row.peakRssBytesMax = runs.map(\.point.peakRssBytes).max()
        return row
    }

    /// One point, for the terminal.
    static func line(_ r: StressReportRow) -> String {
        func f(_ v: Double?, _ digits: Int) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "?" }
        let p = r.point
        let raw = r.rawZmq
        return
            "stress: K = \(p.nodes), \(r.frameKib) KiB, \(p.security): \(f(p.mbPerS, 0)) MB/s, "
            + "\(f(p.realTimeFactor, 2))× real time (N_sc = \(p.subcarriers) at "
            + "\(f(p.subcarrierSpacingHz / 1000, 0)) kHz), "
            + "\(f(r.ratioToRawZmq, 2)) of raw libzmq's \(f(raw.mbPerS, 0)) (cost \(f(r.costRatio, 2)) "
            + "× busy \(f(r.busyRatio, 2)); "
            + "machine \(f(p.machineCpuNsPerByte, 2)) core-ns/B vs \(f(raw.machineCpuNsPerByte, 2)); "
            + "cores busy: base station \(f(p.cpuCoresBusy, 2)) vs \(f(raw.cpuCoresBusy, 2)), flood "
            + "\(f(r.floodCoresBusy, 2)) vs \(f(raw.floodCoresBusy, 2))), "
            + "round p50 \(f(p.latencyMs.p50, 1)) ms, peak RSS \(f(Double(p.peakRssBytes) / 1e6, 1)) MB"
            + (r.reps > 1 ? "; the median of \(r.reps) runs, ratio \(f(r.ratioMin, 2))–\(f(r.ratioMax, 2))" : "")
    }

    func csv(_ rows: [StressReportRow]) -> String {
        func cell(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        let header = [
            "security", "round_end", "frame_kib", "nodes", "format", "rounds", "mb_per_s", "frames_per_s",
            "samples_ingested_per_s", "symbols_combined_per_s", "real_time_factor", "ratio_to_raw_zmq", "reps",
            "ratio_min", "ratio_max",
            "cost_ratio", "busy_ratio", "cpu_cores_busy", "flood_cores_busy", "machine_cores_busy",
            "machine_cpu_ns_per_byte", "peak_rss_bytes", "raw_mb_per_s", "raw_cpu_cores_busy", "raw_flood_cores_busy",
            "raw_machine_cores_busy", "raw_machine_cpu_ns_per_byte", "latency_p50_ms", "latency_p99_ms",
            "latency_max_ms",
        ]
        var out = header.joined(separator: ",") + "\n"
        for r in rows {
            let p = r.point
            let raw = r.rawZmq
            let cells: [String] = [
                p.security, p.roundEnd, "\(r.frameKib)", "\(p.nodes)", p.format, "\(p.rounds)", cell(p.mbPerS),
                cell(p.framesPerS), cell(p.samplesIngestedPerS), cell(p.symbolsCombinedPerS), cell(p.realTimeFactor),
                cell(r.ratioToRawZmq),
                "\(r.reps)", cell(r.ratioMin), cell(r.ratioMax), cell(r.costRatio), cell(r.busyRatio),
                cell(p.cpuCoresBusy), cell(r.floodCoresBusy), cell(p.machineCoresBusy), cell(p.machineCpuNsPerByte),
                "\(p.peakRssBytes)", cell(raw.mbPerS), cell(raw.cpuCoresBusy), cell(raw.floodCoresBusy),
                cell(raw.machineCoresBusy), cell(raw.machineCpuNsPerByte), cell(p.latencyMs.p50),
                cell(p.latencyMs.p99), cell(p.latencyMs.max),
            ]
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }

    /// MB/s in against K: the base station (solid) and raw libzmq (dashed), one colour per frame size.
    func plot(_ rows: [StressReportRow]) -> SVGPlot {
        let sizes = Set(rows.map(\.frameKib)).sorted()
        let modes = Set(rows.map(\.point.security)).sorted()
        var series = [(name: String, points: [(x: Double, y: Double)])]()
        var dashed = Set<Int>()
        for mode in modes {
            for kib in sizes {
                let points = rows.filter { $0.frameKib == kib && $0.point.security == mode }
                guard !points.isEmpty else { continue }
                let label = modes.count > 1 ? "\(kib) KiB, \(mode)" : "\(kib) KiB"
                series.append(("base station, \(label)", points.map { (Double($0.point.nodes), $0.point.mbPerS) }))
                series.append(("raw libzmq, \(label)", points.map { (Double($0.point.nodes), $0.rawZmq.mbPerS) }))
                dashed.insert(series.count - 1)
            }
        }
        var p = SVGPlot(
            title: "Base-station ingest under a flood of K synthetic nodes", xLabel: "K, sending nodes",
            yLabel: "MB/s in",
            series: series)
        p.xLog = true
        p.dashed = dashed
        return p
    }
}
