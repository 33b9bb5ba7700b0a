import Foundation
import Radio

/// The status column of metrics.csv: how a node's round, or the global model's, went.
enum RoundStatus: String {
    /// Round 0: the global model before training.
    case initial
    /// A node trained and delivered; the global model moved.
    case ok
    /// A node's report did not fit the round (another update size, a non-finite ‖Δ‖²): left out.
    case excluded
    /// A node reported no local step (budget, memory, a bad order).
    case satOut = "sat-out"
    /// A node was not active (never registered, or left out after a missed deadline).
    case absent
    /// A node's transmission did not arrive complete.
    case dropped
    /// Global: no node delivered an update.
    case noUpdates = "no-updates"
    /// Global: no transmission arrived complete.
    case noTransmissions = "no-transmissions"
    /// Global: the design or the aggregate was refused; the global model did not move.
    case rejected
    /// Global: the rank-planning pilot round at r_max; its aggregate fed the planner, not the model.
    case pilot
}

/// One metrics row: a node's round, or the global model's (`node` = "global").
///
/// The MSE columns are per OFDM symbol and subcarrier in units of symbol power, against the true
/// weighted sum of the updates the nodes meant to send (their reference updates), after the
/// rescale over the nodes that delivered: `mse` is measured as a whole, `mse_thermal`,
/// `mse_csi` and `mse_quantization` by cause (they add up to `mse` on average), and
/// `mse_predicted` is the closed form σ²L/η of the thermal part.
struct MetricsRow {
    var round: Int
    var node: String
    var profile: String
    var status: RoundStatus
    /// Mean local training loss (nats/token) over the node's steps; its exp is the train perplexity.
    var trainLoss: Double = .nan
    var heldOutLoss: Double = .nan
    var heldOutPerplexity: Double = .nan
    var mse: Double = .nan
    var mseThermal: Double = .nan
    var mseCSI: Double = .nan
    var mseQuantization: Double = .nan
    var msePredicted: Double = .nan
    var rank: Int
    var airtimeS: Double = 0
    var flops: Double = 0
    var energyJ: Double = 0
    var computeS: Double = 0
    var steps: Int = 0
    /// The round's wall time at the base station, seconds (global rows): start to commit and evaluation.
    var wallS: Double = .nan

    /// Every Double column, in the order a checkpoint stores them.
    static let reals: [WritableKeyPath<MetricsRow, Double>] = [
        \.trainLoss, \.heldOutLoss, \.heldOutPerplexity, \.mse, \.mseThermal, \.mseCSI, \.mseQuantization, \.msePredicted,
        \.airtimeS, \.flops, \.energyJ, \.computeS, \.wallS,
    ]

    static let header = "round,node,profile,status,train_loss,train_perplexity,heldout_loss,heldout_perplexity,"
        + "mse,mse_thermal,mse_csi,mse_quantization,mse_predicted,rank,airtime_s,flops,energy_j,compute_s,steps,wall_s"

    var csv: String {
        func f(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "" }
        return [
            "\(round)", node, profile, status.rawValue, f(trainLoss), f(exp(trainLoss)), f(heldOutLoss), f(heldOutPerplexity),
            f(mse), f(mseThermal), f(mseCSI), f(mseQuantization), f(msePredicted), "\(rank)", f(airtimeS), f(flops), f(energyJ), f(computeS), "\(steps)", f(wallS),
        ].joined(separator: ",")
    }

    /// The global row's share of an aggregation: its measured error by cause, the closed form
    /// (`predicted`, mean σ²L/η over subcarriers) rescaled like the aggregate (by 1/ρ², ρ = Σ_{delivered} w_k),
    /// the round's airtime. Rounds that end before aggregating carry none of these.
    mutating func record(_ a: RoundAggregate, predicted: Double) {
        if let e = a.error?.means {
            (mse, mseThermal, mseCSI, mseQuantization) = (e.total, e.thermal, e.csi, e.quantization)
        }
        msePredicted = predicted / (a.deliveredWeight * a.deliveredWeight)
        airtimeS = a.airtimeS
    }
}
