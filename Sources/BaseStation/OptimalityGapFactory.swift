import HardwareProfiles
import Radio

/// The optimality gap G(r, A) (docs/optimality-gap.md) of a scenario's uplink, built in this one
/// place for `basestation plan` and for `serve`'s rank planning (`federation.rank_planning`), so
/// the two cannot diverge.
///
/// From the scenario: the `[plan]` learning constants, pilot spectrum and OFDM symbol duration,
/// the `[aircomp]` streams and the noise power σ² (`Scenario.noisePowerW`). From each device's
/// hardware profile (one per device, in device order): its peak transmit power and transmit
/// energy per round. The caller supplies what it alone knows: the adapted matrices (`plan` from
/// `[plan]`, `serve` from the model it loaded), the channels' subcarrier count and the
/// aggregation weights w_k (summing to 1).
///
/// `constants` and `spectrum` replace the scenario's when the caller has better: `serve`'s rank
/// planning estimates them from a pilot round.
func makeOptimalityGap(
    scenario: Scenario, profiles: [HardwareProfile], adapter: AdapterShape,
    subcarriers: Int, weights: [Double], constants: LearningConstants? = nil,
    spectrum: PilotSpectrum? = nil, symbolPower: Double? = nil
) throws -> OptimalityGap {
    let plan = scenario.plan
    return try OptimalityGap(
        constants: constants ?? plan.constants, spectrum: try spectrum ?? plan.spectrum(), adapter: adapter,
        uplink: UplinkBudget(
            peakPowerW: profiles.map(\.txPowerW), energyPerRoundJ: profiles.map(\.txEnergyPerRoundJ),
            symbolDurationS: plan.symbolDurationS, noisePowerW: scenario.noisePowerW),
        streams: scenario.aircomp.streams, subcarriers: subcarriers, weights: weights, symbolPower: symbolPower,
        scaleExponent: scenario.federation.loraScaling.exponent(alpha: scenario.federation.loraAlpha))
}
