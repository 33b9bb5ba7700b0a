import CommandLineSupport
import Foundation
import LanguageModel
import Logging
import Wire

/// The run's yardstick: the held-out tokens every seed of a scenario shares, scored by the frozen
/// model with an adapter or without one, at the run's context. The base model's score may come
/// from the memo (`serve --memo DIR`), which is keyed by the model's bytes, the context, the kernel
/// and the tokens. It keeps the seconds its scoring took (summary.json's `time_s`) and what the
/// memo answered (summary.json's `memo`).
final class HeldOutEvaluator {
    let model: LlamaModel
    /// The held-out sample's tokens (whole documents, round-robin over the categories).
    let tokens: [Int]
    let context: Int
    /// The model file, whose bytes key the memo.
    let modelPath: String
    /// Results of deterministic work shared with other runs; nil: everything is computed.
    var memo: Memo?
    /// Seconds spent scoring, by `clock`.
    private(set) var seconds = 0.0
    private(set) var memoAnswers = RunSummary.MemoAnswers()
    private let clock: MonotonicClock
    private let log: Logger

    init(model: LlamaModel, tokens: [Int], context: Int, modelPath: String, clock: MonotonicClock, log: Logger) {
        (self.model, self.tokens, self.context, self.modelPath) = (model, tokens, context, modelPath)
        (self.clock, self.log) = (clock, log)
    }

    /// The held-out loss (nats/token), its standard error over the windows and the perplexity of
    /// the model with `adapter`, or of the base model (nil).
    func score(_ adapter: LoRAAdapter?) throws -> HeldOutScore {
        let start = clock.nanoseconds
        defer { seconds += clock.seconds(since: start) }
        // The nodes wait while the base station evaluates: every core takes windows of its own.
        let r = try LlamaForward(model: model, adapter: adapter)
            .perplexity(tokens: tokens, context: context, workers: ProcessInfo.processInfo.activeProcessorCount)
        return HeldOutScore(
            loss: Foundation.log(r.perplexity), perplexity: r.perplexity, standardError: r.lossStandardError)
    }

    /// Round 0's score: the base model's (a fresh adapter has B = 0, so the adapted model is the
    /// base model at any rank), from the memo when it holds this model, held-out set and context;
    /// else scored, and stored there.
    func scoreBaseModel() throws -> HeldOutScore {
        guard let memo else { return try score(nil) }
        let key = try memoKey()
        switch memo.lookup(kind: "heldout-base", key: key.bytes, maxValueBytes: 16) {
        case .hit(let value) where value.count == 16:
            var r = PayloadReader(Data(value))
            let p = (try? r.f64()) ?? .nan
            let se = (try? r.f64()) ?? .nan
            if p.isFinite && p >= 1 && !(se < 0) {
                memoAnswers.heldoutBase = true
                return HeldOutScore(loss: Foundation.log(p), perplexity: p, standardError: se)
            }
            log.warning(
                "memo: \(memo.path(kind: "heldout-base", key: key.bytes)) holds perplexity \(p); evaluating again")
        case .hit: break
        case .absent: break
        case .unusable(let reason): log.warning("memo: \(reason); evaluating again")
        }
        let result = try score(nil)
        memoAnswers.heldoutBase = false
        var value = PayloadWriter()
        value.f64(result.perplexity)
        value.f64(result.standardError)
        do { try memo.store(kind: "heldout-base", key: key.bytes, value: [UInt8](value.data)) } catch {
            log.warning("memo: not stored: \(error)")
        }
        return result
    }

    /// What the base model's score depends on: the model's bytes, the context, the kernel, the tokens.
    private func memoKey() throws -> MemoKey {
        guard let identity = FNV1a.hash(file: modelPath) else { throw CommandError("cannot read \(modelPath)") }
        var key = MemoKey("heldout-base v2")
        key.add("model_fnv1a", identity.hash)
        key.add("model_bytes", Int64(identity.bytes))
        key.add("ctx", Int64(context))
        key.add("kernel", model.kernel.rawValue)
        var bytes = PayloadWriter()
        for t in tokens { bytes.int(t) }
        key.add("tokens", [UInt8](bytes.data))
        return key
    }
}
