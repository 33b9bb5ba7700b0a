import Wire

/// How a run aggregates the round's updates, with what only that way reads: the method
/// (`aircomp`) or a baseline. The base station switches over this exhaustively, so a new way
/// cannot compile into another's path.
enum AggregationScheme: Equatable, Sendable {
    /// Over-the-air computation with the round's receive beamformer.
    case aircomp
    /// The exact weighted sum of the updates (no air, no error).
    case ideal
    /// Digital OFDMA: each update quantised to `bits` per real at peak power in whatever airtime
    /// that takes, or (`sameAirtime`) to what each node's rate fits in AirComp's airtime.
    case digital(bits: Int, sameAirtime: Bool)
}

extension FederationSettings {
    /// `aggregation` with the digital settings it reads (`digital_bits`, `digital_same_airtime`).
    var scheme: AggregationScheme {
        switch aggregation {
        case .aircomp: .aircomp
        case .ideal: .ideal
        case .digital: .digital(bits: digitalBits, sameAirtime: digitalSameAirtime)
        }
    }
}

/// How a run's LoRA rank is chosen; switched over exhaustively like the aggregation.
enum RankChoice: Equatable, Sendable {
    /// `federation.rank`, as given.
    case fixed(Int)
    /// By the optimality-gap planner from a pilot round (`rank_planning = true`), up to the rank
    /// every device's budgets allow; `federation.rank` is not read.
    case planned

    var description: String {
        switch self {
        case .fixed(let r): "rank \(r)"
        case .planned: "rank planned"
        }
    }
}

extension FederationSettings {
    /// `rank_planning` and `rank` as the one choice they make.
    var rankChoice: RankChoice { rankPlanning ? .planned : .fixed(rank) }
}
