import Dispatch
import Foundation
import Logging

/// Log lines that a peer can cause over and over (a refused handshake per reconnect, a hello per
/// millisecond), held to one line per kind per `interval`: the first at once, the rest counted and
/// reported with the next line of that kind ("… (and 1,999 more like it in the last 10 s)"). At
/// most `maximumKinds` kinds are tracked; lines of any further kind share one.
public final class RateLimitedLog: @unchecked Sendable {
    private let lock = NSLock()
    private let log: Logger
    private let intervalNanoseconds: UInt64
    private let now: @Sendable () -> UInt64
    private var kinds: [String: (last: UInt64, suppressed: Int)] = [:]
    public static let maximumKinds = 256

    /// - Parameters:
    ///   - interval: seconds between two lines of one kind.
    ///   - now: monotonic nanoseconds (a test's clock, or the machine's).
    public init(
        log: Logger, interval: Double = 10,
        now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        self.log = log
        intervalNanoseconds = UInt64(max(0, interval) * 1e9)
        self.now = now
    }

    /// Logs `message` at `level` unless a line of `kind` went out less than `interval` ago (then
    /// it is only counted).
    public func log(_ level: Logger.Level, kind: String, _ message: @autoclosure () -> String) {
        guard log.logLevel <= level else { return }
        guard let suppressed = admit(kind) else { return }
        let more = suppressed > 0 ? " (and \(suppressed) more like it since the last)" : ""
        log.log(level: level, "\(message())\(more)")
    }

    public func warning(kind: String, _ message: @autoclosure () -> String) { log(.warning, kind: kind, message()) }
    public func info(kind: String, _ message: @autoclosure () -> String) { log(.info, kind: kind, message()) }

    /// The lines of `kind` held back since its last one, when one may go out now; nil otherwise.
    private func admit(_ kind: String) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let key = kinds[kind] != nil || kinds.count < Self.maximumKinds ? kind : "\u{0}other"
        let t = now()
        if let k = kinds[key], t - k.last < intervalNanoseconds {
            kinds[key]!.suppressed += 1
            return nil
        }
        let suppressed = kinds[key]?.suppressed ?? 0
        kinds[key] = (t, 0)
        return suppressed
    }
}
