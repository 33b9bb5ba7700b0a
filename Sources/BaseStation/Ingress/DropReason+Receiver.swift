import Radio
import Wire

extension DropReason {
    /// How a receiver's refusal is reported.
    init(_ kind: ReceptionRefusal.Kind) {
        switch kind {
        case .outOfRange: self = .outOfRange
        case .duplicateOrReplayed: self = .duplicateOrReplayed
        case .nonFinite: self = .nonFinite
        case .refused: self = .refusedByTheReceiver
        }
    }

    /// Why a registered node's frame that its round's handler (or the receiver) threw on is dropped.
    init(handling error: Error) {
        switch error {
        case let refusal as ReceptionRefusal: self.init(refusal.kind)
        case is StaleFrame: self = .wrongRound
        case let frame as FrameError: self = frame.reason
        default: self = .malformed
        }
    }
}
