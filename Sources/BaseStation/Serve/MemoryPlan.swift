import Configuration
import Foundation
import LanguageModel
import Radio

/// What a served run will allocate, planned from its scenario and model before anything large is
/// made, against this machine's memory: a scenario that cannot fit is an error naming the keys
/// that set the largest allocation and the bytes it needs, never an abort inside an allocator.
///
/// The terms are upper estimates of the base station's big buffers (each with the copies a round
/// keeps at once); everything else it holds is small beside them. Bytes as Doubles: a hostile
/// scenario's products overflow Int.
struct MemoryPlan {
    struct Term {
        /// What it is, and the keys whose product sets its size.
        let what: String, keys: String
        let bytes: Double
    }

    let terms: [Term]
    var total: Double { terms.reduce(0) { $0 + $1.bytes } }

    /// - Parameters:
    ///   - channel: the run's channel (devices and transmit antennas already set from the nodes).
    ///   - modelBytes: the GGUF file's size (its weights are mapped and dequantised as needed).
    ///   - receiver: where the air is summed: N_r rows at the antennas, L in the combiner's space.
    ///   - largestRank: the largest rank the run may allocate adapters at, and the key that sets it
    ///     (`federation.rank`, or `plan.r_max` when the rank is planned: the pilot runs at r_max).
    init(
        channel: ChannelConfiguration, streams: Int, settings: FederationSettings, config: LlamaConfig, modelBytes: Int,
        receiver: ReceiverSpace = .combiner, largestRank: (rank: Int, key: String)? = nil
    ) {
        let rank = largestRank ?? (settings.rank, "federation.rank")
        let nsc = Double(channel.subcarriers)
        let k = Double(channel.devices)
        let nr = Double(channel.receiveAntennas)
        let nt = Double(channel.transmitAntennas)
        let l = Double(max(1, streams))
        let padded = ((receiver == .combiner ? l : nr) / 8).rounded(.up) * 8
        // D, the update's reals (rank is validated ≤ 4096 before, so the layout's Int count cannot overflow).
        let reals = Double(LoRALayout(config: config, rank: rank.rank, targets: settings.targets).parameterCount)
        let ofdmSymbols = (reals / 2 / (l * nsc)).rounded(.up)
        let context = Double(settings.ctx)
        terms = [
            // True, estimated and previous responses, and the round's participants' copy.
            Term(
                what: "channel responses",
                keys: "channel.subcarriers × [[nodes]] × channel.rx_antennas × the nodes' antennas",
                bytes: 4 * nsc * k * nr * nt * 8),
            Term(
                what: "per-node air transforms",
                keys:
                    "[[nodes]] × channel.subcarriers × channel.rx_antennas (aircomp.streams in the combiner's space) "
                    + "× the nodes' antennas",
                bytes: 2 * k * nsc * nt * 2 * padded * 4),
            // Σ H x, its noiseless reference and the target sum, as exact Doubles.
            Term(
                what: "the receiver's sums",
                keys:
                    "\(rank.key) × federation.targets × channel.rx_antennas (aircomp.streams in the combiner's "
                    + "space) / aircomp.streams",
                bytes: 3 * nsc * ofdmSymbols * 2 * padded * 8),
            // Global, aggregate, pilot and previous adapters, the update and its checkpoint copy.
            Term(what: "adapters", keys: "\(rank.key) × federation.targets", bytes: 8 * reals * 4),
            // Logits and every layer's activations of a held-out window.
            Term(
                what: "held-out evaluation", keys: "federation.ctx",
                bytes: context * Double(config.vocabulary) * 4
                    + context * Double(config.embedding + config.feedForward) * 4 * 8 * Double(config.layers)),
            Term(what: "the model", keys: "federation.model", bytes: Double(modelBytes)),
        ]
    }

    /// Physical memory of this machine, bytes.
    static var physicalMemory: Double { Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE))) }

    /// Throws when the plan exceeds `fraction` of `available` bytes, naming the largest term.
    func check(available: Double = MemoryPlan.physicalMemory, fraction: Double = 0.8) throws {
        guard total > fraction * available, let largest = terms.max(by: { $0.bytes < $1.bytes }) else { return }
        throw ConfigurationError(
            key: largest.keys,
            problem: String(
                format: "the run needs ≈ %@, of which %@ for %@; this machine has %@ of memory",
                Self.format(total), Self.format(largest.bytes), largest.what, Self.format(available)))
    }

    static func format(_ bytes: Double) -> String {
        for (unit, scale) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6)] where bytes >= scale {
            return String(format: "%.1f %@", bytes / scale, unit)
        }
        return String(format: "%.0f bytes", bytes)
    }
}
