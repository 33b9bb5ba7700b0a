import Configuration
import Foundation
import LanguageModel
import Radio
import Wire

/// The `[federation]` table and the `[[nodes]]` list of a scenario: what `basestation serve`
/// runs and which edge processes `launch/fleet.sh` starts.
struct FederationSettings: Decodable {
    var model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    /// Data spec: a text/JSONL path or `fortunes:CAT,…`.
    var data = "fortunes:science,computers,food,literature"
    var partition = FederatedData.Partition.category
    var dirichletAlpha = 0.5
    var heldOut = 0.1
    /// The held-out split's own seed: every run seed evaluates the same held-out documents (the
    /// seed varies channels, partitions, initialisation and data order, not the yardstick).
    var heldOutSeed = 0
    var rounds = 5
    /// The fixed rank, and whether the planner chooses it instead: read as `rankChoice`.
    var rank = 8
    var rankPlanning = false
    /// α of the LoRA scale γ(r); nil: 4 for `rslora` and `standard`, 2r for `constant`.
    var loraAlpha: Double? = nil
    /// How the LoRA scale γ depends on the rank (`LoRAScaling`); `rslora` by default, so that rank
    /// is capacity, not a step size.
    var loraScaling = LoRAScaling.rslora
    var targets: [LoRATarget] = [.q, .k, .v, .o]
    var localSteps = 4
    var batch = 1
    var ctx = 128
    var learningRate = 1e-3
    var optimizer = OptimizerKind.adamw
    var clip = 1.0
    var weightDecay = 0.0
    var aggregation = AggregationMode.aircomp
    var digitalBits = 8
    /// `digital` only: `false`, every node's budget is `digital_bits` per real, in whatever airtime
    /// that takes; `true`, the round gets the airtime AirComp would use for it (S·T_sym) and each
    /// node's budget is what its own rate fits in that time (less than a bit per real is sent by
    /// random sparsification, `UnbiasedCompressor`), so every node's airtime is AirComp's.
    var digitalSameAirtime = false
    /// Any method `basestation solve` has: `manifold` (the method's), `eigen`, `weakest`, `random` (baselines).
    var beamforming = ReceiveBeamformer.Method.manifold
    var evalTokens = 2048
    /// Held-out evaluation every this many rounds (and always after the last): sweeps that report
    /// only the final perplexity skip the rounds between.
    var evalEvery = 1
    /// What runs the products with the frozen base weights, at the base station's evaluation and
    /// at every node (the welcome carries it): `quantized`, on the GGUF blocks (activations to 8
    /// bits per block, integer dot products; where the model's types allow, in either memory plan;
    /// a node's log says which kernel its plan runs), or
    /// `float`, dequantised weights and sgemm, the reference. summary.json's `kernel` is the base
    /// station's.
    var kernel = FrozenKernel.quantized

    /// The adapter's α for `rank`, so that its scale α/r is γ(r) of `lora_scaling`.
    func adapterAlpha(rank: Int) -> Float {
        Float(loraScaling.scale(rank: rank, alpha: loraAlpha) * Double(rank))
    }

    /// Whether the held-out set is scored after `round` (every `eval_every` rounds and the last).
    func evaluatesHeldOut(after round: Int) -> Bool { round % evalEvery == 0 || round == rounds }
    var endpoint = "tcp://127.0.0.1:5555"
    var registerTimeoutS = 120.0
    var roundTimeoutS = 300.0
    /// Updates a round needs delivered (whole transmissions) to move the global model; with fewer
    /// the round is rejected (`no-quorum`). Flower's `min_fit_clients` plays this part there.
    var quorum = 1
    var sampleFormat = SampleFormat.ci16
    /// Nodes sleep emulated compute time × this (0: run flat out).
    var realtimeScale = 0.0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, data, partition
        case dirichletAlpha = "dirichlet_alpha"
        case heldOut = "held_out"
        case rounds, rank
        case rankPlanning = "rank_planning"
        case loraAlpha = "lora_alpha"
        case loraScaling = "lora_scaling"
        case heldOutSeed = "held_out_seed"
        case targets
        case localSteps = "local_steps"
        case batch, ctx
        case learningRate = "learning_rate"
        case optimizer, clip
        case weightDecay = "weight_decay"
        case aggregation
        case digitalBits = "digital_bits"
        case digitalSameAirtime = "digital_same_airtime"
        case beamforming
        case evalTokens = "eval_tokens"
        case evalEvery = "eval_every"
        case endpoint
        case registerTimeoutS = "register_timeout_s"
        case roundTimeoutS = "round_timeout_s"
        case quorum
        case sampleFormat = "sample_format"
        case realtimeScale = "realtime_scale"
        case kernel
    }

    init() {}

    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        try read(try decoder.container(keyedBy: CodingKeys.self))
        try validate()
    }

    /// Every present key over its default; closed sets decoded into their enums.
    private mutating func read(_ c: KeyedDecodingContainer<CodingKeys>) throws {
        func choice<T>(_ value: inout T, _ key: CodingKeys, _ choices: [(name: String, value: T)]) throws {
            try c.updateChoice(&value, forKey: key, path: "federation.\(key.rawValue)", choices: choices)
        }
        try c.update(&model, forKey: .model)
        try c.update(&data, forKey: .data)
        try choice(&partition, .partition, FederatedData.Partition.choices)
        try c.update(&dirichletAlpha, forKey: .dirichletAlpha)
        try c.update(&heldOut, forKey: .heldOut)
        try c.update(&rounds, forKey: .rounds)
        try c.update(&rank, forKey: .rank)
        try c.update(&rankPlanning, forKey: .rankPlanning)
        loraAlpha = try c.decodeNumberIfPresent(forKey: .loraAlpha)
        try choice(&loraScaling, .loraScaling, LoRAScaling.allCases.map { ($0.rawValue, $0) })
        try c.update(&heldOutSeed, forKey: .heldOutSeed)
        if let list = try c.decodeIfPresent(String.self, forKey: .targets) {
            do { targets = try LoRATarget.list(list) } catch {
                throw ConfigurationError(key: "federation.targets", problem: "\(error)")
            }
        }
        try c.update(&localSteps, forKey: .localSteps)
        try c.update(&batch, forKey: .batch)
        try c.update(&ctx, forKey: .ctx)
        try c.update(&learningRate, forKey: .learningRate)
        try choice(&optimizer, .optimizer, OptimizerKind.choices)
        try c.update(&clip, forKey: .clip)
        try c.update(&weightDecay, forKey: .weightDecay)
        try choice(&aggregation, .aggregation, AggregationMode.allCases.map { ($0.name, $0) })
        try c.update(&digitalBits, forKey: .digitalBits)
        try c.update(&digitalSameAirtime, forKey: .digitalSameAirtime)
        try choice(&beamforming, .beamforming, ReceiveBeamformer.Method.choices)
        try c.update(&evalTokens, forKey: .evalTokens)
        try c.update(&evalEvery, forKey: .evalEvery)
        try choice(&kernel, .kernel, FrozenKernel.allCases.map { ($0.rawValue, $0) })
        try c.update(&endpoint, forKey: .endpoint)
        try c.update(&registerTimeoutS, forKey: .registerTimeoutS)
        try c.update(&roundTimeoutS, forKey: .roundTimeoutS)
        try c.update(&quorum, forKey: .quorum)
        try choice(&sampleFormat, .sampleFormat, [("ci16", .ci16), ("cf32", .cf32)])
        try c.update(&realtimeScale, forKey: .realtimeScale)
    }

    /// Range checks, each naming its key.
    func validate() throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ problem: String) throws {
            if !ok { throw ConfigurationError(key: "federation.\(key.rawValue)", problem: problem) }
        }
        // Upper bounds are what a run can mean, not what this machine holds (`MemoryPlan` checks that).
        try check(
            dirichletAlpha > 0 && dirichletAlpha <= 1e6, .dirichletAlpha, "must be in (0, 1e6], got \(dirichletAlpha)")
        try check(heldOut > 0 && heldOut < 1, .heldOut, "must be in (0, 1), got \(heldOut)")
        try check((1...100_000).contains(rounds), .rounds, "must be in 1…100000, got \(rounds)")
        try check((1...4096).contains(rank), .rank, "must be in 1…4096, got \(rank)")
        if let a = loraAlpha { try check(a > 0 && a <= 1e6, .loraAlpha, "must be in (0, 1e6], got \(a)") }
        try check((1...1_000_000).contains(localSteps), .localSteps, "must be in 1…1000000, got \(localSteps)")
        try check((1...4096).contains(batch), .batch, "must be in 1…4096, got \(batch)")
        try check((2...131_072).contains(ctx), .ctx, "must be in 2…131072 tokens, got \(ctx)")
        try check(learningRate > 0 && learningRate <= 10, .learningRate, "must be in (0, 10], got \(learningRate)")
        try check(clip >= 0 && clip.isFinite, .clip, "must be ≥ 0 and finite, got \(clip)")
        try check(weightDecay >= 0 && weightDecay < 1, .weightDecay, "must be in [0, 1), got \(weightDecay)")
        try check((1...16).contains(digitalBits), .digitalBits, "must be in 1…16, got \(digitalBits)")
        try check(heldOutSeed >= 0, .heldOutSeed, "must be ≥ 0, got \(heldOutSeed)")
        try check((0...16_777_216).contains(evalTokens), .evalTokens, "must be in 0…16777216, got \(evalTokens)")
        try check((1...1_000_000).contains(evalEvery), .evalEvery, "must be in 1…1000000, got \(evalEvery)")
        try check(
            endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://"), .endpoint,
            "must be a tcp:// or ipc:// endpoint")
        try check(
            registerTimeoutS > 0 && registerTimeoutS <= 86_400, .registerTimeoutS,
            "must be in (0, 86400] s, got \(registerTimeoutS)")
        try check(
            roundTimeoutS > 0 && roundTimeoutS <= 86_400, .roundTimeoutS,
            "must be in (0, 86400] s, got \(roundTimeoutS)")
        try check((1...4096).contains(quorum), .quorum, "must be in 1…4096 nodes, got \(quorum)")
        try check(
            realtimeScale >= 0 && realtimeScale <= 1e6, .realtimeScale, "must be in [0, 1e6], got \(realtimeScale)")
    }
}

/// One `[[nodes]]` entry: an edge process and its hardware profile.
struct NodeSettings: Decodable {
    var name: String
    var profile: String

    enum CodingKeys: String, CodingKey, CaseIterable { case name, profile }

    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        profile = try c.decode(String.self, forKey: .profile)
        guard NodeName.isValid(name) else {
            throw ConfigurationError(key: "nodes.name", problem: "'\(name)' must be letters, digits, - or _")
        }
    }
}

/// How the LoRA scale γ (ΔW = γ·B·A) depends on the rank r.
///
/// Under AdamW every entry of B moves by about the learning rate per step whatever r is, so B·A
/// grows with r: with γ = α/r at α = 2r (the old default) the update's size grew with the rank and
/// rank acted as a step-size knob. rsLoRA (Kalajdzievski, 2023) shows γ = α/√r keeps the update's
/// size steady across ranks, so a higher rank adds capacity, not step size: the default.
enum LoRAScaling: String, CaseIterable {
    /// γ = α/√r (rank-stabilised), α = 4 by default (γ = 2 at r = 4).
    case rslora
    /// γ = α/r with a fixed α (the LoRA paper's and PEFT's convention), α = 4 by default.
    case standard
    /// γ = α/r with α = 2r unless given: γ fixed at 2 whatever r is (the update grows with r).
    case constant

    /// p in γ(r) ∝ r^(−p), read off `scale` (every case is a power of r): ½ for rsLoRA, 1 for α/r,
    /// 0 for the constant scale (1 when α is given).
    func exponent(alpha: Double?) -> Double {
        -Foundation.log2(scale(rank: 2, alpha: alpha) / scale(rank: 1, alpha: alpha))
    }

    /// γ(r).
    func scale(rank: Int, alpha: Double?) -> Double {
        let r = Double(max(rank, 1))
        switch self {
        case .rslora: return (alpha ?? 4) / r.squareRoot()
        case .standard: return (alpha ?? 4) / r
        case .constant: return (alpha ?? 2 * r) / r
        }
    }
}
