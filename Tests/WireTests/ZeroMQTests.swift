import Foundation
import XCTest

@testable import Wire

final class ZeroMQTests: XCTestCase {
    func testVersionIsFour() {
        let v = zeroMQVersion
        XCTAssertEqual(v.major, 4)
        XCTAssertGreaterThanOrEqual(v.minor, 0)
        XCTAssertGreaterThanOrEqual(v.patch, 0)
    }

    /// Message i: [4-byte little-endian i, i % 300 bytes of a pattern, an empty frame, "end"].
    private func message(_ i: Int) -> [Data] {
        let index = Data((0..<4).map { UInt8((i >> (8 * $0)) & 0xFF) })
        let body = Data((0..<(i % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
        return [index, body, Data(), Data("end".utf8)]
    }

    func testPushPullDeliversMultipartInOrder() throws {
        let context = try ZeroMQContext()
        let pull = try ZeroMQSocket(context, .pull)
        let endpoint = try pull.bind("tcp://127.0.0.1:*")
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        let port = Int(endpoint.split(separator: ":").last ?? "")
        XCTAssertNotNil(port)
        XCTAssertGreaterThan(port ?? 0, 0, "the wildcard port must be resolved")
        try pull.setReceiveTimeout(ms: 5000)

        let push = try ZeroMQSocket(context, .push)
        try push.setSendTimeout(ms: 5000)
        try push.connect(endpoint)

        let count = 1000
        let done = DispatchSemaphore(value: 0)
        let failure = SendFailure()
        let messages = (0..<count).map(message)
        // The sender runs on its own thread (sockets are used by one thread at a time).
        Thread.detachNewThread {
            do { for m in messages { try push.send(m) } } catch { failure.error = error }
            done.signal()
        }
        for i in 0..<count {
            guard let parts = try pull.receive() else {
                XCTFail("message \(i) did not arrive within 5 s")
                break
            }
            XCTAssertEqual(parts, messages[i], "message \(i)")
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNil(failure.error)
        // Nothing extra arrives.
        try pull.setReceiveTimeout(ms: 50)
        XCTAssertNil(try pull.receive())
        push.close()
        pull.close()
    }

    /// Parts of `zeroCopyBytes` or more arrive without a copy: their bytes stay right after the
    /// sockets and the context are gone, and the last copy of each frees libzmq's message (on
    /// whichever thread drops it).
    func testLargePartsOutliveTheirSocketAndContext() throws {
        let sizes = [10, ZeroMQSocket.zeroCopyBytes - 1, ZeroMQSocket.zeroCopyBytes, 70_000, 0, 262_144]
        let sent = sizes.enumerated().map { i, n in Data((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }) }
        var received: [Data] = []
        do {
            let context = try ZeroMQContext()
            let pull = try ZeroMQSocket(context, .pull)
            let push = try ZeroMQSocket(context, .push)
            let endpoint = try pull.bind("tcp://127.0.0.1:*")
            try pull.setReceiveTimeout(ms: 5000)
            try push.setSendTimeout(ms: 5000)
            try push.connect(endpoint)
            for _ in 0..<3 { try push.send(sent) }
            for _ in 0..<3 { received += try XCTUnwrap(try pull.receive()) }
            push.close()
            pull.close()
        }
        XCTAssertEqual(received, sent + sent + sent)
        let slice = received[3][(received[3].startIndex + 5)...]
        XCTAssertEqual(Array(slice.prefix(3)), Array(sent[3][5..<8]))
        let dropped = DispatchSemaphore(value: 0)
        let moved = received
        received = []
        Thread.detachNewThread {
            _ = moved.map(\.count) // the last copies go on this thread
            dropped.signal()
        }
        XCTAssertEqual(dropped.wait(timeout: .now() + 5), .success)
    }

    /// The base station's inbound queue per peer shrinks as K grows, so libzmq holds about 32
    /// frames in all: 16 each for one or two peers, 8 for four, 2 for sixteen, 1 from 32 on.
    func testTheInboundQueueIsSharedAmongThePeers() {
        XCTAssertEqual(
            [0, 1, 2, 3, 4, 16, 31, 32, 33, 64, 4096].map { ZeroMQServerTransport.highWaterMark(forNodes: $0) },
            [16, 16, 16, 10, 8, 2, 1, 1, 1, 1, 1])
    }

    func testReceiveTimeoutReturnsNil() throws {
        let context = try ZeroMQContext()
        let pull = try ZeroMQSocket(context, .pull)
        try pull.bind("tcp://127.0.0.1:*")
        try pull.setReceiveTimeout(ms: 100)
        let start = Date()
        XCTAssertNil(try pull.receive())
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 0.08, "must wait for the timeout")
        XCTAssertLessThan(elapsed, 2.0)
    }

    func testMalformedEndpointsThrow() throws {
        let context = try ZeroMQContext()
        let socket = try ZeroMQSocket(context, .push)
        for endpoint in ["not an endpoint", "tcp://", "bogus://127.0.0.1:5555", "tcp://127.0.0.1:notaport"] {
            XCTAssertThrowsError(try socket.connect(endpoint), endpoint) { error in
                guard let e = error as? ZeroMQError else { return XCTFail("not a ZeroMQError: \(error)") }
                XCTAssertTrue(e.call.hasPrefix("zmq_connect"), e.call)
                XCTAssertNotEqual(e.code, 0)
                XCTAssertFalse(e.message.isEmpty)
            }
        }
        XCTAssertThrowsError(try socket.bind("bogus://x")) {
            XCTAssertTrue(($0 as? ZeroMQError)?.call.hasPrefix("zmq_bind") ?? false)
        }
    }

    func testClosedSocketThrows() throws {
        let context = try ZeroMQContext()
        let socket = try ZeroMQSocket(context, .pull)
        socket.close()
        XCTAssertThrowsError(try socket.receive()) { XCTAssertEqual(($0 as? ZeroMQError)?.message, "socket is closed") }
        XCTAssertThrowsError(try socket.bind("tcp://127.0.0.1:*")) { XCTAssertNotNil($0 as? ZeroMQError) }
        socket.close() // idempotent
    }

    /// DEALER → ROUTER → DEALER: the router sees the peer identity frame and can reply to it.
    func testDealerRouterRoundTrip() throws {
        let context = try ZeroMQContext()
        let router = try ZeroMQSocket(context, .router)
        let endpoint = try router.bind("tcp://127.0.0.1:*")
        try router.setReceiveTimeout(ms: 5000)
        let dealer = try ZeroMQSocket(context, .dealer)
        try dealer.setReceiveTimeout(ms: 5000)
        try dealer.connect(endpoint)
        try dealer.send([Data("hello".utf8), Data([0, 1, 2])])
        let request = try XCTUnwrap(try router.receive())
        XCTAssertEqual(request.count, 3, "identity + 2 parts")
        XCTAssertEqual(Array(request.dropFirst()), [Data("hello".utf8), Data([0, 1, 2])])
        try router.send([request[0], Data("world".utf8)])
        XCTAssertEqual(try dealer.receive(), [Data("world".utf8)])
    }
}

/// Carries an error out of a sender thread (the Wire tests' senders run on their own threads).
final class SendFailure: @unchecked Sendable {
    var error: Error?
}
