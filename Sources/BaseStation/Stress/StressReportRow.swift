import CommandLineSupport
import Foundation

/// stress.json: the points `launch/stress.sh` measured, each beside its raw-libzmq peer.
struct StressReport: Codable {
    /// The CPU model and core count.
    var machine: String
    /// How the base station and the flood shared the cores.
    var cores: String
    var points: [StressReportRow]
}

/// One row of stress.json: a stress point's figures (its keys at the row's top level, as the
/// `stress --json` file has them) with the peer, the ratio and its split, and the repetitions.
struct StressReportRow: Codable {
    var point: StressPoint
    /// The senders' CPU cores busy (`edgenode flood`'s own figure); nil where the flood wrote none.
    var floodCoresBusy: Double?
    /// libzmq's own throughput for the same frames, pattern and senders.
    var rawZmq: WireProbeResult
    /// The frame size in the point's name.
    var frameKib: Int
    /// Runs of this point (`launch/stress.sh --reps N`); this row is the median run's.
    var reps = 1
    /// With several runs: each run's figures, the ratio's range and the largest peak RSS.
    var runs: [RunFigures]?
    var ratioMin: Double?
    var ratioMax: Double?
    var peakRssBytesMax: Int?

    /// Ours ÷ raw MB/s; nil when raw moved nothing.
    var ratioToRawZmq: Double? { rawZmq.mbPerS > 0 ? point.mbPerS / rawZmq.mbPerS : nil }

    /// The mean frame's bytes as received.
    var meanFrameBytes: Double { point.framesIn > 0 ? Double(point.bytesIn) / Double(point.framesIn) : 0 }

    /// The ratio to raw libzmq as the product of two factors, from the whole machine's busy time:
    /// `cost_ratio` (raw's busy core-ns per byte ÷ ours: what the base station's work adds to each
    /// byte) and `busy_ratio` (cores busy in our run ÷ in raw's: time the cores sat idle, waiting
    /// on turnarounds or round ends). ours/raw = cost_ratio × busy_ratio exactly, both runs' rates
    /// being cores busy ÷ cost per byte. Nil where either run's machine time is unknown.
    var costRatio: Double? {
        guard let ours = point.machineCpuNsPerByte, let raw = rawZmq.machineCpuNsPerByte, ours > 0 else { return nil }
        return raw / ours
    }
    var busyRatio: Double? {
        guard let ours = point.machineCoresBusy, let raw = rawZmq.machineCoresBusy, raw > 0,
            costRatio != nil
        else { return nil }
        return ours / raw
    }

    /// One run of a repeated point.
    struct RunFigures: Codable {
        var mbPerS: Double
        var rawMbPerS: Double
        var ratioToRawZmq: Double
        var peakRssBytes: Int

        enum CodingKeys: String, CodingKey {
            case mbPerS = "mb_per_s"
            case rawMbPerS = "raw_mb_per_s"
            case ratioToRawZmq = "ratio_to_raw_zmq"
            case peakRssBytes = "peak_rss_bytes"
        }
    }

    init(point: StressPoint, rawZmq: WireProbeResult, frameKib: Int) {
        (self.point, self.rawZmq, self.frameKib) = (point, rawZmq, frameKib)
    }

    private enum Keys: String, CodingKey {
        case floodCoresBusy = "flood_cores_busy"
        case rawZmq = "raw_zmq"
        case frameKib = "frame_kib"
        case reps, runs
        case ratioMin = "ratio_min"
        case ratioMax = "ratio_max"
        case peakRssBytesMax = "peak_rss_bytes_max"
        // Derived, written for readers of the file; recomputed on reading.
        case ratioToRawZmq = "ratio_to_raw_zmq"
        case meanFrameBytes = "mean_frame_bytes"
        case costRatio = "cost_ratio"
        case busyRatio = "busy_ratio"
    }

    init(from decoder: any Decoder) throws {
        point = try StressPoint(from: decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        floodCoresBusy = try c.decodeIfPresent(Double.self, forKey: .floodCoresBusy)
        rawZmq = try c.decode(WireProbeResult.self, forKey: .rawZmq)
        frameKib = try c.decode(Int.self, forKey: .frameKib)
        reps = try c.decode(Int.self, forKey: .reps)
        runs = try c.decodeIfPresent([RunFigures].self, forKey: .runs)
        ratioMin = try c.decodeIfPresent(Double.self, forKey: .ratioMin)
        ratioMax = try c.decodeIfPresent(Double.self, forKey: .ratioMax)
        peakRssBytesMax = try c.decodeIfPresent(Int.self, forKey: .peakRssBytesMax)
    }

    func encode(to encoder: any Encoder) throws {
        try point.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(Nullable(wrappedValue: floodCoresBusy), forKey: .floodCoresBusy)
        try c.encode(rawZmq, forKey: .rawZmq)
        try c.encode(frameKib, forKey: .frameKib)
        try c.encode(reps, forKey: .reps)
        try c.encodeIfPresent(runs, forKey: .runs)
        try c.encodeIfPresent(ratioMin, forKey: .ratioMin)
        try c.encodeIfPresent(ratioMax, forKey: .ratioMax)
        try c.encodeIfPresent(peakRssBytesMax, forKey: .peakRssBytesMax)
        try c.encode(Nullable(wrappedValue: ratioToRawZmq), forKey: .ratioToRawZmq)
        try c.encode(meanFrameBytes, forKey: .meanFrameBytes)
        try c.encode(Nullable(wrappedValue: costRatio), forKey: .costRatio)
        try c.encode(Nullable(wrappedValue: busyRatio), forKey: .busyRatio)
    }
}
