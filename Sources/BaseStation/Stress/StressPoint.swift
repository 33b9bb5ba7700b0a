import CommandLineSupport
import Foundation

/// One stress point: what `basestation stress` measured (its `--json` file), read back by
/// `stress-report` through this type. Rates per second of the rounds phase; bytes as received
/// (frame headers included); latency is a round's completion time in milliseconds.
struct StressPoint: Codable, Equatable {
    var nodes: Int
    var rxAntennas: Int
    var txAntennas: Int
    var streams: Int
    var subcarriers: Int
    var roundSymbols: Int
    /// `SampleFormat`'s name.
    var format: String
    var threads: Int
    var queueDepth: Int
    var highWaterMark: Int
    /// The credit window in frames (0: none).
    var windowFrames: Int
    var receiver: String
    var summing: String
    var rounds: Int
    var incompleteRounds: Int
    var seconds: Double
    var framesIn: Int
    var bytesIn: Int
    var framesPerS: Double
    var mbPerS: Double
    var samplesIngestedPerS: Double
    var symbolsCombinedPerS: Double
    /// The carrier the point emulates (`Numerology`), and the complex samples per second its K·N_t
    /// antennas would put on the air: N_sc × K·N_t × 14 symbols per slot × 2^μ slots per ms.
    var subcarrierSpacingHz: Double
    var airSamplesPerS: Double
    /// Samples ingested per second ÷ what the air carries: at least 1, the base station keeps up
    /// with the carrier it emulates in real time.
    var realTimeFactor: Double
    var latencyMs: Latency
    var cpuSeconds: Double
    var cpuCoresBusy: Double
    var peakRssBytes: Int
    /// The cores the process may run on, as Linux lists them ("0-1"); "" where /proc does not say.
    var cpusAllowed: String
    /// Frames dropped, by `DropReason` label.
    var dropped: [String: Int]
    /// Frames that could not be handed to a node, by frame type.
    var sendsFailed: [String: Int]
    var nodesLeftOut: Int
    @Nullable var machineCoresBusy: Double?
    @Nullable var machineCpuNsPerByte: Double?
    /// "plaintext" or "curve".
    var security: String
    /// "serial" or "overlapped".
    var roundEnd: String

    struct Latency: Codable, Equatable {
        var p50: Double
        var p99: Double
        var max: Double
    }

    enum CodingKeys: String, CodingKey {
        case nodes
        case rxAntennas = "rx_antennas"
        case txAntennas = "tx_antennas"
        case streams, subcarriers
        case roundSymbols = "round_symbols"
        case format, threads
        case queueDepth = "queue_depth"
        case highWaterMark = "high_water_mark"
        case windowFrames = "window_frames"
        case receiver, summing, rounds
        case incompleteRounds = "incomplete_rounds"
        case seconds
        case framesIn = "frames_in"
        case bytesIn = "bytes_in"
        case framesPerS = "frames_per_s"
        case mbPerS = "mb_per_s"
        case samplesIngestedPerS = "samples_ingested_per_s"
        case symbolsCombinedPerS = "symbols_combined_per_s"
        case subcarrierSpacingHz = "subcarrier_spacing_hz"
        case airSamplesPerS = "air_samples_per_s"
        case realTimeFactor = "real_time_factor"
        case latencyMs = "latency_ms"
        case cpuSeconds = "cpu_seconds"
        case cpuCoresBusy = "cpu_cores_busy"
        case peakRssBytes = "peak_rss_bytes"
        case cpusAllowed = "cpus_allowed"
        case dropped
        case sendsFailed = "sends_failed"
        case nodesLeftOut = "nodes_left_out"
        case machineCoresBusy = "machine_cores_busy"
        case machineCpuNsPerByte = "machine_cpu_ns_per_byte"
        case security
        case roundEnd = "round_end"
    }
}

/// What `basestation wire-probe` measured: libzmq's own throughput for the same frames, the peer
/// of a stress point.
struct WireProbeResult: Codable, Equatable {
    var frames: Int
    var bytes: Int
    var seconds: Double
    var framesPerS: Double
    var mbPerS: Double
    var cpuCoresBusy: Double
    var peakRssBytes: Int
    var security: String
    var cpusAllowed: String
    @Nullable var machineCoresBusy: Double?
    @Nullable var machineCpuNsPerByte: Double?
    /// The senders' CPU (`edgenode flood`'s own figure), added by `stress-report`.
    @Nullable var floodCoresBusy: Double?

    enum CodingKeys: String, CodingKey {
        case frames, bytes, seconds
        case framesPerS = "frames_per_s"
        case mbPerS = "mb_per_s"
        case cpuCoresBusy = "cpu_cores_busy"
        case peakRssBytes = "peak_rss_bytes"
        case security
        case cpusAllowed = "cpus_allowed"
        case machineCoresBusy = "machine_cores_busy"
        case machineCpuNsPerByte = "machine_cpu_ns_per_byte"
        case floodCoresBusy = "flood_cores_busy"
    }
}

/// The one figure `stress-report` takes from `edgenode flood`'s JSON (FloodCommand writes it, in
/// the edge's module): the senders' CPU cores busy over their run.
struct FloodUsage: Decodable {
    var cpuCoresBusy: Double

    enum CodingKeys: String, CodingKey { case cpuCoresBusy = "cpu_cores_busy" }
}

/// The whole machine's cost of a run that moved `bytes` in `seconds`: cores busy and busy
/// core-nanoseconds per byte received; nil where the machine's busy time is unknown.
struct MachineCost {
    var coresBusy: Double
    var nsPerByte: Double

    init?(coresBusy: Double?, bytes: Int, seconds: Double) {
        guard let coresBusy, bytes > 0 else { return nil }
        self.coresBusy = coresBusy
        nsPerByte = coresBusy * seconds * 1e9 / Double(bytes)
    }
}
