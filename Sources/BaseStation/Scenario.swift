import Configuration
import Foundation
import HardwareProfiles
import Radio
import TOMLKit

/// A scenario file (TOML): the seed, the `[channel]` table (see `ChannelConfiguration.CodingKeys`
/// for its keys) and the `[aircomp]` table. Missing keys keep their defaults; unknown keys and bad
/// values are errors naming the file and the key.
package struct Scenario: Decodable {
    var seed: UInt64 = 1
    var channel = ChannelConfiguration()
    var aircomp = AirCompSettings()
    var plan = PlanSettings()
    var federation = FederationSettings()
    var nodes: [NodeSettings] = []

    /// `[aircomp]`: what each round sends.
    struct AirCompSettings: Decodable {
        /// L, streams per subcarrier.
        var streams = 2
        /// Each device's total transmit power budget in dBm, one value for all or one per device.
        var powerDBm: [Double] = [23]
        /// D, reals in each device's update.
        var updateReals = 65536
        /// Overrides the thermal noise σ² (dBm per subcarrier and antenna) when set.
        var noisePowerDBm: Double? = nil
        /// dB added to every node profile's `tx_power_dbm` in `serve` (negative: a lower budget),
        /// so a transmit-power sweep keeps the fleet's mix (`power_dbm` is for `demo`/`channel`).
        var txPowerOffsetDB = 0.0
        /// dB added to every node profile's transmit energy per round (`tx_energy_per_round_j`):
        /// negative makes the energy budget bind, so a round's average power P = min(P^max, E/T)
        /// falls as a higher rank needs more OFDM symbols (the trade-off the rank choice resolves).
        var txEnergyOffsetDB = 0.0
        /// How `serve` sets each subcarrier's denoising factor η: `zero-forcing` (the method: every
        /// device inverts its channel exactly) or `mmse` (the baseline that does not zero-force:
        /// η minimising noise plus misalignment, `AirCompDesign.PowerControl.minimumMSE`).
        var powerControl = PowerControlChoice.zeroForcing
        /// Device scheduling for truncated channel inversion: a device whose mean η_k (the η it
        /// alone would allow) is more than this many dB below the median device's sits the round
        /// out (nil: every device transmits, the method's).
        var truncationDB: Double? = nil
        /// Where `serve` sums the air (`ReceiverSpace`): `combiner`, Σ_k (Aᴴ H_k/√η) x_k with the
        /// noise drawn there (N_r / L times fewer multiply-adds), or `antennas`, the received
        /// samples per antenna, then combined. The same law; not the same draws.
        var receiver = ReceiverSpace.combiner

        enum CodingKeys: String, CodingKey, CaseIterable {
            case streams
            case powerDBm = "power_dbm"
            case updateReals = "update_reals"
            case noisePowerDBm = "noise_power_dbm"
            case txPowerOffsetDB = "tx_power_offset_db"
            case txEnergyOffsetDB = "tx_energy_offset_db"
            case powerControl = "power_control"
            case truncationDB = "truncation_db"
            case receiver
        }

        init() {}

        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try c.update(&streams, forKey: .streams)
            if let one = try? c.decodeNumberIfPresent(forKey: .powerDBm) {
                powerDBm = [one]
            } else {
                powerDBm = try c.decodeNumbersIfPresent(forKey: .powerDBm) ?? powerDBm
            }
            try c.update(&updateReals, forKey: .updateReals)
            noisePowerDBm = try c.decodeNumberIfPresent(forKey: .noisePowerDBm)
            txPowerOffsetDB = try c.decodeNumberIfPresent(forKey: .txPowerOffsetDB) ?? txPowerOffsetDB
            guard txPowerOffsetDB.isFinite, (-100...20).contains(txPowerOffsetDB) else {
                throw ConfigurationError(
                    key: "aircomp.tx_power_offset_db", problem: "must be in −100…20 dB, got \(txPowerOffsetDB)")
            }
            txEnergyOffsetDB = try c.decodeNumberIfPresent(forKey: .txEnergyOffsetDB) ?? txEnergyOffsetDB
            guard txEnergyOffsetDB.isFinite, (-100...20).contains(txEnergyOffsetDB) else {
                throw ConfigurationError(
                    key: "aircomp.tx_energy_offset_db", problem: "must be in −100…20 dB, got \(txEnergyOffsetDB)")
            }
            try c.updateChoice(
                &powerControl, forKey: .powerControl, path: "aircomp.power_control",
                choices: PowerControlChoice.allCases.map { ($0.rawValue, $0) })
            try c.updateChoice(
                &receiver, forKey: .receiver, path: "aircomp.receiver",
                choices: ReceiverSpace.allCases.map { ($0.rawValue, $0) })
            truncationDB = try c.decodeNumberIfPresent(forKey: .truncationDB)
            if let t = truncationDB, !(t.isFinite && (0...100).contains(t)) {
                throw ConfigurationError(key: "aircomp.truncation_db", problem: "must be in 0…100 dB, got \(t)")
            }
            guard (1...64).contains(streams) else {
                throw ConfigurationError(key: "aircomp.streams", problem: "must be in 1…64, got \(streams)")
            }
            guard (1...(1 << 32)).contains(updateReals) else {
                throw ConfigurationError(key: "aircomp.update_reals", problem: "must be in 1…2³², got \(updateReals)")
            }
            guard !powerDBm.isEmpty, powerDBm.allSatisfy({ $0.isFinite && $0 > -50 && $0 < 60 }) else {
                throw ConfigurationError(key: "aircomp.power_dbm", problem: "each power must be in (−50, 60) dBm")
            }
        }

        /// Per-device budgets in watts for K devices.
        func powerW(devices: Int) throws -> [Double] {
            if powerDBm.count == 1 { return Array(repeating: PowerUnits.watts(dBm: powerDBm[0]), count: devices) }
            guard powerDBm.count == devices else {
                throw ConfigurationError(
                    key: "aircomp.power_dbm", problem: "has \(powerDBm.count) entries for \(devices) devices")
            }
            return powerDBm.map { PowerUnits.watts(dBm: $0) }
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case seed, channel, aircomp, plan, federation, nodes, devices }

    /// Every key a scenario file may set (`TABLE.KEY`, top-level keys bare), but the `[[nodes]]`
    /// entries: what `--set` reaches, and what the scenario fuzz target's seeds set to hostile values.
    package static var everyKey: [String] {
        [CodingKeys.seed, .devices].map(\.rawValue)
            + ChannelConfiguration.CodingKeys.allCases.map { "channel.\($0.rawValue)" }
            + AirCompSettings.CodingKeys.allCases.map { "aircomp.\($0.rawValue)" }
            + PlanSettings.CodingKeys.allCases.map { "plan.\($0.rawValue)" }
            + FederationSettings.CodingKeys.allCases.map { "federation.\($0.rawValue)" }
    }

    /// What a scenario's values are used for before a run starts, beyond `load`'s checks: the
    /// settings' own ranges and the rank planner's prior spectrum (allocated from `plan.pilot_count`).
    /// Throws what is wrong, naming its key.
    package func checkDerivedValues() throws {
        try federation.validate()
        try channel.validate()
        _ = try plan.spectrum()
    }

    init() {}

    package init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // A TOML integer is signed: read as one, so −1 is an error naming the key, not a trap.
        if let given = try c.decodeIfPresent(Int64.self, forKey: .seed) {
            guard given >= 0 else {
                throw ConfigurationError(key: "seed", problem: "must be in 0…\(Int64.max), got \(given)")
            }
            seed = UInt64(given)
        }
        do {
            channel = try c.decodeIfPresent(ChannelConfiguration.self, forKey: .channel) ?? channel
        } catch let e as ConfigurationError where !e.key.hasPrefix("channel.") {
            throw ConfigurationError(key: "channel.\(e.key)", problem: e.problem)
        }
        aircomp = try c.decodeIfPresent(AirCompSettings.self, forKey: .aircomp) ?? aircomp
        plan = try c.decodeIfPresent(PlanSettings.self, forKey: .plan) ?? plan
        federation = try c.decodeIfPresent(FederationSettings.self, forKey: .federation) ?? federation
        nodes = try c.decodeIfPresent([NodeSettings].self, forKey: .nodes) ?? nodes
        var devices: Int?
        try c.update(&devices, forKey: .devices)
        if let k = devices {
            guard (1...256).contains(k), !nodes.isEmpty else {
                throw ConfigurationError(
                    key: "devices", problem: "must be in 1…256 with at least one [[nodes]] entry (it is \(k))")
            }
            nodes = Self.fleet(of: k, from: nodes)
        }
        let names = nodes.map(\.name)
        if Set(names).count != names.count {
            throw ConfigurationError(key: "nodes.name", problem: "node names must be unique: \(names)")
        }
    }

    /// The first `k` of `nodes`, the list repeated when k exceeds it (the copies named NAME-2,
    /// NAME-3, …): the `devices` key sweeps K over the scenario's hardware (K below the list's
    /// length takes its first K classes, so the mix changes with K too).
    static func fleet(of k: Int, from nodes: [NodeSettings]) -> [NodeSettings] {
        (0..<k).map { i in
            var n = nodes[i % nodes.count]
            if i >= nodes.count { n.name += "-\(i / nodes.count + 1)" }
            return n
        }
    }

    /// Reads and validates a scenario file.
    ///
    /// - Parameter overrides: `TABLE.KEY=VALUE` (or `KEY=VALUE` at the top level), VALUE in TOML
    ///   syntax (`federation.rank=4`, `federation.beamforming="eigen"`, `aircomp.power_dbm=[10]`),
    ///   applied over the file's values before anything is checked, so they are checked alike.
    package static func load(_ path: String, overrides: [String] = []) throws -> Scenario {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ScenarioError(file: path, key: nil, problem: "cannot read the file")
        }
        do {
            // The structure first: the parser under TOMLKit aborts on some malformed documents.
            try TOMLSyntax.check(text)
            let root = try TOMLTable(string: text)
            for o in overrides { try apply(o, to: root, file: path) }
            return try TOMLDecoder().decode(Scenario.self, from: root)
        } catch let e as ScenarioError {
            throw e
        } catch let e as ConfigurationError {
            throw ScenarioError(file: path, key: e.key, problem: e.problem)
        } catch let e as DecodingError {
            throw ScenarioError(decoding: e, file: path)
        } catch let e as TOMLSyntaxError {
            throw ScenarioError(file: path, key: nil, problem: e.description)
        } catch let e as TOMLParseError {
            throw ScenarioError(
                file: path, key: nil,
                problem:
                    "TOML syntax error at line \(e.source.begin.line), column \(e.source.begin.column): "
                    + "\(e.description)"
            )
        } catch {
            throw ScenarioError(file: path, key: nil, problem: "\(error)")
        }
    }
}

extension Scenario {
    /// One `--set` override written into the parsed document.
    private static func apply(_ override: String, to root: TOMLTable, file: String) throws {
        func fail(_ problem: String) -> ScenarioError {
            ScenarioError(file: file, key: nil, problem: "--set \(override): \(problem)")
        }
        guard let eq = override.firstIndex(of: "=") else { throw fail("expected KEY=VALUE") }
        let path = override[..<eq].split(separator: ".").map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(path.count),
            path.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } })
        else {
            throw fail("the key must be KEY or TABLE.KEY")
        }
        let value: TOMLValueConvertible
        do {
            let text = String(override[override.index(after: eq)...])
            try TOMLSyntax.checkValue(text)
            guard let v = try TOMLTable(string: "v = " + text)["v"] else { throw fail("no value") }
            value = v
        } catch let e as ScenarioError { throw e } catch { throw fail("the value is not TOML (strings need quotes)") }
        guard path.count == 2 else {
            root[path[0]] = value
            return
        }
        if root[path[0]] == nil { root[path[0]] = TOMLTable() }
        guard let table = root[path[0]]?.table else { throw fail("'\(path[0])' is not a table") }
        table[path[1]] = value
    }

    /// The nodes' hardware profiles as `serve` runs them: each loaded from its path (relative to
    /// `directory`, the scenario's), its transmit power moved by `aircomp.tx_power_offset_db` and
    /// its transmit energy per round by `aircomp.tx_energy_offset_db`.
    func nodeProfiles(relativeTo directory: String) throws -> [HardwareProfile] {
        try nodes.map { n in
            var profile = try HardwareProfile.load(resolvePath(n.profile, relativeTo: directory))
            profile.txPowerDBm += aircomp.txPowerOffsetDB
            profile.txEnergyPerRoundJ *= pow(10, aircomp.txEnergyOffsetDB / 10)
            return profile
        }
    }

    /// σ², watts per subcarrier and receive antenna: `aircomp.noise_power_dbm` when set, else the
    /// channel's thermal noise k·T·Δf·NF.
    var noisePowerW: Double { aircomp.noisePowerDBm.map { PowerUnits.watts(dBm: $0) } ?? channel.noisePowerW }
}

/// `[aircomp] power_control`.
enum PowerControlChoice: String, CaseIterable {
    case zeroForcing = "zero-forcing"
    case mmse

    /// The design's power control for noise power σ² (W).
    func design(noisePowerW: Double) -> AirCompDesign.PowerControl {
        switch self {
        case .zeroForcing: return .zeroForcing
        case .mmse: return .minimumMSE(noisePowerW: noisePowerW)
        }
    }
}

/// A scenario that could not be used, naming file, key and problem.
struct ScenarioError: Error, CustomStringConvertible {
    var file: String
    var key: String?
    var problem: String

    init(file: String, key: String?, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    init(decoding error: DecodingError, file: String) {
        func path(_ p: [CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        self.file = file
        switch error {
        case .typeMismatch(let type, let ctx):
            key = path(ctx.codingPath)
            problem = "expected a value of type \(type)"
        case .valueNotFound(let type, let ctx):
            key = path(ctx.codingPath)
            problem = "missing a value of type \(type)"
        case .keyNotFound(let k, let ctx):
            key = path(ctx.codingPath + [k])
            problem = "required key is missing"
        case .dataCorrupted(let ctx):
            key = path(ctx.codingPath)
            problem = ctx.debugDescription
        @unknown default:
            key = nil
            problem = "\(error)"
        }
    }

    var description: String { "\(file): \(key.map { "key '\($0)': " } ?? "")\(problem)" }
}
