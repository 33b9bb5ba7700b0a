import Foundation
import XCTest

@testable import Wire

/// The transports' liveness checks must tell a dead link from a busy base station: one that stops
/// reading for longer than the liveness timeout (a long round end on a slow machine) while a
/// node's frames fill its queue must lose none of them and keep the connection. (With ZMTP
/// heartbeats it lost all but the 16 queued: libzmq stops reading a connection whose queue is
/// full, so it heard no heartbeat reply on it and closed it.)
final class TransportLivenessTests: XCTestCase {
    func testABaseStationThatStopsReadingLongerThanTheLivenessTimeoutLosesNothing() throws {
        let server = try ZeroMQServerTransport(endpoint: "tcp://127.0.0.1:*", receiveTimeoutMs: 2_000)
        let node = try ZeroMQNodeTransport(endpoint: server.address, identity: "n0", sendTimeoutMs: 60_000)
        let count = 400
        let size = 64 * 1024
        let frames = (0..<count).map { i in Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }) }
        let sent = DispatchSemaphore(value: 0)
        let failure = SendFailure()
        Thread.detachNewThread {
            do { for frame in frames { try node.send(frame) } } catch { failure.error = error }
            sent.signal()
        }
        // Far more than the 16 queued messages and the kernel's socket buffers: the queue is full
        // for the whole pause.
        Thread.sleep(forTimeInterval: Double(ZeroMQSocket.livenessTimeoutMs) / 1000 + 5)
        for i in 0..<count {
            guard let (peer, data) = try server.receive() else {
                return XCTFail("frame \(i) of \(count) never arrived")
            }
            XCTAssertEqual(peer, "n0")
            XCTAssertEqual(data, frames[i], "frame \(i)")
            if data != frames[i] { return }
        }
        XCTAssertEqual(sent.wait(timeout: .now() + 30), .success)
        XCTAssertNil(failure.error)
        _ = try node.receive() // counts the handshakes so far
        XCTAssertEqual(node.sessions, 1, "the connection was dropped and dialled again")
    }
}

/// What a peer without a key can hold: a TCP connection that never completes the handshake (idle,
/// as a connection flood's are) is closed by the base station after the handshake timeout.
final class HandshakeTimeoutTests: XCTestCase {
    func testAnIdleConnectionIsClosedAfterTheHandshakeTimeout() throws {
        let server = try ZeroMQServerTransport(endpoint: "tcp://127.0.0.1:*", handshakeTimeoutMs: 300)
        let port = UInt16(server.address.split(separator: ":").last!)!
        let fd = try rawConnect(port: port)
        defer { close(fd) }
        // Read (and discard) the server's greeting until it closes the connection, or 10 s pass.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let began = Date()
        var buffer = [UInt8](repeating: 0, count: 256)
        var closed = false
        while Date().timeIntervalSince(began) < 10 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 || (n < 0 && errno == ECONNRESET) {
                closed = true
                break
            }
            if n < 0 { break }
        }
        XCTAssertTrue(closed, "the idle connection was not closed")
        XCTAssertLessThan(Date().timeIntervalSince(began), 5, "closed after the handshake timeout, not libzmq's 30 s")
        _ = try server.receive()
    }
}

/// An idle TCP connection to 127.0.0.1:`port` (no ZMTP greeting, no key), as a flood opens them.
func rawConnect(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// Connections short of their handshake are held to the gate's cap: a flood of idle connections
/// is shut down beyond it (oldest first), counted and reported, and a node still gets in.
final class ConnectionGateTests: XCTestCase {
    func testTheOldestWaitingConnectionsBeyondTheCapAreShed() {
        var gate = ConnectionGate(cap: 2, handshakeBytes: 94)
        for fd: Int32 in 10...14 { gate.accepted(fd) }
        gate.closed(13)
        let bytes: [Int32: Int] = [10: 0, 11: 600, 12: 64, 14: 0]
        // 10, 12 and 14 wait (11 is past its handshake, 13 closed): 3 > 2, so the oldest goes.
        XCTAssertEqual(gate.overflow { bytes[$0] }, [10])
        XCTAssertEqual(gate.shed, 1)
        XCTAssertEqual(gate.overflow { bytes[$0] }, [], "two wait now: within the cap")
        XCTAssertEqual(gate.overflow { _ in nil }, [], "a descriptor the kernel says nothing of is never shed")
    }

    func testAFloodOfIdleConnectionsIsShedAndANodeStillGetsIn() throws {
        let refusals = Refusals()
        let server = try ZeroMQServerTransport(
            endpoint: "tcp://127.0.0.1:*", receiveTimeoutMs: 100, awaitingHandshakeCap: 8,
            refused: { refusals.add($0) })
        let port = UInt16(server.address.split(separator: ":").last!)!
        let flood = try (0..<40).map { _ in try rawConnect(port: port) }
        defer { for fd in flood { close(fd) } }
        let node = try ZeroMQNodeTransport(endpoint: server.address, identity: "n0", sendTimeoutMs: 5_000)
        try node.send(Data("hello".utf8))
        var heard: (peer: String, data: Data)?
        let began = Date()
        while heard == nil, Date().timeIntervalSince(began) < 10 { heard = try server.receive() }
        XCTAssertEqual(heard?.peer, "n0")
        XCTAssertLessThan(Date().timeIntervalSince(began), 4, "in before the handshake timeout closed the flood")
        // The flood's connections beyond the cap were shut down: their reads end.
        var ended = 0
        for fd in flood {
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 256)
            var n = recv(fd, &buffer, buffer.count, 0)
            while n > 0 { n = recv(fd, &buffer, buffer.count, 0) } // the greeting, then the end
            if n == 0 || errno == ECONNRESET { ended += 1 }
        }
        XCTAssertGreaterThanOrEqual(server.connectionsShed, 32)
        XCTAssertGreaterThanOrEqual(ended, 32)
        XCTAssertTrue(refusals.all.contains { $0.reason == .tooManyAwaitingHandshake }, "\(refusals.all)")
    }
}

private final class Refusals: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [SecurityRefusal] = []
    func add(_ r: SecurityRefusal) {
        lock.lock()
        list.append(r)
        lock.unlock()
    }
    var all: [SecurityRefusal] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
