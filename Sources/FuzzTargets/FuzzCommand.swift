import ArgumentParser
import BaseStation
import CommandLineSupport
import Foundation
import LanguageModel

/// `lab fuzz TARGET ARGS…`: in a normal build, runs the target over the given files and
/// directories (a seed corpus, a crash to reproduce); in the fuzzing build (`launch/fuzz.sh`:
/// ASan, coverage instrumentation, libFuzzer, `-D AIRFL_FUZZ`) hands ARGS to libFuzzer
/// (corpus directories, `-runs=N`, `-max_total_time=S`, …).
package struct FuzzCommand: ParsableCommand {
    package init() {}
    package static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract:
            "Run a parser fuzz target: over files (normal build) or under libFuzzer (the build launch/fuzz.sh makes).",
        discussion: "Targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")).")
    @Argument(help: "Target.") var target: String
    @Argument(
        parsing: .captureForPassthrough,
        help: "Files or directories (normal build); libFuzzer's arguments (fuzzing build).") var arguments: [String] =
            []

    package func run() throws {
        try failing {
            guard let t = FuzzTarget(rawValue: target) else {
                throw ValidationError(
                    "unknown target \(target); one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            FuzzHarness.target = t
            FuzzHarness.scratch = NSTemporaryDirectory() + "airfl-fuzz-\(getpid())"
            let tinyPath = FuzzHarness.scratch + ".tiny.gguf"
            try TinyModelSpec().write(to: tinyPath)
            FuzzHarness.tiny = try LlamaConfig(gguf: try GGUFFile(path: tinyPath))
            defer {
                unlink(tinyPath)
                unlink(FuzzHarness.scratch)
            }
            #if AIRFL_FUZZ
                var argv = [CommandLine.arguments[0]] + arguments
                Foundation.exit(FuzzHarness.runLibFuzzer(&argv))
            #else
                var inputs = 0
                for path in arguments {
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                        throw CommandError("no such file \(path)")
                    }
                    let files =
                        isDirectory.boolValue
                        ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map {
                            (path as NSString).appendingPathComponent($0)
                        } : [path]
                    for file in files {
                        guard let data = FileManager.default.contents(atPath: file) else { continue }
                        FuzzHarness.one(data)
                        inputs += 1
                    }
                }
                print("fuzz \(target): \(inputs) inputs, no crash")
            #endif
        }
    }
}

/// The state libFuzzer's C callback reaches (it takes no context).
enum FuzzHarness {
    nonisolated(unsafe) static var target = FuzzTarget.frame
    nonisolated(unsafe) static var scratch = ""
    nonisolated(unsafe) static var tiny: LlamaConfig!

    static func one(_ data: Data) { target.run(data, path: scratch, tiny: tiny) }

    #if AIRFL_FUZZ
        static func runLibFuzzer(_ arguments: inout [String]) -> Int32 {
            var argc = Int32(arguments.count)
            var cStrings = arguments.map { strdup($0) } + [nil]
            return cStrings.withUnsafeMutableBufferPointer { buffer in
                var argv = buffer.baseAddress!
                return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                    FuzzHarness.one(size == 0 ? Data() : Data(bytes: data!, count: size))
                    return 0
                }
            }
        }
    #endif
}

#if AIRFL_FUZZ
    /// libFuzzer's entry when the program has its own main (libclang_rt.fuzzer_no_main).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32
#endif
