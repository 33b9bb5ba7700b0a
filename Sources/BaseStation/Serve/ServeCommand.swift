import ArgumentParser
import CommandLineSupport
import Configuration
import Foundation
import Logging
import Wire

extension AggregationMode: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.name) }
}

/// `basestation serve`: the base station of a federated run over the wire.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Serve a federated LoRA run: register the scenario's edge nodes, run the rounds over the emulated air, "
            + "write results/<run>/."
    )
    @Option(help: "Scenario TOML ([channel], [aircomp], [plan], [federation], [[nodes]]).") var scenario: String
    @Option(help: "Results directory (default results/<scenario>-<time>).") var results: String?
    @Option(help: "Override federation.rounds.") var rounds: Int?
    @Option(help: "Override federation.aggregation (aircomp, ideal, digital).") var aggregation: AggregationMode?
    @Option(help: "Override the scenario's seed.") var seed: UInt64?
    @Option(help: "Override federation.endpoint.") var endpoint: String?
    @Option(
        name: .customLong("set"),
        help:
            .init(
                "Override any scenario value: TABLE.KEY=VALUE in TOML syntax, e.g. --set federation.rank=4 --set "
                    + "'federation.beamforming=\"eigen\"' (repeatable).")
    )
    var overrides: [String] = []
    @Flag(help: "Replace the run already in --results (without it, a directory holding a run is refused).")
    var overwrite = false
    @Flag(
        help:
            .init(
                "Continue the run in --results from its checkpoint (the last finished round; the same scenario, seed, "
                    + "aggregation and --set values; --rounds may be larger). Without a checkpoint there, the run "
                    + "starts "
                    + "from the beginning.")
    )
    var resume = false
    @Flag(help: "Print the fleet this scenario needs (model, endpoint, nodes) for launch scripts, and exit.")
    var printFleet = false
    @Flag(help: "Print the summary as JSON.") var json = false
    @Option(help: "Serve live metrics (Prometheus text format) at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464.")
    var metricsListen: String?
    @Option(
        help:
            .init(
                "CURVE key directory: basestation.key and allowed-nodes (default keys/<scenario name>; `basestation "
                    + "keys` makes it).")
    ) var keys: String?
    @Flag(
        help:
            .init(
                "Plaintext, no authentication: any process that connects with a node's name is that node (logged as a "
                    + "warning).")
    ) var insecure = false
    @Option(
        help:
            .init(
                "Memo directory: results of deterministic work shared between runs (the base model's held-out "
                    + "evaluation) are looked up there by everything they depend on, and stored. The experiment suite "
                    + "uses it; results are the same bits with or without it.")
    )
    var memo: String?
    @OptionGroup var logging: LogOptions

    func run() throws {
        AllocatorPolicy.keepFreedMemory()
        try failing {
            var s = try Scenario.load(scenario, overrides: overrides)
            if let v = rounds {
                guard v >= 1 else { throw ValidationError("--rounds must be ≥ 1") }
                s.federation.rounds = v
            }
            if let v = aggregation { s.federation.aggregation = v }
            if let v = seed { s.seed = v }
            if let v = endpoint { s.federation.endpoint = v }
            let directory = URL(fileURLWithPath: scenario).deletingLastPathComponent().path
            if printFleet {
                print("model \(s.federation.model)")
                print("endpoint \(s.federation.endpoint)")
                for n in s.nodes {
                    let p = resolvePath(n.profile, relativeTo: directory)
                    print("node \(n.name) \(p)")
                }
                return
            }
            let name = URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            let start = try RunStart(resume: resume, overwrite: overwrite)
            guard start != .resume || results != nil else {
                throw ValidationError("--resume needs --results: the directory of the run to continue")
            }
            let out = results ?? "results/\(name)-\(stamp)"
            let identity = RunIdentity(
                scenarioFile: scenario, seed: s.seed, aggregation: s.federation.aggregation.name, overrides: overrides)
            guard !(insecure && keys != nil) else { throw ValidationError("--insecure and --keys exclude each other") }
            let log = logging.logger("basestation.serve")
            // Every connection is a descriptor, those awaiting authentication too.
            log.info("\(OpenFileLimit.describeRaise(OpenFileLimit.raiseToHardLimit()))")
            let keyDirectory = keys ?? "keys/\(name)"
            let refusals = RefusalLog(log: log)
            // Unsent shutdowns may hold the exit up to 2 s, so every node hears the run is over.
            let server: FederationServer
            do {
                server = try FederationServer(
                    scenario: s, scenarioDirectory: directory, results: out, start: start, identity: identity,
                    bind: {
                        // The keys after the scenario, model and data: a broken configuration is reported as such
                        // first.
                        let security = insecure ? nil : try ServerKeys.load(directory: keyDirectory)
                        if let security {
                            let missing = s.nodes.map(\.name).filter { !security.allowList.names.values.contains($0) }
                            if !missing.isEmpty {
                                let names = missing.joined(separator: ", ")
                                log.warning("not on \(keyDirectory)/allowed-nodes, so they cannot join: \(names)")
                            }
                        } else {
                            log.warning("\(ServerKeys.insecureWarning)")
                        }
                        let transport = try ZeroMQServerTransport(
                            endpoint: s.federation.endpoint,
                            highWaterMark: ZeroMQServerTransport.highWaterMark(forNodes: s.nodes.count),
                            security: security, refused: { refusals.report($0) })
                        try transport.setLinger(ms: 2000)
                        return transport
                    }, log: log)
            } catch let e as ConfigurationError {
                // What the scenario asks of the model and the machine: named like its other errors.
                throw ScenarioError(file: scenario, key: e.key, problem: e.problem)
            }
            refusals.metrics = server.metrics
            server.evaluator.memo = try memo.map { try Memo(directory: $0) }
            let endpoint = try metricsListen.map { try MetricsEndpoint(listen: $0, metrics: server.metrics) }
            if let endpoint { server.progress("metrics on http://\(endpoint.address)/metrics") }
            // The same figures each second, beside the run's other results.
            let live = try MetricsLog(
                path: (out as NSString).appendingPathComponent("live-metrics.jsonl"), metrics: server.metrics,
                appending: start == .resume)
            defer { live.close() }
            let fingerprint = IdealReference.fingerprint(
                scenarioFile: scenario, seed: s.seed, rounds: s.federation.rounds, overrides: overrides)
            server.scenarioLabel = ScenarioLabel(name: name, fingerprint: fingerprint)
            let summary = try server.run()
            if json {
                try printJSON(summary)
            } else {
                let reference = IdealReference.line(
                    scenarioFile: scenario, seed: s.seed, rounds: s.federation.rounds, overrides: overrides,
                    results: out, aggregation: s.federation.aggregation.name)
                print(summary.text(nodes: s.nodes.count, comparedWith: reference, results: out))
            }
        }
    }
}

/// A scenario's relative path: against the scenario's directory when that file exists, else as given.
func resolvePath(_ path: String, relativeTo directory: String) -> String {
    if path.hasPrefix("/") { return path }
    let candidate = URL(fileURLWithPath: directory).appendingPathComponent(path).standardized.path
    return FileManager.default.fileExists(atPath: candidate) ? candidate : path
}

/// Connections the ZAP handler refused, from its thread: logged, and counted among the dropped
/// frames by reason once the server's metrics exist.
final class RefusalLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _metrics: LiveMetrics?
    var metrics: LiveMetrics? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return _metrics
        }
        set {
            lock.lock()
            _metrics = newValue
            lock.unlock()
        }
    }
    /// A client that retries a refused handshake does so at libzmq's reconnect rate: one line per
    /// reason per 10 s, with the count of those held back.
    private let limited: RateLimitedLog
    init(log: Logger) { limited = RateLimitedLog(log: log) }
    func report(_ r: SecurityRefusal) {
        limited.warning(kind: r.reason.label, "\(r.detail)")
        metrics?.dropped(r.reason)
    }
}
