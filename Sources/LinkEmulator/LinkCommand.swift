import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation

/// `lab link`: a point-to-point link between two network namespaces, emulated in user
/// space over a TUN device in each, with netem's impairments (one-way delay, line rate, random
/// loss, a bounded queue) in the packet path, so TCP sees them as it would on a real faulty
/// backhaul: a lost segment is retransmitted after a round trip of the emulated delay. It needs no
/// `sch_netem` in the kernel (`launch/hosts.sh` starts one per edge host) and its losses come from
/// the seeded generator. SIGUSR1 cuts the link (every packet dropped, silently), SIGUSR2 restores
/// it; SIGTERM ends it with a line of counts per direction.
package struct LinkCommand: ParsableCommand {
    package init() {}
    package static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Emulate a faulty point-to-point link between two network namespaces (TUN devices).")
    @Option(help: "One end, NETNS:DEVICE (twice): a TUN device made by `ip -n NETNS tuntap add DEVICE mode tun`.")
    var end: [String]
    @Option(help: "One-way delay in each direction, milliseconds.") var delayMs: Double = 20
    @Option(help: "Line rate in each direction, tc's units (e.g. 100mbit, 500kbit).") var rate: String = "100mbit"
    @Option(help: "Packets lost in each direction, percent.") var lossPercent: Double = 0
    @Option(help: "Most packets queued per direction (netem's limit).") var queuePackets: Int = 1000
    @Option(help: "Seed of the loss draws.") var seed: UInt64 = 1

    package func run() throws {
        try failing {
            guard end.count == 2 else { throw ValidationError("--end twice: NETNS:DEVICE of each end") }
            guard delayMs >= 0, delayMs <= 60_000 else { throw ValidationError("--delay-ms \(delayMs): 0…60000") }
            guard lossPercent >= 0, lossPercent <= 100 else {
                throw ValidationError("--loss-percent \(lossPercent): 0…100")
            }
            guard (1...1_000_000).contains(queuePackets) else {
                throw ValidationError("--queue-packets \(queuePackets): 1…1000000")
            }
            guard let bits = parseLineRate(rate), bits >= 8_000, bits <= 1e11 else {
                throw ValidationError("--rate '\(rate)': e.g. 100mbit (8kbit…100gbit)")
            }
            DetachedProcess.closeInheritedPipes()
            let ends = try end.map { spec -> (label: String, fd: Int32) in
                let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--end '\(spec)': NETNS:DEVICE") }
                return (spec, try TUNDevice.open(namespace: parts[0], device: parts[1]))
            }
            let directions = [0, 1].map {
                LinkDirection(
                    name: "\(ends[$0].label) → \(ends[1 - $0].label)", delayMs: delayMs, bitsPerSecond: bits,
                    loss: lossPercent / 100, queueLimit: queuePackets, seed: seed, stream: UInt64($0))
            }
            for (i, direction) in directions.enumerated() {
                let from = ends[i].fd
                let into = ends[1 - i].fd
                Thread.detachNewThread { TUNDevice.pump(from: from, into: direction) }
                Thread.detachNewThread { TUNDevice.drain(direction, into: into) }
            }
            let sources = Self.handleSignals(directions)
            FileHandle.standardError.write(
                Data(
                    ("link: ready: \(end[0]) ⇄ \(end[1]), \(delayMs) ms each way, \(rate), \(lossPercent) % loss, "
                        + "seed \(seed)\n").utf8))
            // Not dispatchMain(): it ends the main thread under the caller's frames, which
            // AddressSanitizer then reports as a stack underflow when libdispatch masks signals.
            withExtendedLifetime(sources) { while true { Thread.sleep(forTimeInterval: 3600) } }
        }
    }

    /// USR1 cut, USR2 restore, TERM/INT: the counts, then exit.
    private static func handleSignals(_ directions: [LinkDirection]) -> [DispatchSourceSignal] {
        let say = { (text: String) in FileHandle.standardError.write(Data("link: \(text)\n".utf8)) }
        let actions: [(Int32, () -> Void)] = [
            (
                SIGUSR1,
                {
                    for d in directions { d.setCut(true) }
                    say("cut")
                }
            ),
            (
                SIGUSR2,
                {
                    for d in directions { d.setCut(false) }
                    say("restored")
                }
            ),
            (
                SIGTERM,
                {
                    for d in directions { say("\(d.name): \(d.snapshot)") }
                    Glibc.exit(0)
                }
            ),
            (
                SIGINT,
                {
                    for d in directions { say("\(d.name): \(d.snapshot)") }
                    Glibc.exit(0)
                }
            ),
        ]
        let queue = DispatchQueue(label: "airfl-link-signals")
        return actions.map { signalNumber, action in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }
}

/// A TUN device's file descriptor, opened inside a named network namespace.
enum TUNDevice {
    private typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    private static let cloneNewNet: Int32 = 0x4000_0000
    private static let tunSetInterface: UInt = 0x4004_54CA // _IOW('T', 202, int)
    private static let flags: UInt16 = 0x0001 | 0x1000 // IFF_TUN | IFF_NO_PI: bare IP packets

    /// Attaches to `device` in `/var/run/netns/<namespace>`: this thread enters the namespace,
    /// opens /dev/net/tun there and returns to its own (Glibc's module has no `setns`, hence dlsym).
    static func open(namespace: String, device: String) throws -> Int32 {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else {
            throw CommandError("link: this libc has no setns")
        }
        let setns = unsafeBitCast(symbol, to: SetNamespace.self)
        guard device.utf8.count < 16 else {
            throw CommandError("link: device name '\(device)' is longer than 15 bytes")
        }
        let home = Glibc.open("/proc/self/ns/net", O_RDONLY)
        let there = Glibc.open("/var/run/netns/\(namespace)", O_RDONLY)
        defer {
            if home >= 0 { close(home) }
            if there >= 0 { close(there) }
        }
        guard home >= 0, there >= 0 else {
            throw CommandError("link: no network namespace '\(namespace)' (ip netns add \(namespace))")
        }
        guard setns(there, cloneNewNet) == 0 else {
            throw CommandError(
                "link: cannot enter namespace '\(namespace)': \(String(cString: strerror(errno))) (needs root)")
        }
        defer { _ = setns(home, cloneNewNet) }
        let fd = Glibc.open("/dev/net/tun", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw CommandError("link: /dev/net/tun: \(String(cString: strerror(errno)))") }
        var request = [UInt8](repeating: 0, count: 40) // struct ifreq: name[16], then the flags
        for (i, byte) in device.utf8.enumerated() { request[i] = byte }
        withUnsafeBytes(of: flags.littleEndian) { request.replaceSubrange(16..<18, with: $0) }
        guard ioctl(fd, tunSetInterface, &request) == 0 else {
            close(fd)
            throw CommandError(
                "link: cannot attach to \(device) in \(namespace): \(String(cString: strerror(errno))) (make it with "
                    + "ip -n \(namespace) tuntap add \(device) mode tun)"
            )
        }
        return fd
    }

    /// Reads packets from `fd` into the direction until the device goes away.
    static func pump(from fd: Int32, into direction: LinkDirection) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { direction.offer(Array(buffer[0..<n])) } else if n < 0, errno == EINTR { continue } else { break }
        }
        FileHandle.standardError.write(Data("link: \(direction.name): the sending device closed\n".utf8))
        exit(1)
    }

    /// Writes each packet to `fd` once it is due.
    static func drain(_ direction: LinkDirection, into fd: Int32) {
        while true {
            let packet = direction.nextDue()
            // A packet the device refuses (it is down, its queue full) is lost, as on a wire.
            _ = packet.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }
}

/// A helper process lives on after whoever started it: pipes inherited from that process tree (a
/// test harness waits for every holder of its own) are closed, stdin/out/err aside.
enum DetachedProcess {
    static func closeInheritedPipes() {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in fds.compactMap(Int32.init) where fd > 2 {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
                target.hasPrefix("pipe:")
            {
                Glibc.close(fd)
            }
        }
    }
}
