import ArgumentParser
import COpenBLAS
import CommandLineSupport
import Dispatch
import Foundation
import LanguageModel
import Randomness

/// `edgenode bench`: forward (every token scored, and the last token's logits only, the work of
/// llama.cpp's prompt processing) and LoRA train-step speed on a model, with the machine's sgemm rate
/// measured in the same run, so model-FLOP utilisation is reported against what BLAS reaches here.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Forward tokens/s, LoRA train-step tokens/s and GFLOP/s at --ctx, and the machine's sgemm GFLOP/s.")
    @Option(help: "GGUF model.") var model: String
    @Option(help: "Window length in tokens.") var ctx: Int = 256
    @Option(help: "Timed windows (forward) and steps (training), after one untimed warm-up each.") var repeats: Int = 4
    @Option(help: "Seed of the random token windows.") var seed: UInt64 = 1
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try failing {
            guard ctx >= 2, repeats >= 1 else { throw ValidationError("need --ctx ≥ 2 and --repeats ≥ 1") }
            let file = try GGUFFile(path: model)
            let plan = try training.memoryPlan(file, context: ctx)
            if plan.mode == .streamed { AllocatorPolicy.returnLargeBlocks() }
            let llama = try LlamaModel(
                gguf: file, residency: plan.mode == .cached ? .cached : .streamed, kernel: plan.kernel)
            var g = SeededGenerator(seed: seed, stream: [0xBE_4C])
            let windows = (0...repeats).map { _ in
                (0..<ctx).map { _ in Int(g.next() % UInt64(llama.config.vocabulary)) }
            }

            let meter = FlopMeter()
            let forward = LlamaForward(model: llama, meter: meter)
            _ = try forward.logProbabilities(windows[0])
            meter.reset()
            var start = DispatchTime.now().uptimeNanoseconds
            for w in windows.dropFirst() { _ = try forward.logProbabilities(w) }
            let forwardSeconds = seconds(since: start)
            let forwardFlops = meter.flops
            // llama.cpp's prompt processing does this work: every layer over the window, the head
            // on its last token only (the forward above scores every token, as training does).
            _ = try forward.lastLogits(windows[0])
            start = DispatchTime.now().uptimeNanoseconds
            for w in windows.dropFirst() { _ = try forward.lastLogits(w) }
            let promptSeconds = seconds(since: start)

            let adapter = LoRAAdapter(
                config: llama.config, rank: training.rank, alpha: training.alpha ?? Float(2 * training.rank),
                targets: training.targets, seed: seed)
            let trainMeter = FlopMeter()
            let tuner = LoRAFineTuner(
                model: llama, adapter: adapter, optimizer: try training.optimizerSettings(), totalSteps: repeats + 1,
                activations: plan.activationPolicy, meter: trainMeter)
            try tuner.step([windows[0]])
            trainMeter.reset()
            var timed = windows.dropFirst().makeIterator()
            start = DispatchTime.now().uptimeNanoseconds
            let outcome = try LocalTrainer(tuner: tuner).run(steps: repeats, batch: { [timed.next()!] })
            if case .refused(let e) = outcome.stop { throw e }
            let trainSeconds = seconds(since: start)
            let trainFlops = trainMeter.flops

            // The training's peak, before the sgemm peer's own matrices (8 MiB and OpenBLAS's buffers) add theirs.
            let peak = peakResidentBytes()
            let sgemm = measureSgemm()
            let tokens = Double(repeats * ctx)
            if json {
                try printJSONLine(
                    BenchReport(
                        ctx: ctx, repeats: repeats, memoryMode: plan.mode.rawValue, kernel: llama.kernel.rawValue,
                        rank: training.rank, forwardTokensPerS: tokens / forwardSeconds,
                        forwardGflops: forwardFlops / forwardSeconds / 1e9, promptTokensPerS: tokens / promptSeconds,
                        trainTokensPerS: tokens / trainSeconds, gflops: trainFlops / trainSeconds / 1e9,
                        trainGflopPerStep: trainFlops / Double(repeats) / 1e9, sgemmGflops: sgemm,
                        mfu: trainFlops / trainSeconds / 1e9 / sgemm,
                        forwardMfu: forwardFlops / forwardSeconds / 1e9 / sgemm,
                        peakRssBytes: peak, plannedBytes: plan.total,
                        keptLayers: plan.mode == .cached ? llama.config.layers : plan.activationPolicy.keptLayers,
                        keptLogits: plan.activationPolicy.keepLogits))
            } else {
                print(
                    String(
                        format:
                            "ctx %d, %@ mode, %@ kernel: prompt (last token's logits) %.1f tokens/s; forward %.1f "
                            + "tokens/s (%.1f GFLOP/s), train step %.1f tokens/s (%.1f GFLOP/s, %.0f%% of "
                            + "sgemm's %.1f GFLOP/s), peak RSS %.0f MiB",
                        ctx, plan.mode.rawValue, llama.kernel.rawValue, tokens / promptSeconds, tokens / forwardSeconds,
                        forwardFlops / forwardSeconds / 1e9, tokens / trainSeconds,
                        trainFlops / trainSeconds / 1e9, 100 * trainFlops / trainSeconds / 1e9 / sgemm, sgemm,
                        Double(peak) / 1_048_576))
            }
        }
    }

    func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// The best of five square 1024³ sgemms on all BLAS threads (GFLOP/s).
    func measureSgemm() -> Double {
        let n = 1024
        var g = SeededGenerator(seed: 7, stream: [1])
        let a = (0..<(n * n)).map { _ in Float(g.uniform()) }
        let b = a
        var c = [Float](repeating: 0, count: n * n)
        var best = 0.0
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0,
                &c, Int32(n))
            best = max(best, 2 * Double(n * n * n) / seconds(since: start) / 1e9)
        }
        return best
    }
}
