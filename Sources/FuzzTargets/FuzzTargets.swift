import BaseStation
import Configuration
import Foundation
import HardwareProfiles
import LanguageModel
import NumpyIO
import Wire

/// The parsers that read what a peer or a file hands the project, each as a fuzz target: one
/// input in, every check run, nothing but a thrown error allowed out (a trap, an overflow, a hang or
/// an allocation the input's checked sizes do not justify is a finding).
enum FuzzTarget: String, CaseIterable {
    /// A frame off the wire and, by its type, its message payload and samples.
    case frame
    /// A GGUF file: the reader, the model configuration, the tokenizer, the LoRA adapter reader, tensor data.
    case gguf
    /// A `.npy` file.
    case npy
    /// A scenario TOML (`serve --scenario`).
    case scenario
    /// A hardware profile TOML.
    case profile
    /// A run checkpoint (`serve --resume`).
    case checkpoint

    /// Whether the input is read from a file (the readers take paths).
    var usesFile: Bool { self != .frame && self != .npy }

    /// Runs the target on `data` (written to `path` first when the reader takes a file).
    func run(_ data: Data, path: String, tiny: LlamaConfig) {
        if usesFile { FileManager.default.createFile(atPath: path, contents: data) }
        switch self {
        case .frame: Self.frame(data)
        case .gguf: Self.gguf(path, tiny: tiny)
        case .npy: _ = try? NumpyArray.read(path: "fuzz.npy", data: data)
        case .scenario: try? Scenario.load(path).checkDerivedValues()
        case .profile: _ = try? HardwareProfile.load(path)
        case .checkpoint:
            _ = try? RunCheckpoint.load(
                path: path, config: tiny, targets: [.q, .k, .v, .o],
                expected: RunIdentity(scenario: "0", seed: 1, aggregation: "aircomp", overrides: []))
        }
    }

    private static func frame(_ data: Data) {
        guard let f = try? Frame(decoding: data) else { return }
        _ = f.samples()
        switch f.type {
        case .hello: _ = try? Hello(frame: f)
        case .welcome: _ = try? Welcome(frame: f)
        case .roundStart: _ = try? RoundStart(frame: f)
        case .updateReady: _ = try? UpdateReady(frame: f)
        case .transmit: _ = try? Transmit(frame: f)
        case .symbols: break
        case .roundEnd: _ = try? RoundEnd(frame: f)
        case .shutdown: _ = try? Shutdown(frame: f)
        case .farewell: _ = try? Farewell(frame: f)
        case .reference: _ = try? UpdateReference(frame: f)
        case .syntheticRound: _ = try? SyntheticRound(frame: f)
        case .registerAgain: _ = try? RegisterAgain(frame: f)
        case .grant: _ = try? Grant(frame: f)
        }
    }

    private static func gguf(_ path: String, tiny: LlamaConfig) {
        guard let file = try? GGUFFile(path: path) else { return }
        for t in file.tensors where t.elementCount <= 1 << 20 { _ = try? file.floats(t.name) }
        _ = try? LoRAAdapter(gguf: file, config: tiny)
        if let config = try? LlamaConfig(gguf: file) { _ = try? LoRAAdapter(gguf: file, config: config) }
        _ = try? BPETokenizer(gguf: file)
    }
}
