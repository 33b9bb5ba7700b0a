/// How the updates of a round reach the base station.
public enum AggregationMode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Over-the-air computation: precoded analog symbols superpose on the air.
    case aircomp = 1
    /// FL with ideal (error-free) aggregation: the mapped symbols, no air.
    case ideal = 2
    /// Digital OFDMA: each update quantised to b bits per real at the Shannon rate.
    case digital = 3

    /// The name in scenarios and on the command line.
    public var name: String {
        switch self {
        case .aircomp: return "aircomp"
        case .ideal: return "ideal"
        case .digital: return "digital"
        }
    }

    public init?(name: String) {
        guard let m = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = m
    }

    public var description: String { name }
}
