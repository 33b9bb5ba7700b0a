import Foundation

/// This process's own resource use, as the stress harness reports it on both sides of the wire.
public enum ProcessUsage {
    /// User + system CPU seconds of this process (all threads) since it started.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }
}
