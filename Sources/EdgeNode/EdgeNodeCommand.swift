import ArgumentParser
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
        subcommands: [InfoCommand.self, TokenizeCommand.self, EvalCommand.self, LoRAInitCommand.self, FinetuneCommand.self, BenchCommand.self, TinyModelCommand.self, CheckCommand.self, RunCommand.self, FloodCommand.self, KeysCommand.self])
}

/// `edgenode info`: the libraries the firmware links and how they were found.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print the linked libzmq and OpenBLAS.")
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let z = zeroMQVersion
        let object: [String: Any] = [
            "zeromq_version": "\(z.major).\(z.minor).\(z.patch)",
            "blas_core": BLASRuntime.coreName,
            "blas_threads": BLASRuntime.threads,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("libzmq \(z.major).\(z.minor).\(z.patch), OpenBLAS \(BLASRuntime.coreName) kernels on \(BLASRuntime.threads) threads")
        }
    }
}

