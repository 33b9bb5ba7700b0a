import ArgumentParser
import BaseStation
import CommandLineSupport
import Foundation
import LanguageModel
import LinearAlgebra
import Numerics
import NumpyIO
import Wire

/// `lab fuzz-seeds --out DIR`: the seed corpus, one folder per fuzz target, made by the
/// project's own writers: a frame of every type, a small LoRA adapter and the tiny model's GGUF
/// header, real and complex `.npy` arrays, the shipped scenarios and hardware profiles (copied),
/// and a run checkpoint. The committed corpus (`Tests/Fuzz/corpus/`) is this command's output.
package struct FuzzSeedsCommand: ParsableCommand {
    package init() {}
    package static let configuration = CommandConfiguration(
        commandName: "fuzz-seeds", abstract: "Write the fuzz targets' seed corpus.")
    @Option(help: "Output directory (one folder per target).") var out: String
    @Option(help: "The repository (for its scenarios and profiles).") var repository: String = "."

    package func run() throws {
        try failing {
            let fm = FileManager.default
            func folder(_ t: FuzzTarget) throws -> String {
                let dir = (out as NSString).appendingPathComponent(t.rawValue)
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                return dir
            }
            func put(_ t: FuzzTarget, _ name: String, _ data: Data) throws {
                try data.write(to: URL(fileURLWithPath: (try folder(t) as NSString).appendingPathComponent(name)))
            }
            for (name, frame) in Self.frames() { try put(.frame, name, frame.encoded()) }
            let tinyPath = NSTemporaryDirectory() + "airfl-seeds-\(getpid()).gguf"
            try TinyModelSpec().write(to: tinyPath)
            defer { unlink(tinyPath) }
            let config = try LlamaConfig(gguf: try GGUFFile(path: tinyPath))
            var adapter = LoRAAdapter(config: config, rank: 2, alpha: 4, targets: [.q, .k, .v, .o], seed: 1)
            adapter.randomizeB(standardDeviation: 0.01, seed: 2)
            try put(.gguf, "adapter.gguf", try adapter.ggufWriter().encoded())
            // The tiny model's header and metadata (its tensor data would make the seed megabytes).
            let model = try Data(contentsOf: URL(fileURLWithPath: tinyPath))
            try put(.gguf, "tiny-model-head.gguf", model.prefix(64 << 10))
            try put(.npy, "real.npy", NumpyArray(shape: [2, 3], real: [1, 2, 3, 4, 5, 6]).encoded())
            try put(
                .npy, "complex.npy",
                NumpyArray(shape: [2, 2], complex: [Complex(1, 2), Complex(3, 4), Complex(-1, 0), Complex(0, -1)])
                    .encoded())
            for (t, dir) in [(FuzzTarget.scenario, "launch/scenarios"), (.profile, "hwprofiles")] {
                let path = (repository as NSString).appendingPathComponent(dir)
                for file in try fm.contentsOfDirectory(atPath: path) where file.hasSuffix(".toml") {
                    try put(
                        t, file,
                        try Data(contentsOf: URL(fileURLWithPath: (path as NSString).appendingPathComponent(file))))
                }
            }
            // Every key at hostile integers, so the fuzzer starts from each key's edge.
            for key in Scenario.everyKey {
                let parts = key.split(separator: ".")
                for (label, value) in [("negative", "-1"), ("largest", "9223372036854775807")] {
                    let line = "\(parts.last!) = \(value)\n"
                    let toml = parts.count == 1 ? line : "[\(parts[0])]\n" + line
                    try put(.scenario, "\(key.replacingOccurrences(of: ".", with: "-"))-\(label).toml", Data(toml.utf8))
                }
            }
            var row = MetricsRow(round: 1, node: "n0", profile: "raspberry-pi-4", status: .ok, rank: 2)
            row.trainLoss = 2.5
            let beams = [ComplexMatrix<Double>(rows: 2, cols: 1, elements: [Complex(1, 0), Complex(0, 1)])]
            let checkpoint = RunCheckpoint(
                round: 1, identity: RunIdentity(scenario: "0", seed: 1, aggregation: "aircomp", overrides: []),
                adapter: adapter, rows: [row], rankPlanning: nil, warmParticipants: [0], warmBeamformers: beams)
            try put(.checkpoint, "checkpoint.gguf", try checkpoint.encoded())
            print("seeds in \(out)")
        }
    }

    /// A frame of every type, as the two sides write them.
    static func frames() -> [(String, Frame)] {
        [
            (
                "hello",
                Hello(
                    name: "n0", profile: "raspberry-pi-4", txPowerW: 0.2, antennas: 2, dacBits: 12,
                    sustainedGFLOPS: 13.5,
                    flopBudgetPerRound: 2.4e12, joulesPerGFLOP: 0.4, ramBytes: 4e9
                ).frame(round: 0, node: 0)
            ),
            (
                "welcome",
                Welcome(
                    index: 1, devices: 3, seed: 7, data: "fortunes:science", partition: "category", dirichletAlpha: 0.5,
                    heldOutFraction: 0.1,
                    context: 64, batch: 2, optimizer: "adamw", learningRate: 1e-3, clipNorm: 1, weightDecay: 0
                ).frame(round: 0, node: 1)
            ),
            (
                "round-start",
                RoundStart(
                    rank: 2, alpha: 4, targets: ["attn_q", "attn_v"], localSteps: 3, adapter: [0.1, -0.2, 0.3, 0]
                )
                .frame(round: 1, node: 1)
            ),
            (
                "update-ready",
                UpdateReady(
                    loss: 2.5, steps: 3, tokens: 192, flops: 1e9, computeSeconds: 0.1, energyJ: 0.04,
                    updateEnergy: 1e-4, reals: 4
                )
                .frame(round: 1, node: 1)
            ),
            (
                "transmit",
                Transmit(
                    mode: .aircomp, scale: 0.01, subcarriers: 2, streams: 1, antennas: 2,
                    precoders: [1, 0, 0, 1, 0.5, 0.5, 0, 0],
                    sampleFormat: .ci16
                ).frame(round: 1, node: 1)
            ),
            (
                "transmit-window",
                Transmit(
                    mode: .aircomp, scale: 0.01, subcarriers: 2, streams: 1, antennas: 2,
                    precoders: [1, 0, 0, 1, 0.5, 0.5, 0, 0],
                    sampleFormat: .cf32, window: 2
                ).frame(round: 1, node: 1)
            ),
            ("grant", Grant(frames: 1).frame(round: 1, node: 1)),
            (
                "symbols-cf32",
                Frame.symbols(
                    round: 1, node: 1, firstSymbol: 0, symbolCount: 1, subcarriers: 2, antennas: 2,
                    samples: [0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4][...], format: .cf32)
            ),
            (
                "symbols-ci16",
                Frame.symbols(
                    round: 1, node: 1, firstSymbol: 1, symbolCount: 1, subcarriers: 2, antennas: 2,
                    samples: [0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4][...], format: .ci16, step: 1e-3)
            ),
            ("reference", UpdateReference(offset: 0, values: [0.1, -0.2, 0.3, 0]).frame(round: 1, node: 1)),
            ("round-end", RoundEnd(frames: 3, ofdmSymbols: 2).frame(round: 1, node: 1)),
            ("shutdown", Shutdown(.runOver, reason: "run complete").frame(round: 3, node: 1)),
            ("farewell", Farewell().frame(round: 3, node: 1)),
            ("synthetic-round", SyntheticRound(reals: 4096).frame(round: 2, node: 0)),
            (
                "register-again",
                RegisterAgain(reason: "this base station has no registration of you").frame(round: 0, node: 2)
            ),
        ]
    }
}
