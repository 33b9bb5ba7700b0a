import ArgumentParser
import CommandLineSupport
import Foundation
import Wire

/// `edgenode flood`: K synthetic edge nodes in one process, each on its own thread and DEALER
/// socket, speaking the real protocol at full speed (or, with `--raw`, only sending symbols
/// frames, as the peer of `basestation wire-probe`). Prints what they sent as JSON.
struct FloodCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flood",
        abstract: "Synthetic edge nodes that register and transmit at full speed, to stress a base station.")
    @Option(help: "Base station endpoint.") var connect: String = "tcp://127.0.0.1:5570"
    @Option(help: "K, synthetic nodes in this process.") var nodes: Int = 4
    @Option(help: "Index of this process's first node: names are <prefix>-<index> (several processes share a fleet).")
    var first: Int = 0
    @Option(help: "Name prefix.") var namePrefix: String = "flood"
    @Option(help: "OFDM symbols per symbols frame.") var frameSymbols: Int = 32
    @Option(help: "Sample format: cf32 or ci16.") var format: String = "cf32"
    @Option(help: "Stop after this many seconds.") var seconds: Double = 10
    @Flag(help: "No protocol: send symbols frames back to back (the peer of `basestation wire-probe`).") var raw = false
    @Option(help: "Raw mode: subcarriers per frame.") var subcarriers: Int = 64
    @Option(help: "Raw mode: rows (antennas) per subcarrier.") var rows: Int = 4
    @Option(help: "Seed of the synthetic samples.") var seed: UInt64 = 1
    @Option(
        help:
            .init(
                "CURVE: the base station's public key file (`stress --curve`); each node makes a throwaway key pair. "
                    + "Without it, plaintext.")
    )
    var serverKey: String?

    func run() throws {
        try failing {
            guard (1...4096).contains(nodes), first >= 0, (1...65_536).contains(frameSymbols), seconds > 0,
                seconds.isFinite,
                (1...65_536).contains(subcarriers), (1...64).contains(rows)
            else {
                throw ValidationError(
                    "--nodes 1…4096, --frame-symbols 1…65536, --seconds > 0, --subcarriers 1…65536, --rows 1…64")
            }
            guard let format = SampleFormat(transmissionName: format) else {
                throw ValidationError("--format must be cf32 or ci16")
            }
            // Every frame is a fresh buffer the size of a frame: without this, glibc hands each one's
            // pages back (madvise) and the next frame faults them in again, on the cores the base
            // station shares (the base station's data path keeps its memory the same way; raw mode alike).
            AllocatorPolicy.keepFreedMemory()
            let deadline = Date(timeIntervalSinceNow: seconds)
            let serverPublic = try serverKey.map { try CurveKeyFile.readPublic($0) }
            let group = DispatchGroup()
            let results = FloodResults()
            // Held here until the end: a finished thread's closure (and the node it keeps) is
            // released by the thread's teardown, which can still be running at exit.
            var flood: [FloodNode] = []
            for i in first..<(first + nodes) {
                let name = "\(namePrefix)-\(i)"
                let security = try serverPublic.map {
                    CurveClientSecurity(keys: try CurveKeyPair.generate(), serverKey: $0)
                }
                let transport = try ZeroMQNodeTransport(
                    endpoint: connect, identity: name, receiveTimeoutMs: 100, sendTimeoutMs: 30_000, security: security)
                let node = FloodNode(
                    name: name, transport: transport, frameSymbols: frameSymbols, format: format, deadline: deadline,
                    seed: seed &+ UInt64(i))
                flood.append(node)
                group.enter()
                let (raw, subcarriers, rows) = (self.raw, self.subcarriers, self.rows)
                Thread.detachNewThread {
                    var failure: String?
                    do { try raw ? node.runRaw(subcarriers: subcarriers, rows: rows) : node.run() } catch {
                        failure = "\(name): \(error)"
                    }
                    results.add(node.tally, failure: failure)
                    group.leave()
                }
            }
            group.wait()
            defer { withExtendedLifetime(flood) {} }
            let (tallies, failures) = results.all
            let seconds = tallies.map(\.seconds).max() ?? 0
            let cpu = ProcessUsage.cpuSeconds()
            try printJSON(
                FloodSummary(
                    nodes: nodes, frames: tallies.reduce(0) { $0 + $1.frames },
                    bytes: tallies.reduce(0) { $0 + $1.bytes }, rounds: tallies.map(\.rounds).min() ?? 0,
                    seconds: seconds, failures: failures, cpuSeconds: cpu,
                    // The whole process's CPU (setup included, a few ms), over its nodes' longest run.
                    cpuCoresBusy: cpu / max(seconds, 1e-9)))
            if !failures.isEmpty {
                throw CommandError(
                    "\(failures.count) of \(nodes) nodes failed: \(failures.prefix(3).joined(separator: "; "))")
            }
        }
    }
}

/// The nodes' tallies and failures, gathered from their threads.
private final class FloodResults: @unchecked Sendable {
    private let lock = NSLock()
    private var tallies = [FloodTally](), failures = [String]()
    func add(_ tally: FloodTally, failure: String?) {
        lock.lock()
        defer { lock.unlock() }
        tallies.append(tally)
        if let failure { failures.append(failure) }
    }
    var all: ([FloodTally], [String]) {
        lock.lock()
        defer { lock.unlock() }
        return (tallies, failures)
    }
}
