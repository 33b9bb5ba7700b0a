import ArgumentParser
import CommandLineSupport
import Foundation
import HardwareProfiles
import Wire

/// `edgenode run`: the edge firmware emulator's main loop against a base station.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run the edge firmware: register with the base station, train each round within the profile's budgets, "
            + "transmit over the emulated air."
    )
    @Option(help: "Base station endpoint.") var bs: String = "tcp://127.0.0.1:5555"
    @Option(help: "Node name (as the scenario's [[nodes]] lists it).") var name: String
    @Option(help: "Hardware profile (.toml).") var profile: String
    @Option(help: "GGUF model (the same the base station serves).") var model: String
    @Option(help: "Watchdog timeout, seconds.") var watchdogS: Double = 600
    @Option(help: "Give up on a silent base station after this many seconds (then register again).") var bsTimeoutS:
        Double = 900
    @Option(
        help:
            .init(
                "Sleep emulated compute time × this after each round's training (0: run flat out). By default the base "
                    + "station's federation.realtime_scale, which it sends at registration; given here, it overrides "
                    + "that."
            )
    )
    var realtimeScale: Double?
    @Option(help: "OFDM symbols per symbols frame.") var frameSymbols: Int = 64
    @Option(help: "Fault injection: vanish (exit without a word) when round N starts, to stress the base station.")
    var vanishAtRound: Int?
    @Option(
        help:
            .init(
                "Memo directory: local training from a fresh adapter (the rank-planning pilot, a run's first round) is "
                    + "looked up there by everything it depends on and stored, so runs that share it train it once. "
                    + "The "
                    + "experiment suite uses it; the update is the same bits with or without it.")
    )
    var memo: String?
    @OptionGroup var security: NodeSecurityOptions
    @OptionGroup var logging: LogOptions

    func run() throws {
        try failing {
            guard watchdogS > 0, bsTimeoutS > 0, frameSymbols >= 1 else {
                throw ValidationError("timeouts and --frame-symbols must be positive")
            }
            if let s = realtimeScale {
                guard s >= 0, s.isFinite else { throw ValidationError("--realtime-scale must be ≥ 0") }
            }
            let curve = try security.load()
            let log = logging.logger("edgenode.\(name)")
            if curve == nil { log.warning("\(Self.insecureWarning)") }
            let transport = try ZeroMQNodeTransport(
                endpoint: bs, identity: name, sendTimeoutMs: Int32(min(bsTimeoutS, 600) * 1000), security: curve)
            // The farewell, the last thing sent, may still be queued at exit.
            try transport.setLinger(ms: 2000)
            let firmware = try EdgeFirmware(
                transport: transport, name: name, profile: try HardwareProfile.load(profile), modelPath: model,
                watchdog: Watchdog(timeout: watchdogS), bsTimeoutS: bsTimeoutS, realtimeScale: realtimeScale,
                frameSymbols: frameSymbols, vanishAtRound: vanishAtRound,
                memo: try memo.map { try Memo(directory: $0) }, log: log)
            _ = try firmware.run()
        }
    }
}

extension RunCommand {
    static let insecureWarning =
        "--insecure: plaintext, no authentication; the base station is whoever answers on the endpoint"
}
