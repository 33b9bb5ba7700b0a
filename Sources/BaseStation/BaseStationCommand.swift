import ArgumentParser
import Foundation
import Logging

/// `basestation`: the base-station process and its tools.
@main
struct BaseStationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "basestation",
        abstract: "AirFL-LoRA base station: channels, over-the-air aggregation, receive beamforming.",
        subcommands: [ChannelCommand.self, SolveCommand.self, PlanCommand.self, DemoCommand.self, BenchAirCommand.self, ServeCommand.self])
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func logger(_ label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingBootstrap.once(level: level)
        return Logger(label: label)
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

/// Writes a JSON object (sorted keys) to standard output.
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Turns a thrown error into a clear message and a non-zero exit, never a trap.
func failing<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// A runtime failure with its message (exit status 1 through `failing`).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
