import ArgumentParser
import Foundation

/// `basestation`: the base-station process and its tools (the `basestation` executable runs it).
public struct BaseStationCommand: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "basestation",
        abstract: "AirFL-LoRA base station: channels, over-the-air aggregation, receive beamforming.",
        subcommands: [
            ChannelCommand.self, SolveCommand.self, PlanCommand.self, DemoCommand.self, BenchAirCommand.self,
            ServeCommand.self, BeamSweepCommand.self, StressCommand.self, WireProbeCommand.self,
            StressReportCommand.self,
            KeysCommand.self,
        ])
}
