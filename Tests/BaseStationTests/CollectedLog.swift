import Foundation
import Logging

/// A logger whose lines are kept for a test to read (swift-log's handler protocol; thread-safe).
final class CollectedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    /// A logger at `level` that adds each message to this log.
    func logger(level: Logger.Level = .info) -> Logger {
        var log = Logger(label: "test.collected") { _ in Handler(log: self) }
        log.logLevel = level
        return log
    }

    fileprivate func add(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    private struct Handler: LogHandler {
        let log: CollectedLog
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { log.add("\(event.message)") }
    }
}
