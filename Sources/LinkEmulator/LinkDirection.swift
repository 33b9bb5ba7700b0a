import Dispatch
import Foundation
import Randomness

/// The impairments of one direction of an emulated link, applied to whole IP packets as netem
/// applies them: a packet is lost with probability `loss` (drawn from the project's seeded
/// generator, so a seed replays the same losses for the same packet sequence), serialised at
/// `bitsPerSecond` behind the packets before it, and delivered `delay` after its serialisation
/// ends. At most `queueLimit` packets wait (netem's default limit, 1000); beyond that the
/// newest is dropped, as a full router queue drops it. While the link is cut every packet,
/// queued or arriving, is dropped silently (no ICMP, no reset: a cable pulled out).
final class LinkDirection: @unchecked Sendable {
    /// What happened to the packets so far (the log's last line on exit).
    struct Counts: CustomStringConvertible {
        var delivered = 0, lost = 0, cut = 0, overflowed = 0, bytes = 0
        var description: String {
            "\(delivered) delivered (\(bytes) B), \(lost) lost, \(cut) dropped while cut, \(overflowed) dropped at "
                + "the full queue"
        }
    }

    let name: String
    private let delay: UInt64, nanosecondsPerBit: Double, loss: Double, queueLimit: Int
    private let condition = NSCondition()
    private var queue: [(due: UInt64, packet: [UInt8])] = []
    private var head = 0
    private var lastDeparture: UInt64 = 0
    private var generator: SeededGenerator
    private var isCut = false
    private(set) var counts = Counts()

    /// - Parameters: `delayMs` one-way, milliseconds; `bitsPerSecond` the line rate; `loss` the
    ///   probability in [0, 1]; `seed`/`stream` the loss draws' substream.
    init(
        name: String, delayMs: Double, bitsPerSecond: Double, loss: Double, queueLimit: Int, seed: UInt64,
        stream: UInt64
    ) {
        self.name = name
        delay = UInt64(delayMs * 1e6)
        nanosecondsPerBit = 1e9 / bitsPerSecond
        self.loss = loss
        self.queueLimit = queueLimit
        generator = SeededGenerator(seed: seed, stream: [0x6C69_6E6B, stream])
    }

    /// Cuts the link (every packet dropped from now on, the queued ones too) or restores it.
    func setCut(_ cut: Bool) {
        condition.lock()
        isCut = cut
        if cut {
            counts.cut += queue.count - head
            queue.removeAll()
            head = 0
        }
        condition.broadcast()
        condition.unlock()
    }

    var snapshot: Counts {
        condition.lock()
        defer { condition.unlock() }
        return counts
    }

    /// A packet read from the sending end: dropped, or queued for its due time.
    func offer(_ packet: [UInt8], now: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        condition.lock()
        defer { condition.unlock() }
        if isCut {
            counts.cut += 1
            return
        }
        if loss > 0, generator.uniform() < loss {
            counts.lost += 1
            return
        }
        if queue.count - head >= queueLimit {
            counts.overflowed += 1
            return
        }
        let departure = max(now, lastDeparture) + UInt64(Double(packet.count * 8) * nanosecondsPerBit)
        lastDeparture = departure
        queue.append((departure + delay, packet))
        condition.broadcast()
    }

    /// The next packet once it is due (blocks until then).
    func nextDue() -> [UInt8] {
        condition.lock()
        while true {
            while head == queue.count { condition.wait() }
            let now = DispatchTime.now().uptimeNanoseconds
            let next = queue[head]
            if next.due <= now {
                head += 1
                if head > 4096, head * 2 > queue.count {
                    queue.removeFirst(head)
                    head = 0
                }
                counts.delivered += 1
                counts.bytes += next.packet.count
                condition.unlock()
                return next.packet
            }
            // Woken early by a new packet or a cut; the head may have changed.
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(next.due - now) / 1e9))
        }
    }
}

/// A line rate in tc's notation: a number with `bit`, `kbit`, `mbit` or `gbit` (bits per second,
/// decimal prefixes), e.g. `100mbit`.
func parseLineRate(_ text: String) -> Double? {
    let units: [(String, Double)] = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)]
    let lower = text.lowercased()
    for (suffix, scale) in units where lower.hasSuffix(suffix) {
        guard let value = Double(lower.dropLast(suffix.count)), value.isFinite, value > 0 else { return nil }
        return value * scale
    }
    return nil
}
