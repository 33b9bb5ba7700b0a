import Foundation

/// A small fleet scenario over the generated tiny model: 16 subcarriers, 8 BS antennas, TDL-C UMi,
/// one stream, `fortunes:science,computers,food`, one `[[nodes]]` entry per (name, profile path).
struct FleetScenario {
    var seed = 3
    var model: String
    var rounds = 3
    var rank = 4
    var localSteps = 3
    var batch = 2
    var ctx = 64
    var aggregation = "aircomp"
    var beamforming = "manifold"
    var evalTokens = 1024
    var endpoint = "tcp://127.0.0.1:5555"
    var registerTimeoutS = 60.0
    var roundTimeoutS = 60.0
    var nodes: [(name: String, profile: String)]
    /// More `[federation]` lines, as written.
    var federationExtra = ""
    /// More `[aircomp]` lines, as written.
    var aircompExtra = ""
    /// `[plan] calibration_tokens`: few, so a planned run's calibration passes stay short in tests.
    var calibrationTokens = 256

    var toml: String {
        """
        seed = \(seed)
        [channel]
        subcarriers = 16
        rx_antennas = 8
        profile = "TDL-C"
        delay_spread_s = 100e-9
        path_loss = "UMi"
        min_distance_m = 20.0
        max_distance_m = 60.0
        [aircomp]
        streams = 1
        \(aircompExtra)
        [plan]
        calibration_tokens = \(calibrationTokens)
        [federation]
        model = "\(model)"
        data = "fortunes:science,computers,food"
        rounds = \(rounds)
        rank = \(rank)
        local_steps = \(localSteps)
        batch = \(batch)
        ctx = \(ctx)
        learning_rate = 1e-2
        aggregation = "\(aggregation)"
        beamforming = "\(beamforming)"
        eval_tokens = \(evalTokens)
        endpoint = "\(endpoint)"
        register_timeout_s = \(registerTimeoutS)
        round_timeout_s = \(roundTimeoutS)
        \(federationExtra)
        \(nodes.map { "[[nodes]]\nname = \"\($0.name)\"\nprofile = \"\($0.profile)\"" }.joined(separator: "\n"))
        """
    }
}
