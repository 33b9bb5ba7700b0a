import Configuration
import Foundation
import HardwareProfiles
import Radio

/// The devices `basestation plan` plans for: their channels, hardware profiles and names.
///
/// A fleet scenario (one with `[[nodes]]`) is planned for the fleet `serve` would run: one device
/// per node, each node's profile resolved against the scenario's folder exactly as `serve`
/// resolves it (`resolvePath`), the channel's `devices` = the nodes and its `tx_antennas` = the
/// fewest any node's profile has. Any other scenario keeps its `[channel]` as written and takes
/// `[plan] profiles` (one for every device, or one per device).
struct PlanDevices {
    /// H_k[n] of every device: drawn from the scenario's channel, or read from `--channels`.
    var channels: ChannelTensor
    /// One hardware profile per device of `channels`.
    var profiles: [HardwareProfile]
    /// One name per device, for the binding constraint: the node's name, else `index:profile`.
    var names: [String]

    /// Resolves the devices; a problem with the scenario is a `ConfigurationError` naming the key.
    init(scenario: Scenario, scenarioPath: String, channelsPath: String?) throws {
        guard !scenario.nodes.isEmpty else {
            channels = try Self.channels(channelsPath, configuration: scenario.channel, seed: scenario.seed)
            profiles = try scenario.plan.loadProfiles(devices: channels.devices, scenarioPath: scenarioPath)
            names = zip(0..., profiles).map { k, p in "\(k):\(p.name)" }
            return
        }
        guard scenario.plan.profiles.isEmpty else {
            throw ConfigurationError(
                key: "plan.profiles",
                problem: "the scenario lists [[nodes]], whose profiles are planned for; leave plan.profiles out")
        }
        let directory = URL(fileURLWithPath: scenarioPath).deletingLastPathComponent().path
        // As `serve` runs them: the `[aircomp]` power and energy offsets applied.
        profiles = try scenario.nodeProfiles(relativeTo: directory)
        names = scenario.nodes.map(\.name)
        var channel = scenario.channel
        channel.devices = profiles.count
        channel.transmitAntennas = profiles.map(\.antennas).min()!
        guard scenario.aircomp.streams <= channel.transmitAntennas else {
            throw ConfigurationError(
                key: "aircomp.streams",
                problem:
                    "\(scenario.aircomp.streams) exceeds the fewest transmit antennas among the nodes' profiles "
                    + "(\(channel.transmitAntennas))"
            )
        }
        do { try channel.validate() } catch let e as ConfigurationError {
            throw ConfigurationError(key: "channel.\(e.key)", problem: e.problem)
        }
        channels = try Self.channels(channelsPath, configuration: channel, seed: scenario.seed)
        guard channels.devices == profiles.count else {
            throw ConfigurationError(
                key: "nodes", problem: "lists \(profiles.count) nodes but the channels hold \(channels.devices) devices"
            )
        }
    }

    /// The channels read from `path` when given, else drawn from `configuration`.
    private static func channels(_ path: String?, configuration: ChannelConfiguration, seed: UInt64) throws
        -> ChannelTensor
    {
        if let path { return try ChannelTensor.load(npy: path) }
        return try ChannelModel(configuration: configuration, seed: seed).frequencyResponse()
    }
}
