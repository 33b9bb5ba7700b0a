import ArgumentParser
import ExperimentReports
import FuzzTargets
import LinkEmulator

/// `lab`: the tools around the method's processes, not part of them: the experiment suite's
/// reports, the emulated link between hosts, and the fuzz targets.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "AirFL-LoRA's lab tools: experiment reports, the emulated network link, fuzz targets.",
        subcommands: [
            ReportCommand.self, PublishCommand.self, LinkCommand.self, FuzzCommand.self,
            FuzzSeedsCommand.self,
        ])
}

LabCommand.main()
