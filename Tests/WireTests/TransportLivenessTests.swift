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
