/// Why the base station let a frame or a connection go without using it: the one vocabulary of
/// `serve` and `stress`, of summary.json's `frames_dropped_by_reason`, a stress point's `dropped`
/// and the `airfl_frames_dropped_total{reason}` metric. Each case's label is derived here and
/// nowhere else, so the same cause has the same words in every report.
public enum DropReason: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    // The frame itself (`Frame(decoding:)`).
    /// Shorter than the header.
    case truncated
    /// A payload beyond `Frame.maximumPayload`.
    case oversized
    /// Not an AirFL frame.
    case badMagic
    /// Another protocol version.
    case wrongVersion
    /// A frame type this build does not know.
    case unknownType
    /// The content does not give the frame's CRC-32.
    case badCRC
    /// Anything else that does not decode: a bad field, a payload of the wrong length.
    case malformed

    // The connection (ZeroMQ's CURVE handshake and ZAP).
    /// A CURVE key that is no node's.
    case unknownKey
    /// A handshake that failed before a key was known.
    case failedHandshake
    /// A connection shut down short of its handshake: more were waiting than `ConnectionGate`'s cap.
    case tooManyAwaitingHandshake

    // Who sent it.
    /// A peer that is no node of the run.
    case unknownPeer
    /// A hello that does not decode or does not fit the scenario.
    case badHello
    /// A hello from a K+1-th peer when K are registered (stress).
    case helloBeyondTheNodes
    /// A frame over another connection than the one its node registered on.
    case notTheRegisteredConnection
    /// A header naming another device than its sender.
    case wrongNodeField

    // Where it falls in the round.
    /// A frame of another round, or from a node that is not in this one.
    case wrongRound
    /// A frame type the round does not expect now.
    case unexpectedType
    /// More symbols frames than the sender's window allows (stress).
    case beyondTheWindow
    /// Symbols of another shape than the transmit order's.
    case wrongShape

    // What the receiver refused (nothing of it was summed).
    /// OFDM symbols or reference reals outside the round, or of the wrong size.
    case outOfRange
    /// Symbols or reference reals that arrived before.
    case duplicateOrReplayed
    /// A NaN or an infinity in the samples.
    case nonFinite
    /// Beyond what the receiver can sum exactly, or not measured by this receiver.
    case refusedByTheReceiver

    /// The words reports and metric labels use.
    public var label: String {
        switch self {
        case .truncated: "truncated"
        case .oversized: "oversized"
        case .badMagic: "bad magic"
        case .wrongVersion: "wrong version"
        case .unknownType: "unknown type"
        case .badCRC: "bad CRC"
        case .malformed: "malformed"
        case .unknownKey: "unknown key"
        case .failedHandshake: "failed handshake"
        case .tooManyAwaitingHandshake: "too many awaiting the handshake"
        case .unknownPeer: "unknown peer"
        case .badHello: "bad hello"
        case .helloBeyondTheNodes: "hello beyond the K nodes"
        case .notTheRegisteredConnection: "not the node's registered connection"
        case .wrongNodeField: "wrong node field"
        case .wrongRound: "wrong round"
        case .unexpectedType: "unexpected type"
        case .beyondTheWindow: "beyond its window"
        case .wrongShape: "wrong shape"
        case .outOfRange: "out of range"
        case .duplicateOrReplayed: "duplicate or replayed"
        case .nonFinite: "NaN/Inf"
        case .refusedByTheReceiver: "refused by the receiver"
        }
    }

    public var description: String { label }
}
