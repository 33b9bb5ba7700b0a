import CommandLineSupport
import Foundation

/// `edgenode info --json`: the libraries the firmware links.
struct InfoReport: Codable {
    var zeromqVersion: String
    var blasCore: String
    var blasThreads: Int

    enum CodingKeys: String, CodingKey {
        case zeromqVersion = "zeromq_version"
        case blasCore = "blas_core"
        case blasThreads = "blas_threads"
    }
}

/// `edgenode eval --json`: held-out perplexity over the scored tokens, the rate, and each scored
/// token's log-probability (nats) for comparison with llama.cpp's.
struct EvalReport: Codable {
    var perplexity: Double
    var tokens: Int
    var scoredTokens: Int
    var tokensPerS: Double
    var ctx: Int
    var kernel: String
    var logProbabilities: [Double]

    enum CodingKeys: String, CodingKey {
        case perplexity, tokens
        case scoredTokens = "scored_tokens"
        case tokensPerS = "tokens_per_s"
        case ctx, kernel
        case logProbabilities = "log_probabilities"
    }
}

/// `edgenode check --json`: whether a profile fits the model at a rank and context, with the
/// memory plan's terms in bytes and the largest rank and context that fit (nil: none).
struct CheckReport: Codable {
    var profile: String
    var model: String
    var rank: Int
    var ctx: Int
    var mode: String
    var kernel: String
    var fits: Bool
    var neededBytes: Int
    var availableBytes: Int
    var flashNeededBytes: Int
    var flashAvailableBytes: Int
    var plan: Plan
    @Nullable var maxRankAtCtx: Int?
    @Nullable var maxCtxAtRank: Int?

    struct Plan: Codable {
        var weights: Int
        var mappedModel: Int
        var activations: Int
        var backwardScratch: Int
        var lora: Int
        var gradients: Int
        var optimizerState: Int
        var runtime: Int
        var total: Int

        enum CodingKeys: String, CodingKey {
            case weights
            case mappedModel = "mapped_model"
            case activations
            case backwardScratch = "backward_scratch"
            case lora, gradients
            case optimizerState = "optimizer_state"
            case runtime, total
        }
    }

    enum CodingKeys: String, CodingKey {
        case profile, model, rank, ctx, mode, kernel, fits
        case neededBytes = "needed_bytes"
        case availableBytes = "available_bytes"
        case flashNeededBytes = "flash_needed_bytes"
        case flashAvailableBytes = "flash_available_bytes"
        case plan
        case maxRankAtCtx = "max_rank_at_ctx"
        case maxCtxAtRank = "max_ctx_at_rank"
    }
}

/// `edgenode bench --json`: tokens per second and GFLOP/s of the forward, the prompt (the last
/// token's logits) and a train step at `ctx`, against the sgemm peer measured in the same run, and
/// the peak resident set against the memory plan (bytes).
struct BenchReport: Codable {
    var ctx: Int
    var repeats: Int
    var memoryMode: String
    var kernel: String
    var rank: Int
    var forwardTokensPerS: Double
    var forwardGflops: Double
    var promptTokensPerS: Double
    var trainTokensPerS: Double
    var gflops: Double
    var trainGflopPerStep: Double
    var sgemmGflops: Double
    var mfu: Double
    var forwardMfu: Double
    var peakRssBytes: Int
    var plannedBytes: Int
    var keptLayers: Int
    var keptLogits: Bool

    enum CodingKeys: String, CodingKey {
        case ctx, repeats
        case memoryMode = "memory_mode"
        case kernel, rank
        case forwardTokensPerS = "forward_tokens_per_s"
        case forwardGflops = "forward_gflops"
        case promptTokensPerS = "prompt_tokens_per_s"
        case trainTokensPerS = "train_tokens_per_s"
        case gflops
        case trainGflopPerStep = "train_gflop_per_step"
        case sgemmGflops = "sgemm_gflops"
        case mfu
        case forwardMfu = "forward_mfu"
        case peakRssBytes = "peak_rss_bytes"
        case plannedBytes = "planned_bytes"
        case keptLayers = "kept_layers"
        case keptLogits = "kept_logits"
    }
}

/// `edgenode finetune`'s summary.json (and its `--json` output): the run's settings, its memory
/// (bytes), its losses (nats/token), held-out perplexity before and after, and its rates.
struct FinetuneSummary: Codable {
    var model: String
    var data: String
    var steps: Int
    var ctx: Int
    var rank: Int
    var alpha: Double
    var targets: [String]
    var parameters: Int
    var optimizer: String
    var learningRate: Double
    var batch: Int
    var seed: UInt64
    var memoryMode: String
    var plannedBytes: Int
    var keptLayers: Int
    var keptLogits: Bool
    var peakRssBytes: Int
    var firstLoss: Double
    var finalLoss: Double
    var meanLossLast10: Double
    var heldoutTokens: Int
    var heldoutPerplexityBefore: Double
    var heldoutPerplexityAfter: Double
    var trainSeconds: Double
    var trainTokensPerS: Double
    var trainGflops: Double

    enum CodingKeys: String, CodingKey {
        case model, data, steps, ctx, rank, alpha, targets, parameters, optimizer
        case learningRate = "learning_rate"
        case batch, seed
        case memoryMode = "memory_mode"
        case plannedBytes = "planned_bytes"
        case keptLayers = "kept_layers"
        case keptLogits = "kept_logits"
        case peakRssBytes = "peak_rss_bytes"
        case firstLoss = "first_loss"
        case finalLoss = "final_loss"
        case meanLossLast10 = "mean_loss_last_10"
        case heldoutTokens = "heldout_tokens"
        case heldoutPerplexityBefore = "heldout_perplexity_before"
        case heldoutPerplexityAfter = "heldout_perplexity_after"
        case trainSeconds = "train_seconds"
        case trainTokensPerS = "train_tokens_per_s"
        case trainGflops = "train_gflops"
    }
}

/// `edgenode flood`'s output: what its synthetic nodes sent (frames, bytes, the rounds every node
/// finished), over the longest node's seconds, and the process's CPU (`stress-report` reads
/// `cpu_cores_busy`, the senders' cores busy).
struct FloodSummary: Codable {
    var nodes: Int
    var frames: Int
    var bytes: Int
    var rounds: Int
    var seconds: Double
    var failures: [String]
    var cpuSeconds: Double
    var cpuCoresBusy: Double

    enum CodingKeys: String, CodingKey {
        case nodes, frames, bytes, rounds, seconds, failures
        case cpuSeconds = "cpu_seconds"
        case cpuCoresBusy = "cpu_cores_busy"
    }
}
