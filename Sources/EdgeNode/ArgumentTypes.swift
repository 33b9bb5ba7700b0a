import ArgumentParser
import LanguageModel

// The learning side's closed sets, parsed once at the command line: an unknown value is a usage
// error listing the choices, before anything runs.

extension OptimizerKind: ExpressibleByArgument {}
extension LearningRateSchedule.Shape: ExpressibleByArgument {}
extension FrozenKernel: ExpressibleByArgument {}

/// `--memory`: a training memory mode, or `auto` (cached when its plan fits the budget).
enum MemoryChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, cached, streamed
}

/// A `--targets` value: distinct projections by GGUF name, comma-separated (a usage error that
/// says what is wrong otherwise).
func parseTargets(_ text: String) throws -> [LoRATarget] {
    do { return try LoRATarget.list(text) } catch { throw ValidationError("\(error)") }
}

/// The default `--targets`: the attention projections.
let attentionTargets: [LoRATarget] = [.q, .k, .v, .o]
