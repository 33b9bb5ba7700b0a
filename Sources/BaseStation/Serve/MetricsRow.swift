import Foundation
import Radio

/// The status column of metrics.csv: how a node's round, or the global model's, went.
package enum RoundStatus: String {
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
    /// A node sitting out rounds after missing one (`NodeRegistry`'s straggler backoff): not asked.
    case backedOff = "backed-off"
    /// A node the round's scheduler left out (digital in AirComp's airtime: its rate fits no
    /// payload in that time); the sum is over the others.
    case unscheduled
    /// Global: no node delivered an update.
    case noUpdates = "no-updates"
    /// Global: no transmission arrived complete.
    case noTransmissions = "no-transmissions"
    /// Global: the design or the aggregate was refused; the global model did not move.
    case rejected
    /// Global: fewer updates were delivered than `federation.quorum`; the global model did not move.
    case noQuorum = "no-quorum"
    /// Global: the rank-planning pilot round at r_max; its aggregate fed the planner, not the model.
    case pilot
    /// Global, stress only (no model there): a round finished without every node's whole
    /// transmission; its sum is over what arrived.
    case incomplete
}

/// One metrics row: a node's round, or the global model's (`node` = "global").
///
/// The MSE columns are against the true weighted sum of the updates the nodes meant to send (their
/// reference updates), after the rescale over the nodes that delivered. `mse` is measured as a
/// whole, `mse_thermal`, `mse_csi` and `mse_quantization` by cause (they add up to `mse` on
/// average), and `mse_predicted` is the closed form σ²L/η of the thermal part: all five per OFDM
/// symbol and subcarrier, summed over the L streams, in units of symbol power (the symbols are
/// Δ/c), which is what the closed form speaks of. Across L or scales compare these two instead:
/// `mse_per_real`, the mean squared error of one real of the aggregate update in the adapter's
/// own units (squared parameter units: c²·mse/(2L), a complex entry carrying two reals), and
/// `nmse`, ‖error‖²/‖Σ w Δ‖², dimensionless.
package struct MetricsRow {
    var round: Int
    var node: String
    var profile: String
    var status: RoundStatus
    /// Mean local training loss (nats/token) over the node's steps; its exp is the train perplexity.
    package var trainLoss: Double = .nan
    var heldOutLoss: Double = .nan
    var heldOutPerplexity: Double = .nan
    /// The held-out loss's standard error over the evaluation's windows, nats/token.
    var heldOutLossSE: Double = .nan
    var mse: Double = .nan
    var mseThermal: Double = .nan
    var mseCSI: Double = .nan
    var mseQuantization: Double = .nan
    var msePredicted: Double = .nan
    /// The error per real of the aggregate update, squared parameter units.
    var msePerReal: Double = .nan
    /// ‖error‖² / ‖target‖², dimensionless.
    var nmse: Double = .nan
    var rank: Int
    var airtimeS: Double = 0
    var flops: Double = 0
    var energyJ: Double = 0
    var computeS: Double = 0
    var steps: Int = 0
    /// The round's wall time at the base station, seconds (global rows): start to commit and evaluation.
    var wallS: Double = .nan
    /// Global rows: ‖aggregate‖², the aggregated update's measured energy in squared parameter units,
    /// and what the nodes' reports and the closed form allow it (`AggregateEnergyCheck`); NaN where
    /// not measured (no aggregate), the bound NaN where no closed form exists (digital).
    var aggregateEnergy: Double = .nan
    var aggregateEnergyBound: Double = .nan

    /// Every Double column, in the order a checkpoint stores them.
    static let reals: [WritableKeyPath<MetricsRow, Double>] = [
        \.trainLoss, \.heldOutLoss, \.heldOutPerplexity, \.mse, \.mseThermal, \.mseCSI, \.mseQuantization,
        \.msePredicted,
        \.airtimeS, \.flops, \.energyJ, \.computeS, \.wallS, \.heldOutLossSE, \.msePerReal, \.nmse,
        \.aggregateEnergy, \.aggregateEnergyBound,
    ]
    /// The Double columns of checkpoints written before the aggregate's energy was recorded (their
    /// rows resume with those two NaN).
    static let realsBeforeEnergy = 16

    /// The held-out columns as one score.
    var heldOut: HeldOutScore {
        get { HeldOutScore(loss: heldOutLoss, perplexity: heldOutPerplexity, standardError: heldOutLossSE) }
        set {
            (heldOutLoss, heldOutPerplexity, heldOutLossSE) = (
                newValue.loss, newValue.perplexity, newValue.standardError
            )
        }
    }

    static let header =
        "round,node,profile,status,train_loss,train_perplexity,heldout_loss,heldout_perplexity,heldout_loss_se,"
        + "mse,mse_thermal,mse_csi,mse_quantization,mse_predicted,mse_per_real,nmse,rank,airtime_s,flops,energy_j,"
        + "compute_s,steps,wall_s,aggregate_energy,aggregate_energy_bound"

    var csv: String {
        func f(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "" }
        return [
            "\(round)", node, profile, status.rawValue, f(trainLoss), f(exp(trainLoss)), f(heldOutLoss),
            f(heldOutPerplexity), f(heldOutLossSE),
            f(mse), f(mseThermal), f(mseCSI), f(mseQuantization), f(msePredicted), f(msePerReal), f(nmse), "\(rank)",
            f(airtimeS), f(flops), f(energyJ), f(computeS), "\(steps)", f(wallS), f(aggregateEnergy),
            f(aggregateEnergyBound),
        ].joined(separator: ",")
    }

    /// The global row's share of an aggregation: its measured error by cause, the closed form
    /// (`predicted`, mean σ²L/η over subcarriers) rescaled like the aggregate (by 1/ρ², ρ = Σ_{delivered} w_k),
    /// the round's airtime. Rounds that end before aggregating carry none of these.
    /// `scale` c and `streams` L turn the symbol-domain figure into the per-real one.
    mutating func record(_ a: RoundAggregate, predicted: Double, scale: Float, streams: Int) {
        if let error = a.error {
            let e = error.means
            (mse, mseThermal, mseCSI, mseQuantization) = (e.total, e.thermal, e.csi, e.quantization)
            msePerReal = Double(scale) * Double(scale) * e.total / Double(2 * max(streams, 1))
            nmse = error.normalized
        }
        msePredicted = predicted / (a.deliveredWeight * a.deliveredWeight)
        airtimeS = a.airtimeS
    }
}

extension MetricsRow {
    /// A node's row of `round` before anything is measured (for tools outside the base station:
    /// the fuzz targets' seed checkpoint).
    package init(round: Int, node: String, profile: String, status: RoundStatus, rank: Int) {
        self.init(round: round, node: node, profile: profile, status: status, heldOutLoss: .nan, rank: rank)
    }
}
