import Foundation
import XCTest

/// Runs a built product of this package (`.build/<config>/<name>`) and captures its output.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// stdout parsed as a JSON object.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        guard let dict = object as? [String: Any] else { throw NSError(domain: "not a JSON object", code: 1) }
        return dict
    }
}

/// The directory holding the built executables: the test runner is built beside them (.build/<config>/).
func productsDirectory() -> URL { Bundle.main.bundleURL }

func runProduct(_ name: String, _ arguments: [String]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = productsDirectory().appendingPathComponent(name)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read before waiting so a large output cannot fill the pipe and block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

/// The repository's root (the launch scripts run from it).
var repositoryRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

/// `bash -c script` in the repository with `env` added to the environment and the built
/// executables as `AIRFL_BIN_DIR`: its status and its stdout and stderr together.
func runScript(_ script: String, env: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", script]
    p.currentDirectoryURL = repositoryRoot
    p.environment = ProcessInfo.processInfo.environment.merging(["AIRFL_BIN_DIR": productsDirectory().path]) { $1 }.merging(env) { $1 }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// A launch script (`launch/X.sh args…`) with the built executables, its stderr kept (its
/// stdout, the results it prints, dropped).
func runLaunchScript(_ path: String, _ arguments: [String], env: [String: String]) throws -> (status: Int32, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = [repositoryRoot.appendingPathComponent(path).path] + arguments
    p.currentDirectoryURL = repositoryRoot
    p.environment = ProcessInfo.processInfo.environment.merging(["AIRFL_BIN_DIR": productsDirectory().path]) { $1 }.merging(env) { $1 }
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    try p.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("airfl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
