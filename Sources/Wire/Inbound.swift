import Foundation

/// A received frame as the message its type names: the one decoding of what a peer sends, used
/// by the base station (`serve` and `stress`, through their `NodeIngress`) and by the nodes (the
/// firmware and the flood). Nothing downstream decodes a frame or a payload again, so every
/// receiver refuses the same bytes with the same `DropReason`.
public struct Inbound: Equatable, Sendable {
    /// The frame as received: its header (round, node, and a symbols frame's shape), and a symbols
    /// frame's samples, read in place where they are summed.
    public let frame: Frame
    public let message: Message

    public var round: UInt32 { frame.round }
    public var type: FrameType { frame.type }

    /// The payload of each frame type, decoded (every decode checks lengths and consumes exactly
    /// its payload).
    public enum Message: Equatable, Sendable {
        case hello(Hello)
        case welcome(Welcome)
        case roundStart(RoundStart)
        case updateReady(UpdateReady)
        case transmit(Transmit)
        case grant(Grant)
        /// OFDM symbols: the samples stay in `Inbound.frame` (`Frame.receivedSamples`).
        case symbols
        case reference(UpdateReference)
        case roundEnd(RoundEnd)
        case syntheticRound(SyntheticRound)
        case shutdown(Shutdown)
        case farewell
        case registerAgain(RegisterAgain)
    }

    /// Decodes `data`: the frame (`Frame(decoding:)`: magic, version, type, CRC), then its payload
    /// by type. A frame whose header decoded but whose payload did not is refused with that header
    /// (`Refusal.header`), so a receiver can still say which round's message it could not read.
    public static func decode(_ data: Data) -> Result<Inbound, Refusal> {
        let frame: Frame
        do { frame = try Frame(decoding: data) } catch {
            return .failure(Refusal(error, header: nil))
        }
        do { return .success(Inbound(frame: frame, message: try Message(frame))) } catch {
            return .failure(Refusal(error, header: frame))
        }
    }

    /// Why a received message is no `Inbound`: the drop reason its receiver counts, what failed,
    /// and the frame's header when that much decoded.
    public struct Refusal: Error, CustomStringConvertible {
        public let reason: DropReason
        public let problem: String
        /// The frame whose payload did not decode (nil: the frame itself did not).
        public let header: Frame?

        init(_ error: Error, header: Frame?) {
            reason = (error as? FrameError)?.reason ?? .malformed
            problem = "\(error)"
            self.header = header
        }

        public var description: String {
            guard let header else { return problem }
            return "\(header.type) frame of round \(header.round): \(problem)"
        }
    }
}

extension Inbound.Message {
    /// The payload of `frame`, by its type.
    init(_ frame: Frame) throws {
        switch frame.type {
        case .hello: self = .hello(try Hello(frame: frame))
        case .welcome: self = .welcome(try Welcome(frame: frame))
        case .roundStart: self = .roundStart(try RoundStart(frame: frame))
        case .updateReady: self = .updateReady(try UpdateReady(frame: frame))
        case .transmit: self = .transmit(try Transmit(frame: frame))
        case .grant: self = .grant(try Grant(frame: frame))
        case .symbols: self = .symbols
        case .reference: self = .reference(try UpdateReference(frame: frame))
        case .roundEnd: self = .roundEnd(try RoundEnd(frame: frame))
        case .syntheticRound: self = .syntheticRound(try SyntheticRound(frame: frame))
        case .shutdown: self = .shutdown(try Shutdown(frame: frame))
        case .farewell:
            _ = try Farewell(frame: frame)
            self = .farewell
        case .registerAgain: self = .registerAgain(try RegisterAgain(frame: frame))
        }
    }
}
