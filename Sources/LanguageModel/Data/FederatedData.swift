/// The federation's data, computed identically by the base station and every node from the same
/// settings: the held-out split (never trained on, the BS evaluates on it) and the non-IID
/// partition of the rest over K devices. The split has a seed of its own (`heldOutSeed`; nil: the
/// run's), so runs of different seeds evaluate one held-out set and differ in their partitions.
public struct FederatedData: Sendable {
    public enum Partition: String, Sendable, CaseIterable {
        /// Categories dealt round-robin: each device sees only its own.
        case category
        /// Dirichlet(α) proportions per category.
        case dirichlet
        /// Shuffled and dealt evenly.
        case iid
    }

    public let shards: [[Document]]
    public let heldOut: [Document]

    public init(
        spec: String, partition: Partition, devices k: Int, dirichletAlpha: Double, heldOutFraction: Double,
        seed: UInt64,
        heldOutSeed: UInt64? = nil
    ) throws {
        let docs = try TextCorpus.load(spec)
        let split = DataPartition.split(docs, heldOutFraction: heldOutFraction, seed: heldOutSeed ?? seed)
        guard !split.heldOut.isEmpty else {
            throw DataSourceError(path: spec, line: nil, problem: "too few documents to hold \(heldOutFraction) out")
        }
        heldOut = split.heldOut
        switch partition {
        case .category: shards = DataPartition.byCategory(split.train, devices: k)
        case .dirichlet: shards = DataPartition.dirichlet(split.train, devices: k, alpha: dirichletAlpha, seed: seed)
        case .iid:
            shards = DataPartition.dirichlet(
                split.train.map { Document(text: $0.text, category: "all") }, devices: k, alpha: 1e6, seed: seed)
        }
        for (i, s) in shards.enumerated() where s.isEmpty {
            throw DataSourceError(
                path: spec, line: nil,
                problem:
                    "device \(i) gets no documents (\(partition.rawValue) partition of \(k) devices); use more "
                    + "categories or another partition"
            )
        }
    }

    /// The held-out text as one document stream (documents separated by a blank line), the text
    /// `edgenode eval` would score.
    public var heldOutText: String { Self.stream(heldOut) }

    /// The held-out documents the base station evaluates on with a budget of `tokens` tokens
    /// (0: all); see `DataPartition.balancedSample`.
    public func heldOutSample(tokens budget: Int, countTokens: (String) -> Int) -> [Document] {
        budget > 0 ? DataPartition.balancedSample(heldOut, tokens: budget, countTokens: countTokens) : heldOut
    }

    /// Held-out documents outside the evaluation sample `evaluated` (balanced the same way, up to
    /// `budget` tokens): the base station's calibration set for the bound's constants, never trained
    /// on and never scored. Empty when the evaluation takes every held-out document.
    public func calibrationSample(excluding evaluated: [Document], tokens budget: Int, countTokens: (String) -> Int)
        -> [Document]
    {
        guard budget > 0 else { return [] }
        let scored = Set(evaluated.map(\.text))
        return DataPartition.balancedSample(
            heldOut.filter { !scored.contains($0.text) }, tokens: budget, countTokens: countTokens)
    }

    /// Documents as one stream, separated by a blank line.
    public static func stream(_ docs: [Document]) -> String { docs.map(\.text).joined(separator: "\n\n") + "\n" }
}
