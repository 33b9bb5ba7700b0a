import CZeroMQ
import Foundation

/// The listening socket's connections as libzmq's monitor reports them, read on a thread of its
/// own: accepted and closed connections feed the `ConnectionGate` (connections short of their
/// handshake beyond its cap are shut down, and reported), and under CURVE each failed handshake (a
/// client without CURVE, or with another server key) is reported as a refusal.
final class ConnectionWatch: @unchecked Sendable {
    private let monitor: ZeroMQSocket
    private let report: @Sendable (SecurityRefusal) -> Void
    private let reportsHandshakeFailures: Bool
    private let lock = NSLock()
    private var gate: ConnectionGate
    private var loop: LoopingThread?

    /// Watches `socket` (call before it binds); `secure`: CURVE, whose failed handshakes are reported.
    init(
        watching socket: ZeroMQSocket, context: ZeroMQContext, gate: ConnectionGate, secure: Bool,
        report: @escaping @Sendable (SecurityRefusal) -> Void
    ) throws {
        let endpoint = "inproc://airfl-monitor-\(UUID().uuidString)"
        try socket.monitor(
            endpoint,
            events: ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED
                | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        monitor = try ZeroMQSocket(context, .pair)
        try monitor.connect(endpoint)
        self.gate = gate
        reportsHandshakeFailures = secure
        self.report = report
    }

    func start() { loop = LoopingThread(name: "airfl-connections") { [self] in watchOnce() } }

    /// Connections shut down for the gate's cap so far.
    var shed: Int {
        lock.lock()
        defer { lock.unlock() }
        return gate.shed
    }

    func stop() {
        loop?.stop()
        loop = nil
        monitor.close()
    }

    private func watchOnce() {
        let ready = (try? ZeroMQSocket.poll([monitor], timeoutMs: 100)) ?? []
        var acceptedAny = false
        // Every event waiting first, so a closed descriptor is forgotten before the gate looks.
        while ready.contains(0), let message = try? monitor.receive(), let head = message.first, head.count >= 6 {
            let event = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self) }
            let value = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
            let fd = Int32(bitPattern: value)
            lock.lock()
            switch Int32(event) {
            case ZMQ_EVENT_ACCEPTED:
                gate.accepted(fd)
                acceptedAny = true
            case ZMQ_EVENT_DISCONNECTED, ZMQ_EVENT_CLOSED: gate.closed(fd)
            default: break
            }
            lock.unlock()
            if Int32(event) == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                || Int32(event) == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                reportsHandshakeFailures
            {
                handshakeFailed(event: event, value: value)
            }
            if (try? ZeroMQSocket.poll([monitor], timeoutMs: 0))?.isEmpty != false { break }
        }
        guard acceptedAny else { return }
        lock.lock()
        let over = gate.overflow { fd in
            let n = airfl_tcp_bytes_received(fd)
            return n < 0 ? nil : Int(n)
        }
        let cap = gate.cap
        lock.unlock()
        guard !over.isEmpty else { return }
        // libzmq sees the end of the stream and closes the connection itself (the descriptor stays its own).
        for fd in over { shutdown(fd, Int32(SHUT_RDWR)) }
        report(
            SecurityRefusal(
                reason: .tooManyAwaitingHandshake,
                detail: "closed \(over.count) connection\(over.count == 1 ? "" : "s") that had not completed the "
                    + "handshake: more than \(cap) were waiting (a connection flood?)"))
    }

    /// A CURVE handshake that failed (`event`, its `value`), reported.
    private func handshakeFailed(event: UInt16, value: UInt32) {
        // Which event a plaintext client causes depends on timing: a mechanism mismatch, or the
        // connection closing mid-handshake (no detail, the value an errno).
        let why: String
        if Int32(bitPattern: value) == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH {
            why = "it does not speak CURVE (a node without a key, or started with --insecure)"
        } else if Int32(event) == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL {
            why =
                "the handshake broke off (\(String(cString: strerror(Int32(bitPattern: value))))): a client that "
                + "does not speak CURVE, or expects another base station's key"
        } else {
            why = String(
                format:
                    "the CURVE handshake failed (libzmq code 0x%x): a client that does not speak CURVE, or expects "
                    + "another base station's key",
                value)
        }
        report(SecurityRefusal(reason: .failedHandshake, detail: "refused a connection: \(why)"))
    }
}
