import CommandLineSupport
import Dispatch
import Foundation
import Histogram
import Wire

/// What a stress run counted: frames and bytes in (from its `NodeIngress`), samples summed over
/// the air, symbols combined, frames dropped by reason (the ingress's live count), round-completion
/// latency (HdrHistogram, microseconds), and the base station's CPU time and peak resident memory.
struct StressTally {
    var framesIn = 0
    var bytesIn = 0
    /// Complex samples of symbols frames summed into the air (K · N_t · N_sc per OFDM symbol).
    var samplesIn = 0
    /// Complex symbols out of the combiner (L · N_sc · S per round).
    var symbolsCombined = 0
    var rounds = 0
    /// Rounds in which some node's round end did not arrive before the deadline.
    var incompleteRounds = 0
    var dropped: [String: Int] = [:]
    /// Frames the base station could not hand to a node, by frame type.
    var sendsFailed: [String: Int] = [:]
    /// Nodes left out of the rounds because a frame could not be handed to them.
    var nodesLeftOut = 0
    /// Microseconds, 1 µs … 1 h at three significant digits.
    var latencies = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    private var started: (wall: UInt64, cpu: Double, frames: Int, bytes: Int)?
    private(set) var roundSeconds = 0.0
    private(set) var cpuSeconds = 0.0
    /// The whole machine's busy time over the rounds phase (senders and kernel included).
    private var machine = MachineCPU.Span()

    mutating func latency(nanoseconds: UInt64) { _ = latencies.record(max(1, nanoseconds / 1000)) }

    /// The rounds phase begins: the wall clock, the process's CPU time and the frames and bytes
    /// received so far (the live metrics' counts, `received`) from here.
    mutating func startRounds(received: LiveMetrics.Values) {
        started = (DispatchTime.now().uptimeNanoseconds, ProcessUsage.cpuSeconds(), received.framesIn, received.bytesIn)
        machine.sample()
    }

    /// The rounds phase ends: what the ingress received since `startRounds`, what it dropped (by
    /// reason, registration included) and could not send.
    mutating func endRounds(ingress: NodeIngress) {
        guard let s = started else { return }
        roundSeconds = Double(DispatchTime.now().uptimeNanoseconds - s.wall) / 1e9
        cpuSeconds = ProcessUsage.cpuSeconds() - s.cpu
        machine.sample()
        let received = ingress.metrics.snapshot
        (framesIn, bytesIn) = (received.framesIn - s.frames, received.bytesIn - s.bytes)
        dropped = received.dropped
        sendsFailed = Dictionary(uniqueKeysWithValues: ingress.sendsFailed.map { ("\($0.key)", $0.value) })
        nodesLeftOut = ingress.nodesLeftOut
    }

    /// One stress point of a run with `settings`, its security and round-end modes named.
    func point(settings s: StressSettings, security: String, roundEnd: String) -> StressPoint {
        let t = max(roundSeconds, 1e-9)
        func ms(_ us: UInt64) -> Double { Double(us) / 1000 }
        let cost = MachineCost(coresBusy: machine.coresBusy, bytes: bytesIn, seconds: t)
        let air = s.numerology.samplesPerSecond(subcarriers: s.subcarriers, transmitters: s.nodes * s.txAntennas)
        return StressPoint(
            nodes: s.nodes, rxAntennas: s.rxAntennas, txAntennas: s.txAntennas, streams: s.streams,
            subcarriers: s.subcarriers, roundSymbols: s.roundSymbols, format: s.format.name, threads: s.threads,
            queueDepth: s.queueDepth, highWaterMark: Int(s.highWaterMark), windowFrames: s.windowFrames ?? 0,
            receiver: s.receiver.rawValue, summing: s.summing.rawValue, rounds: rounds,
            incompleteRounds: incompleteRounds, seconds: roundSeconds, framesIn: framesIn, bytesIn: bytesIn,
            framesPerS: Double(framesIn) / t, mbPerS: Double(bytesIn) / t / 1e6,
            samplesIngestedPerS: Double(samplesIn) / t, symbolsCombinedPerS: Double(symbolsCombined) / t,
            subcarrierSpacingHz: s.numerology.subcarrierSpacingHz, airSamplesPerS: air,
            realTimeFactor: Double(samplesIn) / t / air,
            latencyMs: .init(
                p50: ms(latencies.valueAtPercentile(50)), p99: ms(latencies.valueAtPercentile(99)),
                max: ms(latencies.max)),
            cpuSeconds: cpuSeconds, cpuCoresBusy: cpuSeconds / t, peakRssBytes: Self.peakResidentBytes(),
            cpusAllowed: Self.allowedCPUs(), dropped: dropped, sendsFailed: sendsFailed, nodesLeftOut: nodesLeftOut,
            machineCoresBusy: cost?.coresBusy, machineCpuNsPerByte: cost?.nsPerByte, security: security,
            roundEnd: roundEnd)
    }

    /// The cores this process may run on, as Linux lists them (`Cpus_allowed_list`, e.g. "0-1" or
    /// "0"): how `launch/stress.sh --cores` placed it. "" where /proc does not say.
    static func allowedCPUs() -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return "" }
        return line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
    }

    /// The process's peak resident set (VmHWM), bytes.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss * 1024
        }
        return kb * 1024
    }
}
