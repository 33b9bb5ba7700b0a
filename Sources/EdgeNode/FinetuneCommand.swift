import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation
import LanguageModel

/// `edgenode finetune`: centralised LoRA fine-tuning, the single-device reference the federated
/// runs are compared with.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract:
            "LoRA fine-tuning of a GGUF Llama on one device; writes DIR/adapter.gguf, DIR/peft/, DIR/loss.csv, "
            + "DIR/summary.json, DIR/heldout.txt."
    )
    @Option(help: "GGUF model.") var model: String
    @Option(
        help: "Data: a text file, a .jsonl file (text, or instruction/response), or fortunes:CAT[,CAT…] / fortunes:all."
    ) var data: String
    @Option(help: "Optimiser steps.") var steps: Int = 50
    @Option(help: "Window length in tokens.") var ctx: Int = 256
    @Option(help: "Output directory.") var out: String
    @Option(help: "Fraction of each category's documents held out (never trained on) for evaluation.") var heldOut:
        Double = 0.1
    @Option(help: "Evaluate held-out perplexity on at most this many tokens (0: all).") var evalTokens: Int = 8192
    @Option(help: "Seed (adapter initialisation, split, window order).") var seed: UInt64 = 1
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Print the summary as JSON.") var json = false
    @OptionGroup var logging: LogOptions

    func run() throws {
        try failing {
            let log = logging.logger("edgenode.finetune")
            guard steps >= 1, ctx >= 2, heldOut > 0, heldOut < 1 else {
                throw ValidationError("need --steps ≥ 1, --ctx ≥ 2, 0 < --held-out < 1")
            }
            let file = try GGUFFile(path: model)
            let tokenizer = try BPETokenizer(gguf: file)
            let plan = try training.memoryPlan(file, context: ctx)
            let docs = try TextCorpus.load(data)
            let split = DataPartition.split(docs, heldOutFraction: heldOut, seed: seed)
            guard !split.heldOut.isEmpty else {
                throw ValidationError("\(data): too few documents to hold \(heldOut) out")
            }
            var sampler = try WindowSampler(
                WindowPacker.pack(split.train, tokenizer: tokenizer, length: ctx), seed: seed)
            let heldOutText = split.heldOut.map(\.text).joined(separator: "\n\n") + "\n"
            var heldOutTokens = tokenizer.encode(heldOutText)
            if evalTokens > 0 { heldOutTokens = Array(heldOutTokens.prefix(evalTokens)) }

            if plan.mode == .streamed { AllocatorPolicy.returnLargeBlocks() }
            let llama = try LlamaModel(
                gguf: file, residency: plan.mode == .cached ? .cached : .streamed, kernel: plan.kernel)
            let list = training.targets
            let adapter = LoRAAdapter(
                config: llama.config, rank: training.rank, alpha: training.alpha ?? Float(2 * training.rank),
                targets: list, seed: seed)
            let before = try LlamaForward(model: llama).perplexity(tokens: heldOutTokens, context: ctx)
            let setup = String(
                format: "%@ mode, %@ kernel (plan %.0f MiB); %d training windows of %d tokens; ", plan.mode.rawValue,
                plan.kernel.rawValue, Double(plan.total) / 1_048_576, sampler.windows.count, ctx)
            let baseline = String(
                format: "held-out perplexity before: %.4f over %d tokens", before.perplexity, before.scoredTokens)
            log.info("\(setup)\(baseline)")

            let tuner = LoRAFineTuner(
                model: llama, adapter: adapter, optimizer: try training.optimizerSettings(),
                schedule: try training.learningRateSchedule(), totalSteps: steps, activations: plan.activationPolicy)
            var csv = "step,loss,grad_norm,learning_rate,tokens,seconds,gflop\n"
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = try LocalTrainer(tuner: tuner).run(
                steps: steps, batch: { (0..<training.batch).map { _ in sampler.next() } }
            ) { r in
                csv += String(
                    format: "%d,%.6f,%.6f,%.6g,%d,%.4f,%.4f\n", r.step, r.loss, r.gradientNorm, r.learningRate,
                    r.tokens, r.seconds, r.flops / 1e9)
                let line = String(
                    format: "step %d/%d  loss %.4f  |g| %.3f  lr %.2g  %.1f tokens/s", r.step, steps, r.loss,
                    r.gradientNorm, r.learningRate, Double(r.tokens) / r.seconds)
                log.info("\(line)")
            }
            if case .refused(let e) = outcome.stop { throw e }
            let trainSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let after = try LlamaForward(model: llama, adapter: tuner.adapter).perplexity(
                tokens: heldOutTokens, context: ctx)

            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try tuner.adapter.writeGGUF(to: out + "/adapter.gguf")
            try PEFTExport.write(tuner.adapter, config: llama.config, to: out + "/peft")
            try Data(csv.utf8).write(to: URL(fileURLWithPath: out + "/loss.csv"), options: .atomic)
            try Data(heldOutText.utf8).write(to: URL(fileURLWithPath: out + "/heldout.txt"), options: .atomic)
            let history = tuner.history
            let summary = FinetuneSummary(
                model: model, data: data, steps: steps, ctx: ctx, rank: training.rank,
                alpha: Double(tuner.adapter.alpha), targets: list.map(\.rawValue),
                parameters: tuner.adapter.parameterCount, optimizer: training.optimizer.rawValue,
                learningRate: Double(training.learningRate), batch: training.batch, seed: seed,
                memoryMode: plan.mode.rawValue, plannedBytes: plan.total,
                keptLayers: plan.mode == .cached ? llama.config.layers : plan.activationPolicy.keptLayers,
                keptLogits: plan.activationPolicy.keepLogits, peakRssBytes: peakResidentBytes(),
                firstLoss: history.first!.loss, finalLoss: history.last!.loss,
                meanLossLast10: history.suffix(10).map(\.loss).reduce(0, +) / Double(min(10, history.count)),
                heldoutTokens: heldOutTokens.count, heldoutPerplexityBefore: before.perplexity,
                heldoutPerplexityAfter: after.perplexity, trainSeconds: trainSeconds,
                trainTokensPerS: Double(history.reduce(0) { $0 + $1.tokens }) / trainSeconds,
                trainGflops: history.reduce(0) { $0 + $1.flops } / trainSeconds / 1e9)
            let encoded = try JSONRecord.encoded(summary)
            try encoded.write(to: URL(fileURLWithPath: out + "/summary.json"), options: .atomic)
            if json {
                FileHandle.standardOutput.write(encoded)
                FileHandle.standardOutput.write(Data("\n".utf8))
            } else {
                print(
                    String(
                        format:
                            "held-out perplexity %.4f → %.4f; loss %.4f → %.4f; %.1f training tokens/s; wrote "
                            + "%@/{adapter.gguf,peft/,loss.csv,summary.json,heldout.txt}",
                        before.perplexity, after.perplexity, history.first!.loss, history.last!.loss,
                        Double(history.reduce(0) { $0 + $1.tokens }) / trainSeconds, out))
            }
        }
    }

}
