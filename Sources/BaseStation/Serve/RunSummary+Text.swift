import Foundation

extension RunSummary {
    /// What `serve` prints at the end of a run: the figures a reader looks at first, a dash for
    /// those the run did not measure.
    func text(nodes: Int, comparedWith reference: String, results: String) -> String {
        func number(_ value: Double, _ format: String) -> String {
            value.isFinite ? String(format: format, value) : "-"
        }
        let mse =
            "\(number(mseMean, "%.4g")) per symbol (thermal \(number(mseThermalMean, "%.3g")), "
            + "CSI \(number(mseCsiMean, "%.3g")), quantisation \(number(mseQuantizationMean, "%.3g")); "
            + "closed form \(number(msePredictedMean, "%.3g")))"
        return """
            run:                  \(rounds) rounds, \(aggregation), \(nodes) nodes, seed \(seed)
            rank:                 \(rank)\(rankPlanned ? " (planned)" : "")
            aggregation MSE:      \(mse)
            train loss (last):    \(number(finalLoss, "%.4f"))
            held-out perplexity:  \(number(initialPerplexity, "%.3f")) → \(number(finalPerplexity, "%.3f"))
            compared with:        \(reference)
            airtime, energy:      \(number(airtimeTotalS, "%.4g")) s, \(number(energyTotalJ, "%.4g")) J
            wall time:            \(number(wallTimeS, "%.1f")) s
            results:              \(results)
            """
    }
}
