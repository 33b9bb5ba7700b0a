import Foundation

/// The whole machine's busy CPU time, every process and the kernel together (Linux `/proc/stat`).
///
/// Why: with the cores shared, a stress point's base station, its senders and the kernel's
/// loopback copies all draw on the same cores, and so do the raw-libzmq peer's. The busy time of
/// the whole machine per byte moved is what the two runs can be compared by: if both keep the
/// cores busy, the ratio of their rates is the ratio of their costs per byte (stress-report splits
/// the ratio that way).
enum MachineCPU {
    /// Busy core-seconds since boot: user, nice, system, irq and softirq time over all cores (idle,
    /// iowait and the hypervisor's steal left out). nil where /proc/stat does not say.
    static func busySeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let ticks = busyTicks(procStat: stat)
        else { return nil }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return hz > 0 ? ticks / hz : nil
    }

    /// The busy ticks (USER_HZ) of the all-cores line of a /proc/stat text, nil if it has none.
    static func busyTicks(procStat: String) -> Double? {
        guard let line = procStat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is within user)
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 7 else { return nil }
        return ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
    }

    /// A running measurement: busy core-seconds and wall time between its first and latest sample.
    struct Span {
        private var first: (wall: UInt64, busy: Double)?
        private var latest: (wall: UInt64, busy: Double)?

        /// Takes a sample now (a read of /proc/stat: ~10 µs, so callers sample a few times a second).
        mutating func sample() {
            guard let busy = MachineCPU.busySeconds() else { return }
            let now = (DispatchTime.now().uptimeNanoseconds, busy)
            if first == nil { first = now }
            latest = now
        }

        /// Wall seconds since the last sample.
        var secondsSinceSample: Double {
            guard let latest else { return .infinity }
            return Double(DispatchTime.now().uptimeNanoseconds - latest.wall) / 1e9
        }

        /// Cores busy on average between the first and the latest sample; nil before two samples.
        var coresBusy: Double? {
            guard let first, let latest, latest.wall > first.wall else { return nil }
            return (latest.busy - first.busy) / (Double(latest.wall - first.wall) / 1e9)
        }
    }
}
