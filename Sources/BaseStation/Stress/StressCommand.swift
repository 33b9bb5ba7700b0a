import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation
import Radio
import Wire

/// `basestation stress`: a base station in stress mode. It registers K synthetic nodes (`edgenode
/// flood`), runs rounds of synthetic updates through the full air and combining for `--seconds`,
/// and writes one stress point as JSON (throughput, latency percentiles, CPU, peak memory).
struct StressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract:
            "Serve rounds of synthetic updates to `edgenode flood` nodes and measure the base station's throughput.")
    @Option(help: "Endpoint to bind.") var listen: String = "tcp://127.0.0.1:5570"
    @Option(help: "K, synthetic nodes to wait for.") var nodes: Int = 4
    @Option(help: "N_r, BS antennas.") var rxAntennas: Int = 16
    @Option(help: "N_t, antennas per node.") var txAntennas: Int = 4
    @Option(help: "L, streams.") var streams: Int = 4
    @Option(help: "N_sc, subcarriers.") var subcarriers: Int = 64
    @Option(
        help: "Subcarrier spacing in kHz (15, 30, 60, 120 or 240: a 5G NR numerology), for the real-time factor.")
    var subcarrierSpacingKhz: Double = 30
    @Option(help: "S, OFDM symbols per node per round.") var roundSymbols: Int = 1024
    @Option(help: "Sample format the nodes are told to send: cf32 or ci16.") var format: String = "cf32"
    @Option(help: "Seconds of rounds (after registration).") var seconds: Double = 10
    @Option(help: "Receiver worker threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Frames that may wait for the workers before the receiving thread stops reading.") var queueDepth:
        Int = 32
    @Option(
        help:
            .init(
                "Messages libzmq queues per node before it stops reading that node's connection (default: 32 in all, "
                    + "1–16 per node).")
    ) var highWaterMark: Int32?
    @Option(
        help:
            .init(
                "Symbols frames granted and not yet handed to the summing workers, at most, all nodes together (the "
                    + "transmit orders' windows and grants; the receiver holds at most half of them back to batch "
                    + "them); "
                    + "0: no window.")
    )
    var windowFrames: Int = StressSettings.defaultWindowFrames
    @Option(
        help:
            .init(
                "Where the air is summed: combiner (Aᴴ H_k x_k, as serve does) or antennas (per-antenna samples, then "
                    + "combining).")
    )
    var receiver: ReceiverSpace = .combiner
    @Option(
        help:
            .init(
                "Where frames are summed: workers (one thread per band of subcarriers, --threads of them) or "
                    + "receiving-thread (on the thread that reads the network, no hand-off).")
    )
    var summing: Summing = .workers
    @Option(help: "σ² of the emulated receiver noise, W per antenna (the channels are CN(0, 1), 1 W per node).")
    var noisePowerW: Double = 0.01
    @Option(help: "Seconds to wait for the K registrations.") var registerTimeoutS: Double = 60
    @Option(help: "Seconds a round may take before it is finished without its stragglers.") var roundTimeoutS: Double =
        30
    @Option(help: "Seed of the channels and the noise.") var seed: UInt64 = 1
    @Flag(
        help:
            .init(
                "Run a round's end (noise, combining) while the next round's frames arrive (stress rounds are "
                    + "independent; `serve`'s are not, so by default each round ends before the next starts, as there)."
            )
    )
    var overlapRoundEnd = false
    @Option(help: "Write the stress point here as JSON (else stdout).") var json: String?
    @Option(help: "Serve live metrics (Prometheus text format) at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464.")
    var metricsListen: String?
    @Option(help: "Write the live metrics here as JSON lines, one a second.") var metricsJsonl: String?
    @Option(
        help:
            .init(
                "CURVE: make a throwaway key pair, write its public key to this file (for `edgenode flood "
                    + "--server-key`), admit every node key. Without it, plaintext.")
    )
    var curve: String?
    @OptionGroup var logging: LogOptions

    func run() throws {
        AllocatorPolicy.keepFreedMemory()
        try failing {
            guard (1...4096).contains(nodes), (1...1024).contains(rxAntennas), (1...64).contains(txAntennas),
                (1...min(rxAntennas, txAntennas)).contains(streams),
                (1...65_536).contains(subcarriers), (1...1 << 20).contains(roundSymbols), seconds > 0, seconds.isFinite,
                (1...64).contains(threads), (1...1024).contains(queueDepth), (0...65_536).contains(windowFrames),
                noisePowerW >= 0, noisePowerW.isFinite,
                (0...86_400).contains(registerTimeoutS), (0...86_400).contains(roundTimeoutS)
            else {
                throw ValidationError("a size, count or time is out of range (see --help)")
            }
            guard let numerology = Numerology(subcarrierSpacingHz: subcarrierSpacingKhz * 1000) else {
                throw ValidationError("--subcarrier-spacing-khz must be 15, 30, 60, 120 or 240")
            }
            guard let format = SampleFormat(transmissionName: format) else {
                throw ValidationError("--format must be cf32 or ci16")
            }
            var settings = StressSettings(
                nodes: nodes, rxAntennas: rxAntennas, txAntennas: txAntennas, streams: streams,
                subcarriers: subcarriers,
                roundSymbols: roundSymbols, format: format, seconds: seconds, threads: threads, queueDepth: queueDepth,
                noisePowerW: noisePowerW, registerTimeoutS: registerTimeoutS, roundTimeoutS: roundTimeoutS, seed: seed,
                overlapRoundEnd: overlapRoundEnd)
            let log = logging.logger("basestation.stress")
            log.info("\(OpenFileLimit.describeRaise(OpenFileLimit.raiseToHardLimit()))")
            let highWaterMark = self.highWaterMark ?? ZeroMQServerTransport.highWaterMark(forNodes: nodes)
            guard (1...100_000).contains(highWaterMark) else { throw ValidationError("--high-water-mark 1…100000") }
            settings.highWaterMark = highWaterMark
            settings.windowFrames = windowFrames == 0 ? nil : windowFrames
            settings.receiver = receiver
            settings.summing = summing
            settings.numerology = numerology
            let transport = try ZeroMQServerTransport(
                endpoint: listen, receiveTimeoutMs: 50, highWaterMark: highWaterMark,
                security: try stressSecurity(publicKeyFile: curve))
            log.info("stress: listening on \(transport.address) for \(nodes) nodes")
            let server = StressServer(settings: settings, transport: transport, log: log)
            let endpoint = try metricsListen.map { try MetricsEndpoint(listen: $0, metrics: server.metrics) }
            if let endpoint { log.info("stress: metrics on http://\(endpoint.address)/metrics") }
            let live = try metricsJsonl.map { try MetricsLog(path: $0, metrics: server.metrics) }
            defer { live?.close() }
            try server.run()
            let point = server.tally.point(
                settings: settings, security: curve == nil ? "plaintext" : "curve",
                roundEnd: overlapRoundEnd ? "overlapped" : "serial")
            if let json {
                try JSONRecord.encoded(point).write(to: URL(fileURLWithPath: json), options: .atomic)
            } else {
                try printJSON(point)
            }
            log.info("stress: \(server.tally.rounds) rounds, \(String(format: "%.1f", point.mbPerS)) MB/s in")
        }
    }
}

/// `basestation wire-probe`: libzmq's own throughput, the peer that stress points are measured
/// against. A ROUTER socket, as the base station binds, that receives and discards (no decoding,
/// no air) what `edgenode flood --raw` sends, counting from the first message.
struct WireProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire-probe", abstract: "Receive and discard `edgenode flood --raw` frames: raw libzmq throughput."
    )
    @Option(help: "Endpoint to bind.") var listen: String = "tcp://127.0.0.1:5571"
    @Option(help: "Stop this many seconds after the first message, or after 1 s without one.") var seconds: Double = 10
    @Option(help: "CURVE, as `stress --curve`: the public key goes to this file.") var curve: String?

    func run() throws {
        try failing {
            guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be positive") }
            let transport = try ZeroMQServerTransport(
                endpoint: listen, receiveTimeoutMs: 1000, security: try stressSecurity(publicKeyFile: curve))
            var frames = 0
            var bytes = 0
            var first: UInt64?
            var last: UInt64 = 0
            let cpuStart = ProcessUsage.cpuSeconds()
            var machine = MachineCPU.Span()
            while true {
                let now = DispatchTime.now().uptimeNanoseconds
                if let f = first, Double(now - f) / 1e9 >= seconds { break }
                guard let (_, data) = try transport.receive() else {
                    if first != nil { break }
                    continue
                }
                if first == nil { first = DispatchTime.now().uptimeNanoseconds }
                frames += 1
                bytes += data.count
                last = DispatchTime.now().uptimeNanoseconds
                if frames == 1 || machine.secondsSinceSample >= 0.1 { machine.sample() }
            }
            let t = max(Double(last - (first ?? last)) / 1e9, 1e-9)
            // The machine's busy time over (nearly) the same span, sampled every 0.1 s as messages came.
            let cost = MachineCost(coresBusy: machine.coresBusy, bytes: bytes, seconds: t)
            try printJSON(
                WireProbeResult(
                    frames: frames, bytes: bytes, seconds: t, framesPerS: Double(frames) / t,
                    mbPerS: Double(bytes) / t / 1e6, cpuCoresBusy: (ProcessUsage.cpuSeconds() - cpuStart) / t,
                    peakRssBytes: StressTally.peakResidentBytes(), security: curve == nil ? "plaintext" : "curve",
                    cpusAllowed: StressTally.allowedCPUs(), machineCoresBusy: cost?.coresBusy,
                    machineCpuNsPerByte: cost?.nsPerByte, floodCoresBusy: nil))
        }
    }
}

/// The stress modes' CURVE: a throwaway key pair whose public key goes to `publicKeyFile`, and
/// every node key admitted (the synthetic nodes make theirs at start); nil for plaintext.
func stressSecurity(publicKeyFile: String?) throws -> CurveServerSecurity? {
    guard let publicKeyFile else { return nil }
    let keys = try CurveKeyPair.generate()
    try DurableFile.write(Data((keys.publicKey.z85 + "\n").utf8), to: publicKeyFile)
    return CurveServerSecurity(keys: keys, allowList: .everyKey())
}

extension ReceiverSpace: ExpressibleByArgument {}
extension Summing: ExpressibleByArgument {}
