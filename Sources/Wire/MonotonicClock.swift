import Dispatch
import Foundation

/// Monotonic time as the base station reads it for its deadlines, timeouts and timings: the
/// machine's (`SystemClock`), or a test's (`ManualClock`), which moves only when something moves
/// it, so a test of a 30 s timeout takes no 30 s.
public protocol MonotonicClock: AnyObject, Sendable {
    /// Nanoseconds since an arbitrary origin; never decreasing.
    var nanoseconds: UInt64 { get }
}

extension MonotonicClock {
    /// Seconds from `start` (a reading of this clock) to now.
    public func seconds(since start: UInt64) -> Double { Double(nanoseconds - start) / 1e9 }

    /// The reading `seconds` from now (a deadline).
    public func deadline(in seconds: Double) -> UInt64 { nanoseconds + UInt64(max(0, seconds) * 1e9) }
}

/// The machine's monotonic clock (`DispatchTime`'s uptime).
public final class SystemClock: MonotonicClock {
    public static let shared = SystemClock()
    public var nanoseconds: UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// A clock that stands still until advanced: an `InMemoryNetwork` in virtual time moves it by its
/// receive timeout whenever the base station's receive finds nothing, as a real wait would have.
public final class ManualClock: MonotonicClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: UInt64

    public init(nanoseconds: UInt64 = 1_000_000_000) { now = nanoseconds }

    public var nanoseconds: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return now
    }

    /// Moves the clock `seconds` on.
    public func advance(by seconds: Double) {
        lock.lock()
        now += UInt64(max(0, seconds) * 1e9)
        lock.unlock()
    }
}
