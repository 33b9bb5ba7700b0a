import Foundation
import Randomness

/// Held-out split and non-IID partition of documents over K devices (docs/architecture.md#the-learning-path).
public enum DataPartition {
    /// A seeded permutation per category; the last `fraction` of each category is held out, so the
    /// held-out set covers every category and is never trained on.
    public static func split(_ docs: [Document], heldOutFraction fraction: Double, seed: UInt64) -> (
        train: [Document], heldOut: [Document]
    ) {
        precondition(fraction >= 0 && fraction < 1, "held-out fraction must be in [0, 1)")
        var train = [Document]()
        var held = [Document]()
        for (c, category) in categories(docs).enumerated() {
            var items = docs.filter { $0.category == category }
            var g = DataRandom(seed: seed, stream: UInt64(c))
            items = g.shuffled(items)
            let cut = items.count - Int((Double(items.count) * fraction).rounded())
            train += items[..<cut]
            held += items[cut...]
        }
        return (train, held)
    }

    /// Documents taken round-robin over the categories (each in its given order) until their token
    /// counts (plus one separator each) reach `budget`, so every category weighs alike however
    /// the documents are ordered: a prefix of the held-out stream would score only its first
    /// category.
    public static func balancedSample(_ docs: [Document], tokens budget: Int, countTokens: (String) -> Int)
        -> [Document]
    {
        var queues = categories(docs).map { c in ArraySlice(docs.filter { $0.category == c }) }
        var picked = [Document]()
        var total = 0
        while total < budget, queues.contains(where: { !$0.isEmpty }) {
            for c in queues.indices where total < budget {
                guard let d = queues[c].popFirst() else { continue }
                picked.append(d)
                total += countTokens(d.text) + 1
            }
        }
        return picked
    }

    /// By category: categories dealt round-robin to devices (each device sees only its own).
    public static func byCategory(_ docs: [Document], devices k: Int) -> [[Document]] {
        precondition(k >= 1)
        var out = [[Document]](repeating: [], count: k)
        for (i, category) in categories(docs).enumerated() { out[i % k] += docs.filter { $0.category == category } }
        return out
    }

    /// Dirichlet(α): each category's documents split over the devices in proportions drawn from
    /// Dir(α, …, α); small α gives each device few categories, large α approaches IID.
    public static func dirichlet(_ docs: [Document], devices k: Int, alpha: Double, seed: UInt64) -> [[Document]] {
        precondition(k >= 1 && alpha > 0)
        var out = [[Document]](repeating: [], count: k)
        for (c, category) in categories(docs).enumerated() {
            var g = DataRandom(seed: seed, stream: 1000 + UInt64(c))
            let items = g.shuffled(docs.filter { $0.category == category })
            let weights = (0..<k).map { _ in g.gamma(alpha) }
            let total = weights.reduce(0, +)
            var start = 0
            var cumulative = 0.0
            for d in 0..<k {
                cumulative += weights[d] / total
                let end = d == k - 1 ? items.count : Int((cumulative * Double(items.count)).rounded())
                out[d] += items[start..<max(start, end)]
                start = max(start, end)
            }
        }
        return out
    }

    static func categories(_ docs: [Document]) -> [String] {
        var seen = Set<String>()
        var order = [String]()
        for d in docs where seen.insert(d.category).inserted { order.append(d.category) }
        return order
    }
}

/// Seeded draws for data handling on the project's generator: Fisher–Yates shuffles and
/// Marsaglia–Tsang gamma variates (for the Dirichlet partition).
struct DataRandom {
    private var g: SeededGenerator
    init(seed: UInt64, stream: UInt64) { g = SeededGenerator(seed: seed, stream: [0xDA7A, stream]) }

    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 by the boost U^(1/shape).
    mutating func gamma(_ shape: Double) -> Double {
        if shape < 1 { return gamma(shape + 1) * pow(g.uniformPositive(), 1 / shape) }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0
            var v = 0.0
            repeat {
                x = g.normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = g.uniformPositive()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    mutating func shuffled<T>(_ items: [T]) -> [T] {
        var a = items
        if a.count < 2 { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        return a
    }
}

/// Token windows for training and evaluation: documents tokenized, joined with an end-of-text
/// token, cut into non-overlapping windows of `length` tokens (the tail shorter than 2 dropped).
public enum WindowPacker {
    public static func pack(_ docs: [Document], tokenizer: BPETokenizer, length: Int) -> [[Int]] {
        precondition(length >= 2)
        var stream = [Int]()
        for d in docs {
            stream += tokenizer.encode(d.text)
            if let eos = tokenizer.eosID { stream.append(eos) }
        }
        return stride(from: 0, to: stream.count, by: length).map { Array(stream[$0..<min($0 + length, stream.count)]) }
            .filter { $0.count >= 2 }
    }
}
