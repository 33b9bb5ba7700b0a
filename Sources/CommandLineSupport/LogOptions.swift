import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
}

/// `--log-level`, shared by every command of both executables.
public struct LogOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: Logger.Level = .info

    public init() {}

    /// A logger for `label` (e.g. `basestation.serve`, `edgenode.pi4`), writing to stderr at the
    /// chosen level. The first call bootstraps swift-log for the process.
    public func logger(_ label: String) -> Logger {
        LoggingBootstrap.once()
        var log = Logger(label: label)
        log.logLevel = logLevel
        return log
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    static func once() {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    }
}
