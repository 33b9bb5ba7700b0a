import Foundation
import XCTest

/// Real fleet processes for the crash and authentication tests: a scenario over the generated
/// tiny model with two nodes, CURVE keys for all (made by the products' own `keys` commands), and
/// children whose stderr a test can wait on.
/// A child process whose stderr is collected as it comes, so a test can act on a log line.
final class FleetChild: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var text = ""

    /// `product arguments…`, inside network namespace `netns` when given (`ip netns exec`, which
    /// execs the product: the child's pid is the product's).
    init(_ product: String, _ arguments: [String], stdout: URL? = nil, netns: String? = nil) throws {
        let executable = productsDirectory().appendingPathComponent(product)
        if let netns {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", netns, executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        let err = Pipe()
        process.standardError = err
        if let stdout {
            FileManager.default.createFile(atPath: stdout.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: stdout)
        } else {
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let data = h.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.text += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    var log: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }

    /// Waits until the log holds `line` (fails the test after `seconds`).
    func waitFor(_ line: String, seconds: Double = 120, file: StaticString = #filePath, l: UInt = #line) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !log.contains(line) {
            guard Date() < deadline, process.isRunning || log.contains(line) else {
                XCTFail(
                    "no '\(line)' in \(process.executableURL!.lastPathComponent)'s log:\n\(log.suffix(3000))",
                    file: file, line: l)
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the exit (SIGKILL after `seconds`); the status.
    func finish(seconds: Double = 300) -> Int32 {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill9() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct ProcessFleet {
    let dir: URL, scenario: String, port: Int, model: String
    /// The base station's address: loopback, or its test host's (launch/hosts.sh).
    let host: String
    let profiles = ["raspberry-pi-4", "raspberry-pi-5"].map {
        repositoryRoot.appendingPathComponent("hwprofiles/\($0).toml").path
    }
    /// The key directory: basestation.key/.pub, nodes/n0.key…, allowed-nodes.
    var keys: String { dir.appendingPathComponent("keys").path }

    init(in dir: URL, rounds: Int, roundTimeoutS: Double = 60, federationExtra: String = "", host: String = "127.0.0.1")
        throws
    {
        self.dir = dir
        self.host = host
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        model = dir.appendingPathComponent("tiny.gguf").path
        XCTAssertEqual(try runProduct("edgenode", ["tiny-model", "--out", model]).status, 0)
        port = 20000 + Int(ProcessInfo.processInfo.processIdentifier % 20000) + Int.random(in: 0..<9000)
        scenario = dir.appendingPathComponent("crash.toml").path
        let profiles = self.profiles
        try FleetScenario(
            seed: 6, model: model, rounds: rounds, endpoint: "tcp://\(host):\(port)", roundTimeoutS: roundTimeoutS,
            nodes: profiles.enumerated().map { ("n\($0.offset)", $0.element) }, federationExtra: federationExtra
        ).toml
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        XCTAssertEqual(try runProduct("basestation", ["keys", "--dir", keys]).status, 0)
        var allowed = "# node  public key\n"
        for i in profiles.indices {
            let made = try runProduct("edgenode", ["keys", "--name", "n\(i)", "--dir", keys + "/nodes"])
            XCTAssertEqual(made.status, 0, made.stderr)
            allowed += made.stdout
        }
        try allowed.write(toFile: keys + "/allowed-nodes", atomically: true, encoding: .utf8)
    }

    func baseStation(_ results: String, resume: Bool = false, netns: String? = nil) throws -> FleetChild {
        try FleetChild(
            "basestation",
            ["serve", "--scenario", scenario, "--results", results, "--keys", keys] + (resume ? ["--resume"] : []),
            netns: netns)
    }

    /// Node `i` with its own key, or as `name` with the given security options (an impostor).
    func node(_ i: Int, name: String? = nil, security: [String]? = nil, netns: String? = nil) throws -> FleetChild {
        try FleetChild(
            "edgenode",
            [
                "run", "--bs", "tcp://\(host):\(port)", "--name", name ?? "n\(i)", "--model", model, "--profile",
                profiles[i],
                "--bs-timeout-s", "60",
            ] + (security ?? ["--key", "\(keys)/nodes/n\(i).key", "--server-key", "\(keys)/basestation.pub"]),
            netns: netns)
    }

    /// metrics.csv without the wall clock.
    func metrics(_ results: String) throws -> [[String: String]] {
        let text = try String(contentsOfFile: results + "/metrics.csv", encoding: .utf8)
        let lines = text.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return lines.dropFirst().map {
            Dictionary(uniqueKeysWithValues: zip(lines[0], $0)).filter { $0.key != "wall_s" }
        }
    }
}
