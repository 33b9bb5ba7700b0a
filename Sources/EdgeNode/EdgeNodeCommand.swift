import ArgumentParser
import CommandLineSupport
import Foundation
import LinearAlgebra
import Wire

/// `edgenode`: the edge firmware emulator. Its boot/train/transmit loop arrives with the fleet
/// (issue 5); today it reports what the firmware would run on.
public struct EdgeNodeCommand: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "edgenode",
        abstract: "AirFL-LoRA edge firmware emulator.",
        subcommands: [
            InfoCommand.self, TokenizeCommand.self, EvalCommand.self, LoRAInitCommand.self, FinetuneCommand.self,
            BenchCommand.self, TinyModelCommand.self, CheckCommand.self, RunCommand.self, FloodCommand.self,
            KeysCommand.self,
        ])
}

/// `edgenode info`: the libraries the firmware links and how they were found.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print the linked libzmq and OpenBLAS.")
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let z = zeroMQVersion
        if json {
            try printJSONLine(
                InfoReport(
                    zeromqVersion: "\(z.major).\(z.minor).\(z.patch)", blasCore: BLASRuntime.coreName,
                    blasThreads: BLASRuntime.threads))
        } else {
            print(
                "libzmq \(z.major).\(z.minor).\(z.patch), OpenBLAS \(BLASRuntime.coreName) kernels on "
                    + "\(BLASRuntime.threads) threads"
            )
        }
    }
}
