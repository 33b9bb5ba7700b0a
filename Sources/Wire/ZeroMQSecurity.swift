import CZeroMQ
import Foundation

/// The base station's side of CURVE: its key pair and the nodes it admits.
public struct CurveServerSecurity: Sendable {
    public var keys: CurveKeyPair
    public var allowList: NodeAllowList
    public init(keys: CurveKeyPair, allowList: NodeAllowList) {
        self.keys = keys
        self.allowList = allowList
    }
}

/// A node's side of CURVE: its key pair and the base station's public key.
public struct CurveClientSecurity: Sendable {
    public var keys: CurveKeyPair
    public var serverKey: CurveKey
    public init(keys: CurveKeyPair, serverKey: CurveKey) {
        self.keys = keys
        self.serverKey = serverKey
    }
}

/// A connection the base station refused before any frame of it was read.
public struct SecurityRefusal: Sendable, CustomStringConvertible {
    /// For the dropped-frames tally: `.unknownKey` or `.failedHandshake`.
    public var reason: DropReason
    public var detail: String
    public var description: String { detail }
}

/// The ZAP handler (ZeroMQ RFC 27) of a context: libzmq asks it, over
/// `inproc://zeromq.zap.01`, about every CURVE client; it admits the allow-list's keys with the
/// node's name as ZAP user id (which every message then carries as its `User-Id` property) and
/// refuses every other key. (The ROUTER's handshake failures are `ConnectionWatch`'s.)
final class ZAPHandler: @unchecked Sendable {
    private let zap: ZeroMQSocket
    private let allowList: NodeAllowList
    private let report: @Sendable (SecurityRefusal) -> Void
    private var loop: LoopingThread?

    init(context: ZeroMQContext, allowList: NodeAllowList, report: @escaping @Sendable (SecurityRefusal) -> Void) throws
    {
        zap = try ZeroMQSocket(context, .rep)
        try zap.bind("inproc://zeromq.zap.01")
        self.allowList = allowList
        self.report = report
    }

    /// Starts answering on its own thread.
    func start() {
        loop = LoopingThread(name: "airfl-zap") { [self] in serveOnce() }
    }

    func stop() {
        loop?.stop()
        loop = nil
        zap.close()
    }

    private func serveOnce() {
        let ready = (try? ZeroMQSocket.poll([zap], timeoutMs: 100)) ?? []
        if ready.contains(0), let request = try? zap.receive() { answer(request) }
    }

    /// Request: version, request id, domain, address, identity, mechanism, credentials…
    /// Reply: version, request id, status code, status text, user id, metadata.
    private func answer(_ request: [Data]) {
        guard request.count >= 6 else { return }
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        var status = "400"
        var text = ""
        var user = ""
        if mechanism == "CURVE", request.count >= 7, let name = allowList.name(of: Array(request[6])) {
            (status, text, user) = ("200", "OK", name)
        } else {
            let key = request.count >= 7 && request[6].count == 32 ? CurveKey(bytes: Array(request[6])).z85 : "none"
            text = mechanism == "CURVE" ? "key not on the allow-list" : "CURVE required"
            report(
                SecurityRefusal(
                    reason: .unknownKey, detail: "refused a connection from \(address): \(text) (key \(key))"))
        }
        try? zap.send([Data("1.0".utf8), request[1], Data(status.utf8), Data(text.utf8), Data(user.utf8), Data()])
    }
}
