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

func runProduct(_ name: String, _ arguments: [String], timeoutSeconds: Double = 600) throws -> ProcessResult {
    let run = try runBounded(
        productsDirectory().appendingPathComponent(name).path, arguments, timeoutSeconds: timeoutSeconds)
    return ProcessResult(status: run.status, stdout: run.stdout, stderr: run.stderr)
}

/// The repository's root (the launch scripts run from it).
var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// `bash -c script` in the repository with `env` added to the environment and the built
/// executables as `AIRFL_BIN_DIR`: its status and its stdout and stderr together.
func runScript(_ script: String, env: [String: String] = [:], timeoutSeconds: Double = 1200) throws -> (
    status: Int32, output: String
) {
    let run = try runBounded(
        "/bin/bash", ["-c", script], env: scriptEnvironment(env), mergeOutput: true, timeoutSeconds: timeoutSeconds)
    return (run.status, run.stdout)
}

/// A launch script (`launch/X.sh args…`) with the built executables, its stderr kept (its
/// stdout, the results it prints, dropped).
func runLaunchScript(_ path: String, _ arguments: [String], env: [String: String], timeoutSeconds: Double = 1800) throws
    -> (status: Int32, stderr: String)
{
    let run = try runBounded(
        "/bin/bash", [repositoryRoot.appendingPathComponent(path).path] + arguments, env: scriptEnvironment(env),
        timeoutSeconds: timeoutSeconds)
    return (run.status, run.stderr)
}

private func scriptEnvironment(_ env: [String: String]) -> [String: String] {
    ProcessInfo.processInfo.environment.merging(["AIRFL_BIN_DIR": productsDirectory().path]) { $1 }.merging(env) { $1 }
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("airfl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
