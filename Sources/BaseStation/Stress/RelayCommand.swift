import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation

/// `basestation relay`: a TCP relay that holds every byte for a fixed one-way delay in each
/// direction, for emulating a backhaul's latency where the kernel has no `sch_netem`
/// (`launch/hosts.sh` uses netem when it can, this otherwise). Throughput is kept: bytes are read
/// as they come and written once they are `--delay-ms` old, with at most `--buffer-mb` in flight
/// per direction (beyond that the reader waits, and TCP holds the sender back).
struct RelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relay", abstract: "Relay TCP connections with a fixed one-way delay each way.")
    @Option(help: "Where to listen, IPv4:PORT.") var listen: String
    @Option(help: "Where to connect, IPv4:PORT.") var to: String
    @Option(help: "One-way delay added in each direction, milliseconds.") var delayMs: Double = 10
    @Option(help: "Most bytes in flight per direction, MB.") var bufferMb: Double = 16

    func run() throws {
        try failing {
            guard delayMs >= 0, delayMs <= 60_000, bufferMb > 0, bufferMb <= 4096 else { throw ValidationError("--delay-ms 0…60000, --buffer-mb (0, 4096]") }
            Self.closeInheritedPipes()
            let target = try IPv4Endpoint(to), server = try TCPSocket.listen(try IPv4Endpoint(listen))
            let delay = UInt64(delayMs * 1e6), limit = Int(bufferMb * 1e6)
            while true {
                let client = try server.accept()
                let upstream: TCPSocket
                do { upstream = try TCPSocket.connect(target) } catch {
                    client.close()
                    continue
                }
                for (from, into) in [(client, upstream), (upstream, client)] {
                    let line = DelayLine(delayNanoseconds: delay, limit: limit)
                    Thread.detachNewThread { line.read(from: from, closing: into) }
                    Thread.detachNewThread { line.write(into: into, closing: from) }
                }
            }
        }
    }
}

extension RelayCommand {
    /// A relay lives on after whoever started it: pipes inherited from that process tree (a test
    /// harness waits for every holder of its own) are closed, stdin/out/err aside.
    static func closeInheritedPipes() {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in fds.compactMap(Int32.init) where fd > 2 {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"), target.hasPrefix("pipe:") {
                Glibc.close(fd)
            }
        }
    }
}

/// One direction of a relayed connection: chunks stamped on arrival, written once old enough.
final class DelayLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [(due: UInt64, data: [UInt8])] = []
    private var buffered = 0, ended = false
    let delay: UInt64, limit: Int

    init(delayNanoseconds: UInt64, limit: Int) {
        delay = delayNanoseconds
        self.limit = limit
    }

    func read(from socket: TCPSocket, closing other: TCPSocket) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while let n = socket.read(into: &buffer), n > 0 {
            condition.lock()
            while buffered >= limit { condition.wait() }
            chunks.append((DispatchTime.now().uptimeNanoseconds + delay, Array(buffer[0..<n])))
            buffered += n
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    func write(into socket: TCPSocket, closing other: TCPSocket) {
        while true {
            condition.lock()
            while chunks.isEmpty && !ended { condition.wait() }
            guard let next = chunks.first else {
                condition.unlock()
                break
            }
            condition.unlock()
            let now = DispatchTime.now().uptimeNanoseconds
            if next.due > now { Thread.sleep(forTimeInterval: Double(next.due - now) / 1e9) }
            condition.lock()
            chunks.removeFirst()
            buffered -= next.data.count
            condition.broadcast()
            condition.unlock()
            guard socket.writeAll(next.data) else { break }
        }
        socket.shutdownWrite()
        other.close()
    }
}

/// An IPv4 address and port, parsed from `A.B.C.D:PORT`.
struct IPv4Endpoint {
    var address = sockaddr_in()
    init(_ text: String) throws {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), inet_pton(AF_INET, String(parts[0]), &address.sin_addr) == 1 else {
            throw ValidationError("'\(text)' is not IPv4:PORT")
        }
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
    }
}

/// A blocking TCP socket (POSIX), just what the relay needs.
final class TCPSocket: @unchecked Sendable {
    let fd: Int32
    private init(_ fd: Int32) { self.fd = fd }

    static func listen(_ endpoint: IPv4Endpoint) throws -> TCPSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = endpoint.address
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard fd >= 0, bound == 0, Glibc.listen(fd, 64) == 0 else { throw CommandError("relay: cannot listen: \(String(cString: strerror(errno)))") }
        return TCPSocket(fd)
    }

    static func connect(_ endpoint: IPv4Endpoint) throws -> TCPSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = endpoint.address
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard fd >= 0, rc == 0 else {
            if fd >= 0 { Glibc.close(fd) }
            throw CommandError("relay: cannot connect: \(String(cString: strerror(errno)))")
        }
        return TCPSocket(fd)
    }

    func accept() throws -> TCPSocket {
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw CommandError("relay: accept: \(String(cString: strerror(errno)))") }
        return TCPSocket(c)
    }

    /// Bytes read (0 at the end), or nil on an error.
    func read(into buffer: inout [UInt8]) -> Int? {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n >= 0 ? n : nil
    }

    func writeAll(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }
    func close() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}
